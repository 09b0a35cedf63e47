import ChatCore
import ChatProtocol
import Synchronization

/// What the control router needs from the daemon itself (files, process
/// state), as functions, so that ChatServer does not depend on ChatDaemon.
public struct OperatorHooks: Sendable {
    /// Writes an online backup into a new or empty directory.
    public var backup: @Sendable (_ path: String) async throws -> BackupSummary
    /// Figures only the daemon knows (queues, file store).
    public var stats: @Sendable () async throws -> DaemonStats
    /// The effective configuration, secrets redacted, and the file it came from ("" for the embedded default).
    public var config: @Sendable () -> (entries: [Chatd_Control_V1_ConfigEntry], source: String)
    /// Sets the log level (nil: only reads it); returns (in force, previous).
    public var logLevel: @Sendable (_ level: String?) throws -> (current: String, previous: String)
    /// With several nodes: this node's name and the nodes heard from lately (empty on one node).
    public var cluster: @Sendable () -> (node: String, nodes: [Chatd_Control_V1_ClusterNode])
    /// With several nodes: the other live nodes' logged-in connections
    /// (of `user` when given), ascending by (node, connection id) after
    /// `after`, at most `limit`; empty on one node.
    public var otherNodesSessions:
        @Sendable (_ user: UserID?, _ after: (node: String, connectionID: UInt64), _ limit: Int) async throws -> [NodeSession]
    /// With several nodes: the live nodes and the users logged in on the
    /// others, read now (chatctl stats); empty on one node.
    public var clusterLoad: @Sendable () async throws -> (nodes: [Chatd_Control_V1_ClusterNode], otherNodesUsers: Set<UserID>)
    /// Push targets (chatctl push); nil: this chatd sends no push notifications.
    public var push: PushTargetService?
    /// Notifications waiting or under way on this node, and those dropped so far.
    public var pushQueue: @Sendable () -> (queued: Int, dropped: Int)

    public init(
        backup: @escaping @Sendable (String) async throws -> BackupSummary = { _ in throw Self.unsupported },
        stats: @escaping @Sendable () async throws -> DaemonStats = { DaemonStats() },
        config: @escaping @Sendable () -> (entries: [Chatd_Control_V1_ConfigEntry], source: String) = { ([], "") },
        logLevel: @escaping @Sendable (String?) throws -> (current: String, previous: String) = { _ in throw Self.unsupported },
        cluster: @escaping @Sendable () -> (node: String, nodes: [Chatd_Control_V1_ClusterNode]) = { ("", []) },
        otherNodesSessions:
            @escaping @Sendable (UserID?, (node: String, connectionID: UInt64), Int) async throws -> [NodeSession] = { _, _, _ in [] },
        clusterLoad: @escaping @Sendable () async throws -> (nodes: [Chatd_Control_V1_ClusterNode], otherNodesUsers: Set<UserID>) =
            { ([], []) },
        push: PushTargetService? = nil, pushQueue: @escaping @Sendable () -> (queued: Int, dropped: Int) = { (0, 0) }
    ) {
        self.push = push
        self.pushQueue = pushQueue
        self.cluster = cluster
        self.otherNodesSessions = otherNodesSessions
        self.clusterLoad = clusterLoad
        self.backup = backup
        self.stats = stats
        self.config = config
        self.logLevel = logLevel
    }

    public static let unsupported = ChatFailure(.unavailable, "not available in this chatd")
}

/// What `chatctl backup` wrote.
public struct BackupSummary: Sendable, Equatable {
    public var path: String
    public var databaseBytes: Int64
    public var files: Int
    public var fileBytes: Int64
    public var tookMs: Int64
    /// Rows of the copied database (as its manifest records them).
    public var users: Int64
    public var conversations: Int64
    public var events: Int64
    public var messages: Int64

    public init(
        path: String, databaseBytes: Int64, files: Int, fileBytes: Int64, tookMs: Int64, users: Int64 = 0,
        conversations: Int64 = 0, events: Int64 = 0, messages: Int64 = 0
    ) {
        self.path = path
        self.databaseBytes = databaseBytes
        self.files = files
        self.fileBytes = fileBytes
        self.tookMs = tookMs
        self.users = users
        self.conversations = conversations
        self.events = events
        self.messages = messages
    }
}

/// Load figures for `chatctl stats` that come from outside the router.
public struct DaemonStats: Sendable, Equatable {
    public var writeQueueDepth = 0
    public var writeBatches = 0
    public var writes = 0
    public var argon2QueueDepth = 0
    public var fileStoreBytes: Int64 = 0
    public var fileStoreFiles = 0
    /// The search index's file beside the database (0 when the index is in
    /// the database) and how it stands (`SearchIndexer.status`).
    public var searchIndexBytes: Int64 = 0
    public var searchIndex = "current"
    /// "writable" or why writes are refused, and free bytes (-1: unknown).
    public var databaseStorage = "writable"
    public var fileStoreStorage = "writable"
    public var databaseFreeBytes: Int64 = -1
    public var fileStoreFreeBytes: Int64 = -1

    public init() {}
}

/// Messages committed, counted per second (the store's commit observer feeds it).
public final class MessageThroughput: Sendable {
    private let window = Mutex(RateWindow())
    let clock: any WallClock

    public init(clock: any WallClock) { self.clock = clock }

    /// Counts the batch's messages; returns how many.
    @discardableResult
    public func committed(_ changes: CommittedChanges) -> Int {
        let messages = changes.events.reduce(0) { $0 + ($1.kind == .message ? 1 : 0) }
        if messages > 0 { window.withLock { $0.record(messages, atMs: clock.nowMs()) } }
        return messages
    }

    /// (messages per second over the last `window` seconds, messages since start).
    public func rate(window seconds: Int) -> (Double, Int64) {
        let now = clock.nowMs()
        return window.withLock { ($0.rate(window: seconds, nowMs: now), $0.total) }
    }
}
