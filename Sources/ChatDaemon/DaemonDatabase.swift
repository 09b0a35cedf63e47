import ChatCore
import ChatPostgres
import ChatStore
import Logging

/// chatd's database as the daemon sees it: the `Store` seam and the file
/// catalog every service uses, plus what only the daemon touches (the
/// commit observers, health probes, statistics, shutdown). The embedded
/// SQLite file and a PostgreSQL server shared by several nodes differ
/// only here.
public protocol DaemonDatabase: Store, FileCatalog {
    /// Receives committed changes, in commit order, a batch of writes'
    /// changes at a time (on PostgreSQL, other nodes' too, once
    /// `listenForOtherNodes` runs).
    func setEventObserver(_ body: @escaping @Sendable ([CommittedChanges]) -> Void)
    /// Told (writes, commit duration) after each committed batch.
    func setBatchObserver(_ body: @escaping @Sendable (Int, Duration) -> Void)
    /// Succeeds only when the database accepts a write (health checks).
    func probeWrite() async throws
    func reconfigure(groupCommit: SQLiteStore.GroupCommitSettings)
    /// (batches, writes) committed by this node since start.
    var groupCommitStatistics: (batches: Int, writes: Int) { get }
    /// Writes waiting for the writer.
    var writeQueueDepth: Int { get }
    /// Bytes of the database on this machine's disk; nil when it lives elsewhere.
    var localDatabaseBytes: Int64? { get }
    /// Bytes of the search index on this machine's disk beside the
    /// database; nil when the index is part of the database (PostgreSQL).
    var localSearchIndexBytes: Int64? { get }
    /// How the search index stands.
    var searchIndexStatus: SearchIndexState { get }
    /// The disk the database writes to, when it is this machine's.
    var localStorage: StorageMonitor? { get }
    /// Whether other chatd nodes share it (cluster-wide operator views).
    var isShared: Bool { get }
    /// Closes it, last in shutdown.
    func shutdown(logger: Logger) async
}

extension SQLiteStore: DaemonDatabase {
    public var localDatabaseBytes: Int64? { databaseFileBytes }
    public var localSearchIndexBytes: Int64? { searchIndexFileBytes }
    public var localStorage: StorageMonitor? { storage }
    public var isShared: Bool { false }

    public func shutdown(logger: Logger) async {
        do {
            try checkpoint()
            try close()
        } catch {
            // Nothing is lost: the WAL is replayed at the next start.
            logger.error("closing the database failed", metadata: ["chatd.error": "\(error)"])
        }
    }
}

extension PostgresStore: DaemonDatabase {
    public var localDatabaseBytes: Int64? { nil }
    public var localSearchIndexBytes: Int64? { nil }
    /// Its index is updated in each write's transaction.
    public var searchIndexStatus: SearchIndexState { .current }
    public var localStorage: StorageMonitor? { nil }
    public var isShared: Bool { true }

    public func reconfigure(groupCommit: SQLiteStore.GroupCommitSettings) {
        reconfigureGroupCommit(maxWrites: groupCommit.maxWrites, maxDelayMicros: groupCommit.maxDelayMicros)
    }

    public func shutdown(logger: Logger) async { await close() }
}
