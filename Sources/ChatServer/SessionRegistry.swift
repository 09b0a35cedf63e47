import ChatCore
import ChatProtocol
import NIOCore
import Synchronization

/// One live client connection as the rest of the server sees it: an id, its
/// channel, and two thread-safe entry points that hop onto its event loop.
public final class LiveConnection: Sendable {
    public let id: UInt64
    public let address: String
    let channel: any Channel
    private let onEnd: @Sendable (ConnectionStateMachine.GoodbyeReason) -> Void
    private let onPush: @Sendable ([ByteBuffer]) -> Void

    init(
        id: UInt64, address: String, channel: any Channel,
        onEnd: @escaping @Sendable (ConnectionStateMachine.GoodbyeReason) -> Void,
        onPush: @escaping @Sendable ([ByteBuffer]) -> Void
    ) {
        self.id = id
        self.address = address
        self.channel = channel
        self.onEnd = onEnd
        self.onPush = onPush
    }

    /// Says goodbye with `reason` and closes. Safe from any thread.
    public func end(_ reason: ConnectionStateMachine.GoodbyeReason) { onEnd(reason) }

    /// Writes already-encoded push frames and flushes once. Safe from any thread.
    func push(_ frames: [ByteBuffer]) { onPush(frames) }
}

/// Every open connection, and which user and device each is authenticated as.
/// Implements `SessionDirectory` so the services can end sessions.
public final class SessionRegistry: SessionDirectory {
    struct Identity: Sendable {
        var user: UserID
        var device: DeviceRowID
        var since: Millis
    }

    private struct State: Sendable {
        var all: [UInt64: LiveConnection] = [:]
        var identities: [UInt64: Identity] = [:]
        var byUser: [UserID: Set<UInt64>] = [:]
        /// Recent session endings, so that an authentication that was in
        /// flight while its device or user was ended does not slip through.
        var endings: [Ending] = []
        var generation: UInt64 = 0
    }

    struct Ending: Sendable {
        var generation: UInt64
        var devices: Set<DeviceRowID>
        var user: UserID?
        var reason: SessionEndReason
    }

    static let endingsKept = 1024

    private let state = Mutex(State())
    private let nextID = Atomic<UInt64>(1)

    public init() {}

    func makeID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).oldValue }

    func opened(_ connection: LiveConnection) {
        state.withLock { $0.all[connection.id] = connection }
    }

    func closed(_ id: UInt64) {
        state.withLock { s in
            s.all[id] = nil
            Self.unbind(&s, id)
        }
    }

    /// The current ending generation; an authentication records it before it
    /// starts checking the store.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Binds the connection to its user and device. Returns the reason when
    /// that device or user was ended after `since` (while the authentication
    /// was being checked): the caller must then close the connection.
    func authenticated(_ id: UInt64, user: UserID, device: DeviceRowID, now: Millis, since: UInt64) -> SessionEndReason? {
        state.withLock { s in
            Self.unbind(&s, id)
            if let ending = s.endings.last(where: {
                $0.generation > since && ($0.devices.contains(device) || $0.user == user)
            }) {
                return ending.reason
            }
            guard s.all[id] != nil else { return nil }
            s.identities[id] = Identity(user: user, device: device, since: now)
            s.byUser[user, default: []].insert(id)
            return nil
        }
    }

    private static func recordEnding(_ s: inout State, devices: Set<DeviceRowID>, user: UserID?, reason: SessionEndReason) {
        s.generation += 1
        s.endings.append(Ending(generation: s.generation, devices: devices, user: user, reason: reason))
        if s.endings.count > endingsKept { s.endings.removeFirst(s.endings.count - endingsKept) }
    }

    func loggedOut(_ id: UInt64) {
        state.withLock { Self.unbind(&$0, id) }
    }

    private static func unbind(_ s: inout State, _ id: UInt64) {
        guard let identity = s.identities.removeValue(forKey: id) else { return }
        s.byUser[identity.user]?.remove(id)
        if s.byUser[identity.user]?.isEmpty == true { s.byUser[identity.user] = nil }
    }

    /// Live authenticated connections of these users.
    func connections(of users: some Sequence<UserID>) -> [LiveConnection] {
        state.withLock { s in
            var out: [LiveConnection] = []
            for user in users {
                guard let ids = s.byUser[user] else { continue }
                for id in ids { if let c = s.all[id] { out.append(c) } }
            }
            return out
        }
    }

    public var connectionCount: Int { state.withLock { $0.all.count } }
    public var authenticatedCount: Int { state.withLock { $0.identities.count } }

    public func connectionCount(user: UserID) -> Int { state.withLock { $0.byUser[user]?.count ?? 0 } }

    public func connectionCount(device: DeviceRowID) -> Int {
        state.withLock { $0.identities.values.filter { $0.device == device }.count }
    }

    public func onlineCount(of users: some Sequence<UserID>) -> Int {
        state.withLock { s in users.filter { s.byUser[$0] != nil }.count }
    }

    /// Every connection (shutdown).
    public func allConnections() -> [LiveConnection] { state.withLock { Array($0.all.values) } }

    @discardableResult
    public func endSessions(devices: [DeviceRowID], reason: SessionEndReason) -> Int {
        let wanted = Set(devices)
        let targets = state.withLock { s in
            Self.recordEnding(&s, devices: wanted, user: nil, reason: reason)
            return s.identities.filter { wanted.contains($0.value.device) }.compactMap { s.all[$0.key] }
        }
        for c in targets { c.end(ProtoMap.goodbye(reason)) }
        return targets.count
    }

    @discardableResult
    public func endSessions(user: UserID, reason: SessionEndReason) -> Int {
        let targets = state.withLock { s in
            Self.recordEnding(&s, devices: [], user: user, reason: reason)
            return (s.byUser[user] ?? []).compactMap { s.all[$0] }
        }
        for c in targets { c.end(ProtoMap.goodbye(reason)) }
        return targets.count
    }
}

/// Delivers committed events to the online members of their conversation.
///
/// Membership is held in memory so a send never queries the database for
/// recipients. `publish` is called by the store after each commit, in commit
/// order, so membership changes apply in seq order and every connection
/// receives a conversation's pushes in seq order. Each event is encoded once;
/// the same bytes go to every recipient connection.
public final class FanoutHub: Sendable {
    private let members = Mutex<[RoomID: Set<UserID>]>([:])
    private let registry: SessionRegistry

    public init(registry: SessionRegistry) {
        self.registry = registry
    }

    public func load(_ memberships: [(RoomID, UserID)]) {
        members.withLock { m in
            m.removeAll()
            for (room, user) in memberships { m[room, default: []].insert(user) }
        }
    }

    public func members(of room: RoomID) -> Set<UserID> { members.withLock { $0[room] ?? [] } }

    public func publish(_ events: [Event]) {
        // Per connection, all frames of this batch, in order.
        var batches: [UInt64: (LiveConnection, [ByteBuffer])] = [:]
        for event in events {
            let recipients: Set<UserID> = members.withLock { m in
                switch event.kind {
                case .roomCreated:
                    m[event.conversationID, default: []].insert(event.senderID)
                case .memberJoined, .memberAdded:
                    if let subject = event.subjectUserID { m[event.conversationID, default: []].insert(subject) }
                case .memberLeft:
                    // The leaver is told too, then dropped from the index.
                    var recipients = m[event.conversationID] ?? []
                    if let subject = event.subjectUserID {
                        m[event.conversationID]?.remove(subject)
                        recipients.insert(subject)
                    }
                    return recipients
                case .message, .roleChanged:
                    break
                }
                return m[event.conversationID] ?? []
            }
            var push = Chatd_V1_EventPush()
            push.event = ProtoMap.event(event)
            let frame = Frame.push(.event, push).encoded()
            for connection in registry.connections(of: recipients) {
                batches[connection.id, default: (connection, [])].1.append(frame)
            }
        }
        for (connection, frames) in batches.values { connection.push(frames) }
    }
}
