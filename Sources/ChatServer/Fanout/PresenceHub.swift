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
    }

    private let state = Mutex(State())
    let registry: SessionRegistry
    let store: any Store
    let clock: any WallClock
    let logger: Logger

    public init(registry: SessionRegistry, store: any Store, clock: any WallClock, logger: Logger) {
        self.registry = registry
        self.store = store
        self.clock = clock
        self.logger = logger
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

    public func presence(of user: UserID) -> PresenceState {
        guard registry.isOnline(user) else { return .offline }
        return state.withLock { $0.away.contains(user) } ? .away : .online
    }

    /// Last-seen times known in memory (users who went offline since start).
    func lastSeen(of user: UserID) -> Millis? { state.withLock { $0.lastSeen[user] } }

    func cameOnline(_ user: UserID) {
        // Connections come and go on different event loops: announce what is
        // true now, not what was true when this call was queued.
        let now = presence(of: user)
        guard now != .offline else { return }
        broadcast(user, now, lastSeen: 0)
    }

    func wentOffline(_ user: UserID) {
        // Another device may have come online meanwhile.
        guard !registry.isOnline(user) else { return }
        let now = clock.nowMs()
        state.withLock { s in
            s.away.remove(user)
            s.lastSeen[user] = now
        }
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

    public func setAway(_ user: UserID, _ away: Bool) {
        let changed = state.withLock { s in away ? s.away.insert(user).inserted : s.away.remove(user) != nil }
        if changed && registry.isOnline(user) { broadcast(user, away ? .away : .online, lastSeen: 0) }
    }

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
