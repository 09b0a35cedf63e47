import ChatCore
@testable import ChatServer
import Testing

struct SessionRegistryTests {
    /// An authentication checked before a revocation, but applied after it,
    /// is refused.
    @Test func endingDuringAuthenticationIsCaught() {
        let registry = SessionRegistry()
        let before = registry.generation
        registry.endSessions(devices: [5], reason: .deviceRevoked)
        #expect(registry.authenticated(1, user: 9, device: 5, now: 0, since: before) == .ended(.deviceRevoked, wentOffline: nil))
        #expect(registry.authenticated(1, user: 9, device: 6, now: 0, since: before) == .bound(cameOnline: false, wentOffline: nil))
        let after = registry.generation
        #expect(registry.authenticated(1, user: 9, device: 5, now: 0, since: after) == .bound(cameOnline: false, wentOffline: nil))
        registry.endSessions(user: 9, reason: .accountDisabled)
        #expect(registry.authenticated(1, user: 9, device: 6, now: 0, since: after) == .ended(.accountDisabled, wentOffline: nil))
        #expect(registry.authenticated(1, user: 8, device: 7, now: 0, since: after) == .bound(cameOnline: false, wentOffline: nil))
    }
}

struct SessionSelectorTests {
    @Test func selectorsPickConnections() {
        let alicePhone = SessionRegistry.Identity(user: 1, device: 10, since: 0)
        #expect(SessionSelector.connection(7).matches(connection: 7, identity: nil))
        #expect(!SessionSelector.connection(7).matches(connection: 8, identity: alicePhone))
        #expect(SessionSelector.user(1).matches(connection: 3, identity: alicePhone))
        #expect(!SessionSelector.user(2).matches(connection: 3, identity: alicePhone))
        #expect(!SessionSelector.user(1).matches(connection: 3, identity: nil))
        #expect(SessionSelector.device(10).matches(connection: 3, identity: alicePhone))
        #expect(!SessionSelector.device(11).matches(connection: 3, identity: alicePhone))
    }

    @Test func anUnboundRegistryListsNothing() {
        let registry = SessionRegistry()
        #expect(registry.sessions().isEmpty)
        #expect(registry.kick(.user(1), reason: .kicked) == 0)
    }
}
