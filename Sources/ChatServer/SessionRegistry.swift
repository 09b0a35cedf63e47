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
    let eventLoop: any EventLoop
    private let onEnd: @Sendable (ConnectionStateMachine.GoodbyeReason) -> Void
    private let onPushInLoop: @Sendable ([ByteBuffer]) -> Void

    init(
        id: UInt64, address: String, channel: any Channel,
        onEnd: @escaping @Sendable (ConnectionStateMachine.GoodbyeReason) -> Void,
        onPushInLoop: @escaping @Sendable ([ByteBuffer]) -> Void
    ) {
        self.id = id
        self.address = address
        self.channel = channel
        eventLoop = channel.eventLoop
        self.onEnd = onEnd
        self.onPushInLoop = onPushInLoop
    }

    /// Says goodbye with `reason` and closes. Safe from any thread.
    public func end(_ reason: ConnectionStateMachine.GoodbyeReason) { onEnd(reason) }

    /// Writes already-encoded push frames and flushes once. Must run on the
    /// connection's event loop.
    func pushInLoop(_ frames: [ByteBuffer]) { onPushInLoop(frames) }
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
        var openedAt: [UInt64: Millis] = [:]
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

    func opened(_ connection: LiveConnection, now: Millis) {
        state.withLock {
            $0.all[connection.id] = connection
            $0.openedAt[connection.id] = now
        }
    }

    /// Forgets the connection; returns its user when that was the user's last connection.
    func closed(_ id: UInt64) -> UserID? {
        state.withLock { s in
            s.all[id] = nil
            s.openedAt[id] = nil
            return Self.unbind(&s, id)
        }
    }

    /// The current ending generation; an authentication records it before it
    /// starts checking the store.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Binds the connection to its user and device. Returns the reason when
    /// that device or user was ended after `since` (while the authentication
    /// was being checked): the caller must then close the connection.
    func authenticated(_ id: UInt64, user: UserID, device: DeviceRowID, now: Millis, since: UInt64) -> Binding {
        state.withLock { s in
            let previous = Self.unbind(&s, id)
            if let ending = s.endings.last(where: {
                $0.generation > since && ($0.devices.contains(device) || $0.user == user)
            }) {
                return .ended(ending.reason, wentOffline: previous)
            }
            guard s.all[id] != nil else { return .bound(cameOnline: false, wentOffline: previous) }
            s.identities[id] = Identity(user: user, device: device, since: now)
            let first = s.byUser[user]?.isEmpty ?? true
            s.byUser[user, default: []].insert(id)
            return .bound(cameOnline: first, wentOffline: previous)
        }
    }

    enum Binding: Equatable {
        /// The device or user was ended while the authentication was checked.
        case ended(SessionEndReason, wentOffline: UserID?)
        /// Bound; `cameOnline` when this is the user's first connection.
        /// `wentOffline`: a user this connection was bound to before, now without connections.
        case bound(cameOnline: Bool, wentOffline: UserID?)
    }

    private static func recordEnding(_ s: inout State, devices: Set<DeviceRowID>, user: UserID?, reason: SessionEndReason) {
        s.generation += 1
        s.endings.append(Ending(generation: s.generation, devices: devices, user: user, reason: reason))
        if s.endings.count > endingsKept { s.endings.removeFirst(s.endings.count - endingsKept) }
    }

    /// Unbinds the connection; returns its user when that was the user's last connection.
    func loggedOut(_ id: UInt64) -> UserID? {
        state.withLock { Self.unbind(&$0, id) }
    }

    @discardableResult
    private static func unbind(_ s: inout State, _ id: UInt64) -> UserID? {
        guard let identity = s.identities.removeValue(forKey: id) else { return nil }
        s.byUser[identity.user]?.remove(id)
        if s.byUser[identity.user]?.isEmpty == true {
            s.byUser[identity.user] = nil
            return identity.user
        }
        return nil
    }

    public func isOnline(_ user: UserID) -> Bool { state.withLock { $0.byUser[user] != nil } }

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

    /// Every open connection with its identity, ordered by connection id
    /// (chatctl sessions list).
    public func sessions() -> [LiveSession] {
        state.withLock { s in
            s.all.values.map { c in
                let identity = s.identities[c.id]
                return LiveSession(
                    connectionID: c.id, address: c.address, connectedAt: s.openedAt[c.id] ?? 0, user: identity?.user,
                    device: identity?.device, authenticatedAt: identity?.since)
            }.sorted { $0.connectionID < $1.connectionID }
        }
    }

    /// Ends the connections `selector` picks with Goodbye `reason`; returns how many.
    @discardableResult
    public func kick(_ selector: SessionSelector, reason: ConnectionStateMachine.GoodbyeReason) -> Int {
        let targets = state.withLock { s in
            s.all.values.filter { selector.matches(connection: $0.id, identity: s.identities[$0.id]) }
        }
        for c in targets { c.end(reason) }
        return targets.count
    }

    /// Every connection (shutdown).
    public func allConnections() -> [LiveConnection] { state.withLock { Array($0.all.values) } }

    @discardableResult
    public func endSessions(devices: [DeviceRowID], reason: SessionEndReason, except: UInt64?) -> Int {
        let wanted = Set(devices)
        let targets = state.withLock { s in
            Self.recordEnding(&s, devices: wanted, user: nil, reason: reason)
            return s.identities.filter { wanted.contains($0.value.device) && $0.key != except }.compactMap { s.all[$0.key] }
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

/// One open connection as chatctl sees it.
public struct LiveSession: Sendable, Equatable {
    public var connectionID: UInt64
    public var address: String
    public var connectedAt: Millis
    /// nil until the connection authenticates.
    public var user: UserID?
    public var device: DeviceRowID?
    public var authenticatedAt: Millis?
}

/// Which connections an operator's kick ends.
public enum SessionSelector: Sendable, Equatable {
    case connection(UInt64)
    case user(UserID)
    case device(DeviceRowID)

    func matches(connection id: UInt64, identity: SessionRegistry.Identity?) -> Bool {
        switch self {
        case .connection(let wanted): id == wanted
        case .user(let user): identity?.user == user
        case .device(let device): identity?.device == device
        }
    }
}

/// Delivers committed changes to live connections.
///
/// Membership is held in memory so a send never queries the database for
/// recipients. `publish` is called by the store after each commit, in commit
/// order, so membership changes apply in seq order and every connection
/// receives a conversation's pushes in seq order. Each push is encoded once;
/// the same bytes go to every recipient connection.
public final class FanoutHub: Sendable {
    private let members = Mutex<[RoomID: Set<UserID>]>([:])
    let registry: SessionRegistry
    let presence: PresenceHub

    public init(registry: SessionRegistry, presence: PresenceHub) {
        self.registry = registry
        self.presence = presence
    }

    public func load(_ memberships: [(RoomID, UserID)]) {
        members.withLock { m in
            m.removeAll()
            for (room, user) in memberships { m[room, default: []].insert(user) }
        }
    }

    public func members(of room: RoomID) -> Set<UserID> { members.withLock { $0[room] ?? [] } }

    public func isMember(_ user: UserID, of room: RoomID) -> Bool { members.withLock { $0[room]?.contains(user) ?? false } }

    public func publish(_ changes: CommittedChanges) {
        var batches = PushBatches()
        // 1. New members first, so they receive the events that add them.
        let additions = changes.accountEvents.filter { $0.kind == .addedToConversation }
        if !additions.isEmpty {
            members.withLock { m in
                for e in additions { if let c = e.conversationID { m[c, default: []].insert(e.userID) } }
            }
        }
        // 2. Conversation events to every member (removed members still hear their removal).
        for event in changes.events {
            var push = Chatd_V1_EventPush()
            push.event = ProtoMap.event(event)
            batches.add(Frame.push(.event, push).encoded(), to: registry.connections(of: members(of: event.conversationID)))
        }
        // 3. Removals.
        let removals = changes.accountEvents.filter { $0.kind == .removedFromConversation }
        if !removals.isEmpty || !changes.deletedConversations.isEmpty {
            members.withLock { m in
                for e in removals { if let c = e.conversationID { m[c]?.remove(e.userID) } }
                for (c, _) in changes.deletedConversations { m[c] = nil }
            }
        }
        // 4. Account events to their user's connections.
        for event in changes.accountEvents {
            var push = Chatd_V1_AccountEventPush()
            push.event = ProtoMap.accountEvent(event)
            batches.add(Frame.push(.accountEvent, push).encoded(), to: registry.connections(of: [event.userID]))
        }
        batches.send()
        for (a, b) in changes.contactsAdded { presence.addContact(a, b) }
        for (a, b) in changes.contactsRemoved { presence.removeContact(a, b) }
    }

    /// A member's read position moved: tell the members (and the reader's other connections).
    public func pushRead(conversation: RoomID, user: UserID, seq: Seq) {
        var push = Chatd_V1_ReadPush()
        push.conversationID = UInt64(conversation)
        push.userID = UInt64(user)
        push.readSeq = UInt64(seq)
        var batches = PushBatches()
        batches.add(Frame.push(.read, push).encoded(), to: registry.connections(of: members(of: conversation)))
        batches.send()
    }

    /// Typing indicator to the other online members (never stored).
    public func pushTyping(conversation: RoomID, user: UserID, typing: Bool, expiresInMs: UInt32) {
        var push = Chatd_V1_TypingPush()
        push.conversationID = UInt64(conversation)
        push.userID = UInt64(user)
        push.typing = typing
        push.expiresInMs = typing ? expiresInMs : 0
        var others = members(of: conversation)
        others.remove(user)
        var batches = PushBatches()
        batches.add(Frame.push(.typing, push).encoded(), to: registry.connections(of: others))
        batches.send()
    }
}

/// Frames per connection, written with one flush each, and one hop per
/// event loop for all of that loop's connections.
struct PushBatches {
    private var batches: [UInt64: (LiveConnection, [ByteBuffer])] = [:]

    mutating func add(_ frame: ByteBuffer, to connections: [LiveConnection]) {
        for connection in connections {
            batches[connection.id, default: (connection, [])].1.append(frame)
        }
    }

    func send() {
        var byLoop: [ObjectIdentifier: (any EventLoop, [(LiveConnection, [ByteBuffer])])] = [:]
        for entry in batches.values {
            let loop = entry.0.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append(entry)
        }
        for (loop, entries) in byLoop.values {
            loop.execute {
                for (connection, frames) in entries { connection.pushInLoop(frames) }
            }
        }
    }
}
