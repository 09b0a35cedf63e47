import ChatCore
import ChatProtocol
import Logging
import NIOCore
import Synchronization

public enum PresenceState: Sendable, Equatable {
    case online
    case away
    case offline
}

/// Who is online, and who hears about it: a user's contacts (friends and
/// direct-chat partners). Online means at least one live authenticated
/// connection, whatever the number of devices; away is a flag the user sets
/// and clears (it also clears when the user goes fully offline). Going
/// offline persists the last-seen time.
public final class PresenceHub: Sendable {
    private struct State: Sendable {
        /// contacts[a][b]: how many relations (friendship, direct chat) link a and b.
        var contacts: [UserID: [UserID: Int]] = [:]
        var away: Set<UserID> = []
        var lastSeen: [UserID: Millis] = [:]
        /// The other nodes each user is connected to (several nodes on one database).
        var remote: [UserID: Set<String>] = [:]
        /// Changes of each user's away flag (SetPresence, §7.5): each one is a
        /// push to every connection of every contact.
        var awayChanges = RateLimiter(
            capacity: PresenceHub.awayChangesBurst, windowMs: Millis(PresenceHub.awayChangesBurst) * 1000, maxKeys: 100_000)
    }

    /// SetPresence changes of the away flag a user may make at once; then one a second.
    public static let awayChangesBurst = 10

    private let state = Mutex(State())
    let registry: SessionRegistry
    let store: any Store
    let clock: any WallClock
    let logger: Logger
    /// Tells the other nodes this node's view of its users.
    let link: any ClusterLink

    public init(
        registry: SessionRegistry, store: any Store, clock: any WallClock, logger: Logger, link: any ClusterLink = NoCluster()
    ) {
        self.registry = registry
        self.store = store
        self.clock = clock
        self.logger = logger
        self.link = link
    }

    public func load(_ pairs: [(UserID, UserID)]) {
        state.withLock { s in
            s.contacts.removeAll()
            for (a, b) in pairs {
                s.contacts[a, default: [:]][b, default: 0] += 1
                s.contacts[b, default: [:]][a, default: 0] += 1
            }
        }
    }

    func addContact(_ a: UserID, _ b: UserID) {
        state.withLock { s in
            s.contacts[a, default: [:]][b, default: 0] += 1
            s.contacts[b, default: [:]][a, default: 0] += 1
        }
    }

    func removeContact(_ a: UserID, _ b: UserID) {
        state.withLock { s in
            for (x, y) in [(a, b), (b, a)] {
                let n = (s.contacts[x]?[y] ?? 0) - 1
                s.contacts[x]?[y] = n > 0 ? n : nil
            }
        }
    }

    public func contacts(of user: UserID) -> [UserID] { state.withLock { Array(($0.contacts[user] ?? [:]).keys) } }

    /// Online when connected to this node or another; away when the user said so.
    public func presence(of user: UserID) -> PresenceState {
        let local = registry.isOnline(user)
        return state.withLock { s in
            guard local || !(s.remote[user]?.isEmpty ?? true) else { return .offline }
            return s.away.contains(user) ? .away : .online
        }
    }

    /// Those of `users` connected to no node, with one pass under each lock
    /// (the push notifier asks this for a whole room per message), and,
    /// when `offlineBy` is given, offline since that time or earlier (one
    /// who went offline later was connected then).
    public func offline(among users: some Sequence<UserID>, offlineBy time: Millis? = nil) -> [UserID] {
        let unconnected = registry.withoutConnections(users)
        guard !unconnected.isEmpty else { return [] }
        return state.withLock { s in
            guard !s.remote.isEmpty || time != nil else { return unconnected }
            return unconnected.filter { user in
                (s.remote[user]?.isEmpty ?? true) && (time.map { (s.lastSeen[user] ?? .min) <= $0 } ?? true)
            }
        }
    }

    /// Last-seen times known in memory (users who went offline since start).
    func lastSeen(of user: UserID) -> Millis? { state.withLock { $0.lastSeen[user] } }

    func cameOnline(_ user: UserID) {
        // Connections come and go on different event loops: announce what is
        // true now, not what was true when this call was queued.
        let now = presence(of: user)
        guard now != .offline else { return }
        broadcast(user, now, lastSeen: 0)
        link.send(.presence(user: user, state: now, lastSeen: 0))
    }

    func wentOffline(_ user: UserID) {
        // Another device may have come online meanwhile.
        guard !registry.isOnline(user) else { return }
        let now = clock.nowMs()
        link.send(.presence(user: user, state: .offline, lastSeen: now))
        let elsewhere = state.withLock { s in
            let elsewhere = !(s.remote[user]?.isEmpty ?? true)
            if !elsewhere { s.away.remove(user) }
            s.lastSeen[user] = now
            return elsewhere
        }
        // Still connected to another node: nothing changed for the contacts.
        guard !elsewhere else { return }
        broadcast(user, .offline, lastSeen: now)
        let store = self.store
        let logger = self.logger
        Task {
            do {
                try await store.setLastSeen(user: user, at: now)
            } catch let failure as ChatFailure where failure.kind == .unavailable {
                // Storage refusing writes: already logged once by its monitor.
            } catch {
                logger.warning("could not store last-seen time", metadata: ["chatd.user": "\(user)", "chatd.error": "\(error)"])
            }
        }
    }

    /// SetPresence: sets or clears the user's away flag. A request that
    /// changes nothing costs nothing; changes past the burst are refused
    /// (`rate_limited`), so that no one can make every contact's
    /// connections busy with pushes.
    public func setAway(_ user: UserID, _ away: Bool) throws(ChatFailure) {
        let now = clock.nowMs()
        let changed = try state.withLock { s throws(ChatFailure) -> Bool in
            guard away != s.away.contains(user) else { return false }
            if case .limited(let retry) = s.awayChanges.consume(String(user), now: now) {
                throw ChatFailure.rateLimited(
                    retryAfterMs: retry, "the away flag changed more than \(Self.awayChangesBurst) times in a short while")
            }
            if away { s.away.insert(user) } else { s.away.remove(user) }
            return true
        }
        if changed && registry.isOnline(user) {
            broadcast(user, away ? .away : .online, lastSeen: 0)
            link.send(.presence(user: user, state: away ? .away : .online, lastSeen: 0))
        }
    }

    // MARK: Other nodes

    /// Another node's view of `user` changed: tell this node's watchers when
    /// the user's presence, taken over every node, did.
    public func remoteChanged(_ user: UserID, on node: String, to new: PresenceState, lastSeen: Millis) {
        let before = presence(of: user)
        state.withLock { s in
            if new == .offline {
                s.remote[user]?.remove(node)
                if s.remote[user]?.isEmpty == true { s.remote[user] = nil }
                if lastSeen > 0 { s.lastSeen[user] = max(s.lastSeen[user] ?? 0, lastSeen) }
            } else {
                s.remote[user, default: []].insert(node)
                if new == .away { s.away.insert(user) } else { s.away.remove(user) }
            }
        }
        let after = presence(of: user)
        if after == .offline { state.withLock { _ = $0.away.remove(user) } }
        guard after != before else { return }
        broadcast(user, after, lastSeen: after == .offline ? (lastSeen > 0 ? lastSeen : clock.nowMs()) : 0)
    }

    /// Forgets who is connected to other nodes, without telling anyone
    /// (before asking the nodes again: `ClusterSignal.hello`).
    public func forgetRemote() { state.withLock { $0.remote.removeAll() } }

    /// Tells the other nodes every user connected here (a node asked: it
    /// started, or missed signals).
    func announceConnected() {
        for user in registry.onlineUsers() {
            let now = presence(of: user)
            if now != .offline { link.send(.presence(user: user, state: now, lastSeen: 0)) }
        }
    }

    /// Nodes that stopped answering (killed, cut off): their users are
    /// offline unless connected elsewhere. `alive`: the nodes still
    /// heartbeating, this one excluded.
    public func keepOnly(nodes alive: Set<String>) {
        let now = clock.nowMs()
        let gone: [UserID] = state.withLock { s in
            var gone: [UserID] = []
            for (user, nodes) in s.remote where !nodes.isSubset(of: alive) {
                let left = nodes.intersection(alive)
                s.remote[user] = left.isEmpty ? nil : left
                if left.isEmpty { gone.append(user) }
            }
            return gone
        }
        for user in gone where !registry.isOnline(user) {
            state.withLock { s in
                s.away.remove(user)
                s.lastSeen[user] = now
            }
            broadcast(user, .offline, lastSeen: now)
        }
    }

    /// The nodes other than this one that users are connected to (tests, status).
    public var remoteNodes: Set<String> { state.withLock { $0.remote.values.reduce(into: Set<String>()) { $0.formUnion($1) } } }

    private func broadcast(_ user: UserID, _ presence: PresenceState, lastSeen: Millis) {
        let watchers = contacts(of: user)
        guard !watchers.isEmpty else { return }
        var push = Chatd_V1_PresencePush()
        push.userID = UInt64(user)
        push.presence = ProtoMap.presence(presence)
        push.lastSeenAtMs = lastSeen
        var batches = PushBatches()
        batches.add(Frame.push(.presence, push).encoded(), to: registry.connections(of: watchers))
        batches.send()
    }
}
