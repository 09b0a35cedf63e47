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
