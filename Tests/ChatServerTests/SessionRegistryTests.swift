import ChatCore
@testable import ChatServer
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

struct SessionRegistryTests {
    /// An authentication checked before a revocation, but applied after it,
    /// is refused.
    @Test func endingDuringAuthenticationIsCaught() {
        let registry = SessionRegistry()
        let before = registry.generation
        registry.endSessions(devices: [5], reason: .deviceRevoked)
        #expect(registry.authenticated(1, user: 9, device: 5, deviceID: "phone", now: 0, since: before) == .ended(.deviceRevoked, wentOffline: nil))
        #expect(registry.authenticated(1, user: 9, device: 6, deviceID: "laptop", now: 0, since: before) == .bound(cameOnline: false, wentOffline: nil))
        let after = registry.generation
        #expect(registry.authenticated(1, user: 9, device: 5, deviceID: "phone", now: 0, since: after) == .bound(cameOnline: false, wentOffline: nil))
        registry.endSessions(user: 9, reason: .accountDisabled)
        #expect(registry.authenticated(1, user: 9, device: 6, deviceID: "laptop", now: 0, since: after) == .ended(.accountDisabled, wentOffline: nil))
        #expect(registry.authenticated(1, user: 8, device: 7, deviceID: "phone", now: 0, since: after) == .bound(cameOnline: false, wentOffline: nil))
    }

    /// A Login that binds a device anew ends the device's other connections
    /// and any authentication in flight for it, but not its own connection,
    /// which authenticates after the ending (it used to end none of them).
    @Test func aLoginEndsItsDevicesOtherSessionsButItsOwn() {
        let registry = SessionRegistry()
        let before = registry.generation
        registry.endSessions(devices: [5], reason: .tokenEnded, except: 1)
        #expect(registry.authenticated(1, user: 9, device: 5, deviceID: "phone", now: 0, since: before) == .bound(cameOnline: false, wentOffline: nil))
        #expect(registry.authenticated(2, user: 9, device: 5, deviceID: "phone", now: 0, since: before) == .ended(.tokenEnded, wentOffline: nil))
    }

    /// Another node's revocation names the device by its id and time: the
    /// connections of that device authenticated by then end, a login since
    /// (which re-enabled the device) and the user's other devices stay, and
    /// an authentication in flight for that device is refused.
    @Test func devicesEndedByIDSpareLaterLogins() {
        let registry = SessionRegistry()
        let ended = Mutex<[UInt64: ConnectionStateMachine.GoodbyeReason]>([:])
        func open(_ id: UInt64, user: UserID, device: DeviceRowID, deviceID: String, at: Millis) {
            let live = LiveConnection(
                id: id, address: "127.0.0.1", channel: EmbeddedChannel(),
                endpoint: RecordingEndpoint { reason in ended.withLock { $0[id] = reason } })
            registry.opened(live, now: at)
            _ = registry.authenticated(id, user: user, device: device, deviceID: deviceID, now: at, since: registry.generation)
        }
        open(1, user: 9, device: 5, deviceID: "laptop", at: 100)
        open(2, user: 9, device: 5, deviceID: "laptop", at: 300)
        open(3, user: 9, device: 6, deviceID: "phone", at: 100)
        open(4, user: 8, device: 7, deviceID: "laptop", at: 100)
        #expect(registry.authenticatedCount == 4)
        let before = registry.generation
        #expect(registry.endSessions(user: 9, devices: ["laptop": 200], reason: .deviceRevoked) == 1)
        #expect(ended.withLock { $0 } == [1: .deviceRevoked])
        #expect(registry.connectionCount(device: 5) == 2, "ending says goodbye; the connection leaves when it closes")
        #expect(
            registry.authenticated(5, user: 9, device: 5, deviceID: "laptop", now: 400, since: before)
                == .ended(.deviceRevoked, wentOffline: nil))
        #expect(
            registry.authenticated(5, user: 9, device: 6, deviceID: "phone", now: 400, since: before)
                == .bound(cameOnline: false, wentOffline: nil))
    }
}

/// The check a node makes against the database when it listens again
/// ends the sessions it found ended, each with its reason, but not one
/// that authenticated after the check began.
struct SessionRegistryCheckTests {
    @Test func sessionsFoundEndedEndWithTheirReason() {
        let registry = SessionRegistry()
        let ended = Mutex<[UInt64: ConnectionStateMachine.GoodbyeReason]>([:])
        for (id, device, at) in [(UInt64(1), DeviceRowID(5), Millis(100)), (2, 6, 100), (3, 5, 300), (4, 7, 100)] {
            registry.opened(
                LiveConnection(
                    id: id, address: "127.0.0.1", channel: EmbeddedChannel(),
                    endpoint: RecordingEndpoint { reason in ended.withLock { $0[id] = reason } }),
                now: at)
            _ = registry.authenticated(id, user: device, device: device, deviceID: "d", now: at, since: registry.generation)
        }
        #expect(registry.endSessions([5: .deviceRevoked, 6: .accountDisabled], authenticatedBy: 200) == 2)
        #expect(ended.withLock { $0 } == [1: .deviceRevoked, 2: .accountDisabled])
    }
}

struct SessionSelectorTests {
    @Test func selectorsPickConnections() {
        let alicePhone = SessionRegistry.Identity(user: 1, device: 10, deviceID: "phone", since: 0)
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

/// A connection's endpoint that records how the server ended it.
final class RecordingEndpoint: ConnectionEndpoint {
    let eventLoop: any EventLoop = EmbeddedEventLoop()
    private let ended: @Sendable (ConnectionStateMachine.GoodbyeReason) -> Void

    init(_ ended: @escaping @Sendable (ConnectionStateMachine.GoodbyeReason) -> Void) { self.ended = ended }

    func end(_ reason: ConnectionStateMachine.GoodbyeReason) { ended(reason) }

    func pushInLoop(_ pushes: PushFrames) {}
}
