import ChatCore
import ChatProtocol
import NIOCore
import Synchronization

/// What the rest of the server asks of one connection: its channel handler,
/// or a test's stand-in. One object per connection (two closures and their
/// captures cost each idle connection about 0.2 KiB).
public protocol ConnectionEndpoint: AnyObject, Sendable {
    /// The connection's event loop.
    var eventLoop: any EventLoop { get }
    /// Says goodbye with `reason` and closes. Safe from any thread.
    func end(_ reason: ConnectionStateMachine.GoodbyeReason)
    /// Writes already-encoded push frames and flushes once. On `eventLoop`.
    func pushInLoop(_ pushes: PushFrames)
}

/// One live client connection as the rest of the server sees it: an id, its
/// channel, and its endpoint's entry points.
public final class LiveConnection: Sendable {
    public let id: UInt64
    public let address: String
    let channel: any Channel
    private let endpoint: any ConnectionEndpoint

    init(id: UInt64, address: String, channel: any Channel, endpoint: any ConnectionEndpoint) {
        self.id = id
        self.address = address
        self.channel = channel
        self.endpoint = endpoint
    }

    var eventLoop: any EventLoop { endpoint.eventLoop }

    /// Says goodbye with `reason` and closes. Safe from any thread.
    public func end(_ reason: ConnectionStateMachine.GoodbyeReason) { endpoint.end(reason) }

    /// Writes already-encoded push frames and flushes once. Must run on the
    /// connection's event loop.
    func pushInLoop(_ pushes: PushFrames) { endpoint.pushInLoop(pushes) }
}

/// Every open connection, and which user and device each is authenticated as.
/// Implements `SessionDirectory` so the services can end sessions.
public final class SessionRegistry: SessionDirectory {
    struct Identity: Sendable {
        var user: UserID
        var device: DeviceRowID
        /// The device's id as its client named it (unique per user).
        var deviceID: String
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
        /// With `user`: only these of the user's devices (by their ids), not all.
        var deviceIDs: Set<String>? = nil
        var reason: SessionEndReason
        /// The connection that ended the others (a Login that bound the
        /// device anew): not ended itself, even when it authenticates after.
        var except: UInt64? = nil

        func ends(_ connection: UInt64, user: UserID, device: DeviceRowID, deviceID: String) -> Bool {
            if connection == except { return false }
            if devices.contains(device) { return true }
            guard self.user == user else { return false }
            return deviceIDs?.contains(deviceID) ?? true
        }
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
    func authenticated(
        _ id: UInt64, user: UserID, device: DeviceRowID, deviceID: String, now: Millis, since: UInt64
    ) -> Binding {
        state.withLock { s in
            let previous = Self.unbind(&s, id)
            if let ending = s.endings.last(where: {
                $0.generation > since && $0.ends(id, user: user, device: device, deviceID: deviceID)
            }) {
                return .ended(ending.reason, wentOffline: previous)
            }
            guard s.all[id] != nil else { return .bound(cameOnline: false, wentOffline: previous) }
            s.identities[id] = Identity(user: user, device: device, deviceID: deviceID, since: now)
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

    private static func recordEnding(
        _ s: inout State, devices: Set<DeviceRowID>, user: UserID?, deviceIDs: Set<String>? = nil,
        reason: SessionEndReason, except: UInt64? = nil
    ) {
        s.generation += 1
        s.endings.append(
            Ending(generation: s.generation, devices: devices, user: user, deviceIDs: deviceIDs, reason: reason, except: except))
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

    /// Users with at least one authenticated connection here.
    public func onlineUsers() -> [UserID] { state.withLock { Array($0.byUser.keys) } }

    public func isOnline(_ user: UserID) -> Bool { state.withLock { $0.byUser[user] != nil } }

    /// Those of `users` without a live connection here.
    func withoutConnections(_ users: some Sequence<UserID>) -> [UserID] {
        state.withLock { s in users.filter { s.byUser[$0] == nil } }
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
            Self.recordEnding(&s, devices: wanted, user: nil, reason: reason, except: except)
            return s.identities.filter { wanted.contains($0.value.device) && $0.key != except }.compactMap { s.all[$0.key] }
        }
        for c in targets { c.end(ProtoMap.goodbye(reason)) }
        return targets.count
    }

    /// Ends the connections of these of `user`'s devices, named by their
    /// ids, that authenticated by the time given for each (the device was
    /// revoked then: a login since re-enabled it). Another node's committed
    /// revocation names the device by id, not by this node's row.
    @discardableResult
    public func endSessions(user: UserID, devices: [String: Millis], reason: SessionEndReason) -> Int {
        let targets = state.withLock { s in
            Self.recordEnding(&s, devices: [], user: user, deviceIDs: Set(devices.keys), reason: reason)
            return (s.byUser[user] ?? []).filter { id in
                guard let identity = s.identities[id], let at = devices[identity.deviceID] else { return false }
                return identity.since <= at
            }.compactMap { s.all[$0] }
        }
        for c in targets { c.end(ProtoMap.goodbye(reason)) }
        return targets.count
    }

    /// Ends the connections of these devices that authenticated by
    /// `cutoff`, each with its device's reason: what a check against the
    /// database that began at `cutoff` found ended (a connection bound
    /// since then was checked after it).
    @discardableResult
    public func endSessions(_ devices: [DeviceRowID: SessionEndReason], authenticatedBy cutoff: Millis) -> Int {
        let targets = state.withLock { s in
            s.identities.compactMap { id, identity -> (LiveConnection, SessionEndReason)? in
                guard identity.since <= cutoff, let reason = devices[identity.device], let c = s.all[id] else { return nil }
                return (c, reason)
            }
        }
        for (c, reason) in targets { c.end(ProtoMap.goodbye(reason)) }
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

    public init(
        connectionID: UInt64, address: String, connectedAt: Millis, user: UserID? = nil, device: DeviceRowID? = nil,
        authenticatedAt: Millis? = nil
    ) {
        self.connectionID = connectionID
        self.address = address
        self.connectedAt = connectedAt
        self.user = user
        self.device = device
        self.authenticatedAt = authenticatedAt
    }
}

/// A logged-in connection on another node (several nodes on one database).
public struct NodeSession: Sendable, Equatable {
    public var node: String
    public var session: LiveSession

    public init(node: String, session: LiveSession) {
        self.node = node
        self.session = session
    }
}

/// Which connections an operator's kick ends.
public enum SessionSelector: Sendable, Equatable, CustomStringConvertible {
    case connection(UInt64)
    case user(UserID)
    case device(DeviceRowID)

    /// As the audit log shows it: `connection=7`, `user=3`, `device=12`.
    public var description: String {
        switch self {
        case .connection(let id): "connection=\(id)"
        case .user(let id): "user=\(id)"
        case .device(let id): "device=\(id)"
        }
    }

    func matches(connection id: UInt64, identity: SessionRegistry.Identity?) -> Bool {
        switch self {
        case .connection(let wanted): id == wanted
        case .user(let user): identity?.user == user
        case .device(let device): identity?.device == device
        }
    }
}
