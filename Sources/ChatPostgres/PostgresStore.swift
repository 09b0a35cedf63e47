import ChatCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// The PostgreSQL implementation of `Store`, for several chatd nodes on one
/// database (DESIGN §9). Same semantics as `SQLiteStore`:
///
/// - a write is one part of a group-committed transaction
///   (`PostgresGroupCommit`: batches in lanes, each write all or nothing);
///   `transaction { tx in }` runs the ChatCore policies inside it, through
///   `PostgresTransaction`;
/// - a conversation's seq is its row's `last_seq`, raised by the statement
///   that also stores the event (`appendEventSQL`), in the transaction: the
///   row lock orders concurrent writers on every node and a rollback gives
///   the number back, so a stream has no gaps;
/// - `UNIQUE(sender_id, client_msg_id)` makes a retried send a duplicate on
///   every node;
/// - committed changes go to the event observer after COMMIT, in commit
///   order (COMMIT and the hand-off happen under one lock).
///
/// Statements run synchronously on a thread of the store's own pool (never
/// an event loop), each waiting for its answer, as the transaction seam is
/// synchronous.
public final class PostgresStore: Store, Sendable {
    /// Where and how to connect (from the config's `storage.postgresql_*` keys).
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        public var poolSize: Int
        /// 0: no limit.
        public var statementTimeoutMs: Int
        public var connectTimeout: Duration

        public init(
            host: String, port: Int, user: String, password: String?, database: String, poolSize: Int = 8,
            statementTimeoutMs: Int = 30_000, connectTimeout: Duration = .seconds(10)
        ) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.database = database
            self.poolSize = poolSize
            self.statementTimeoutMs = statementTimeoutMs
            self.connectTimeout = connectTimeout
        }
    }

    /// The oldest server accepted (the schema uses identity columns and
    /// EXECUTE FUNCTION; tested on Debian's 15).
    public static let minimumServerVersion = 130_000

    let client: PostgresClient
    let runner: Task<Void, Never>
    let threads: NIOThreadPool
    let logger: Logger
    /// Held around COMMIT and the hand-off of what it committed.
    let commitLock = NIOLock()
    /// The hot paths' statements, prepared on each connection (`PGStatement`).
    let preparedStatements = PGPreparedStatements()
    let observer = NIOLockedValueBox<Observer?>(nil)
    /// What has been handed to the observer (guarded by `commitLock`).
    let published = PublishedHeads()
    /// This node, in its NOTIFY payloads (its own are not read back).
    let node: String
    let settings: Settings
    let listening = NIOLockedValueBox(false)
    /// Told (writes, duration) after each commit (metrics).
    let batchObserver = NIOLockedValueBox<BatchObserver?>(nil)
    /// Tests: runs just before (false) and just after (true) each batch's
    /// COMMIT; throwing stands for a connection that broke there.
    let commitFault = NIOLockedValueBox<(@Sendable (PGSession, _ afterCommit: Bool) throws -> Void)?>(nil)
    /// (transactions, writes) committed by this node.
    let committed = NIOLockedValueBox((batches: 0, writes: 0))
    /// Signals waiting to go to the other nodes (PostgresStore+Cluster).
    let signals = NIOLockedValueBox(SignalQueue())
    let signalObserver = NIOLockedValueBox<SignalObserver?>(nil)
    let listeningObserver = NIOLockedValueBox<ListeningObserver?>(nil)
    /// Reads and writes under way, and whether `close` has begun.
    let operations = Atomic<Int>(0)
    let closing = Atomic<Bool>(false)
    /// Writes queued or running, not yet answered.
    let writesInFlight = Atomic<Int>(0)
    /// Batches rolled back because one of their writes failed after it had
    /// written (their other writes ran again; PostgresGroupCommit).
    let rolledBack = Atomic<Int>(0)
    /// `rolledBack` so far (tests).
    public var rolledBackBatches: Int { rolledBack.load(ordering: .relaxed) }
    /// The write lanes, each a queue with its own batches (PostgresGroupCommit).
    let lanes: [PostgresGroupCommit]
    /// One holder of the cluster-wide content lock at a time (PostgresStore+Files).
    let contentLockGate = KeyedLock<Int>()
    /// This node's rows of cluster_sessions as its last heartbeat left them;
    /// nil: unknown (none written yet, or the last write failed).
    let sessionsWritten = NIOLockedValueBox<[UInt64: ClusterSession]?>(nil)

    /// Per conversation (and per user's account stream), the last seq handed
    /// to the observer. Only touched with `commitLock` held.
    final class PublishedHeads: @unchecked Sendable {
        var heads: [ConversationID: Seq] = [:]
        var accountHeads: [UserID: Seq] = [:]
        /// `loadHeads` ran: from then on every commit is published here or
        /// found by `catchUp`.
        var loaded = false
    }

    final class BatchObserver: Sendable {
        let body: @Sendable (Int, Duration) -> Void
        init(_ body: @escaping @Sendable (Int, Duration) -> Void) { self.body = body }
    }

    final class Observer: Sendable {
        let body: @Sendable ([CommittedChanges]) -> Void
        init(_ body: @escaping @Sendable ([CommittedChanges]) -> Void) { self.body = body }
    }

    /// Connects, checks the server and migrates the schema. Throws
    /// `PostgresStoreError` (unreachable, authentication failed, server too
    /// old, newer schema) with a message that holds no secret.
    public static func open(_ settings: Settings, logger: Logger) async throws -> PostgresStore {
        let version = try await check(settings, logger: logger)
        guard version >= minimumServerVersion else {
            throw PostgresStoreError(.serverTooOld, "PostgreSQL \(Self.versionText(version)) is too old: \(Self.versionText(minimumServerVersion)) or newer is needed")
        }
        let store = PostgresStore(settings, logger: logger)
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(_ settings: Settings, logger: Logger) {
        var config = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: .disable)
        config.options.maximumConnections = settings.poolSize
        config.options.minimumConnections = 0
        config.options.connectTimeout = settings.connectTimeout
        config.options.additionalStartupParameters = Self.startupParameters(settings)
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        self.settings = settings
        self.node = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        self.logger = logger
        self.runner = Task { await client.run() }
        self.threads = NIOThreadPool(numberOfThreads: max(1, settings.poolSize))
        self.lanes = (0..<Self.laneCount(poolSize: settings.poolSize)).map { _ in
            PostgresGroupCommit(maxWrites: PostgresGroupCommit.maxWritesPerBatch, maxDelayMicros: 0)
        }
        threads.start()
    }

    static func startupParameters(_ settings: Settings) -> [(String, String)] {
        // synchronous_commit: a COMMIT returns once its WAL is flushed, whatever
        // the server, database or role sets (`off` is a common tuning): chatd
        // acknowledges what it committed, and nothing acknowledged is lost.
        [
            ("statement_timeout", String(settings.statementTimeoutMs)), ("application_name", "chatd"),
            ("synchronous_commit", "on"),
        ]
    }

    /// Connects once and returns the server's version number (150004 for
    /// 15.4), or throws the reason it cannot (chatd --check-config).
    public static func check(_ settings: Settings, logger: Logger) async throws -> Int {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: connectionConfiguration(settings), id: 0, logger: logger)
        } catch {
            throw PostgresStoreError.classify(error, settings: settings)
        }
        defer { Task { try? await connection.close() } }
        let version: Int
        let schema: Int64
        do {
            let number = try await Self.firstValue(connection.query("SHOW server_version_num", logger: logger), String.self)
            version = number.flatMap { Int($0) } ?? 0
            // The schema a chatd has migrated the database to, if any: a
            // newer one is refused here as it would be at the start.
            let known = try await Self.firstValue(
                connection.query("SELECT to_regclass('chatd_schema') IS NOT NULL", logger: logger), Bool.self) ?? false
            let migrated = known ? try await Self.firstValue(connection.query("SELECT max(version) FROM chatd_schema", logger: logger), Int64?.self) : nil
            schema = migrated.flatMap { $0 } ?? 0
        } catch {
            throw PostgresStoreError.classify(error, settings: settings)
        }
        guard schema <= Int64(PostgresSchema.latestVersion) else { throw Self.newerSchema(schema) }
        return version
    }

    private static func firstValue<T: PostgresDecodable>(_ rows: PostgresRowSequence, _ type: T.Type) async throws -> T? {
        for try await value in rows.decode(T.self) { return value }
        return nil
    }

    static func newerSchema(_ version: Int64) -> PostgresStoreError {
        PostgresStoreError(
            .newerSchema,
            "the database has schema version \(version), newer than this chatd knows (\(PostgresSchema.latestVersion)): run a newer chatd")
    }

    /// One connection of its own (the check, the LISTEN connection).
    static func connectionConfiguration(_ settings: Settings) -> PostgresConnection.Configuration {
        var config = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: .disable)
        config.options.connectTimeout = .nanoseconds(settings.connectTimeout.components.seconds * 1_000_000_000)
        config.options.additionalStartupParameters = startupParameters(settings)
        return config
    }

    static func versionText(_ number: Int) -> String { "\(number / 10_000).\(number % 10_000)" }

    /// Lets the operations under way finish (up to `drain`), then closes
    /// the connections and the threads; later operations answer `unavailable`.
    /// (Cancelling the client under a leased connection once left a
    /// statement waiting forever, and the thread pool's shutdown with it.)
    public func close(drain: Duration = .seconds(10)) async {
        closing.store(true, ordering: .releasing)
        let deadline = ContinuousClock.now + drain
        while operations.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        runner.cancel()
        _ = await runner.value
        if operations.load(ordering: .acquiring) == 0 {
            try? await threads.shutdownGracefully()
        } else {
            logger.error("closing the database with statements still waiting; their threads are left behind")
        }
    }

    /// Sets the function that receives committed changes, in commit order:
    /// once per committed transaction, each write's changes in order.
    public func setEventObserver(_ body: @escaping @Sendable ([CommittedChanges]) -> Void) {
        observer.withLockedValue { $0 = Observer(body) }
    }

    /// Sets the function told (writes, duration) after each committed transaction.
    public func setBatchObserver(_ body: @escaping @Sendable (Int, Duration) -> Void) {
        batchObserver.withLockedValue { $0 = BatchObserver(body) }
    }

    /// (transactions, writes) this node committed since it opened the store.
    public var groupCommitStatistics: (batches: Int, writes: Int) { committed.withLockedValue { $0 } }

    /// Writes queued or running, not yet answered.
    public var writeQueueDepth: Int { writesInFlight.load(ordering: .relaxed) }

    /// Batch size and gathering delay of group commit (`storage.group_commit_*`;
    /// batches hold at most `PostgresGroupCommit.maxWritesPerBatch` writes).
    public func reconfigureGroupCommit(maxWrites: Int, maxDelayMicros: Int) {
        for lane in lanes { lane.reconfigure(maxWrites: maxWrites, maxDelayMicros: maxDelayMicros) }
    }

    /// An empty write transaction: succeeds only when the database accepts
    /// writes (health checks; a read-only standby refuses it).
    public func probeWrite() async throws {
        try await write { s in try s.execute("SELECT txid_current()") }
    }

    // MARK: Plumbing

    /// Runs `body` on a leased connection, on a thread of the pool.
    func read<T: Sendable>(_ body: @escaping @Sendable (PGSession) throws -> T) async throws -> T {
        guard !closing.load(ordering: .acquiring) else { throw ChatFailure(.unavailable, "the database is closing") }
        operations.add(1, ordering: .acquiringAndReleasing)
        defer { operations.subtract(1, ordering: .acquiringAndReleasing) }
        let logger = self.logger
        do {
            return try await client.withConnection { connection in
                try await self.threads.runIfActive { try body(PGSession(connection, logger: logger, prepared: self.preparedStatements)) }
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// Runs `body` in one read-only REPEATABLE READ transaction, so that all
    /// its statements see one snapshot, as SQLite's reads do. Without it each
    /// statement sees its own moment: a page's `head_seq` from before a
    /// message and its unread count from after it, or its events from after
    /// a retention purge and `purged_through_seq` from before (§5.10 and
    /// §6.2 promise one snapshot; a client counting from them drifts).
    func snapshotRead<T: Sendable>(_ body: @escaping @Sendable (PGSession) throws -> T) async throws -> T {
        try await read { s in
            try s.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let result = try body(s)
                try s.execute("COMMIT")
                return result
            } catch {
                try? s.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// A lost deadlock or serialization conflict, or a row another node
    /// inserted first that the write finds when it runs again: the write may
    /// run again.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let info = PGServerError(error), let state = info.sqlState else { return false }
        return isRetryable(sqlState: state, constraint: info.constraintName)
    }

    /// The unique keys of rows that a write creates only when it does not
    /// find them ("get or create"): a direct chat between two users, opened
    /// by each of them on two nodes at once; a block sent twice at once. On
    /// SQLite the single writer makes the second find the first; here the
    /// second's INSERT waits for the first's commit, then fails, and runs
    /// again to find it (not `conflict`, which would refuse a send).
    static let foundWhenRunAgain: Set<String> = ["conversations_direct_key_key", "blocks_pkey"]

    static func isRetryable(sqlState state: String, constraint: String?) -> Bool {
        state == "40P01" || state == "40001" || (state == "23505" && foundWhenRunAgain.contains(constraint ?? ""))
    }

    /// The database server refusing work for a while (spec §9 `unavailable`):
    /// out of disk or other resources (class 53: 53100 disk_full, 53200
    /// out_of_memory, 53300 too_many_connections...), read-only or in
    /// recovery (25006), failing I/O (58030), shutting down (57P01-57P03).
    /// Answered like SQLite's low space, not `internal`: nothing was stored,
    /// and the same request may be sent again.
    static func refusal(sqlState: String) -> ChatFailure? {
        // Fixed texts: the server's own message may name files and settings.
        let (cause, retryAfterMs): (String, Int64) =
            switch sqlState {
            case "53100": ("its disk is full", StorageHealth.lowSpaceRetryMs)
            case _ where sqlState.hasPrefix("53"): ("it is out of resources", StorageHealth.lowSpaceRetryMs)
            case "25006": ("it is read-only (in recovery?)", 5_000)
            case "58030": ("its storage failed", 5_000)
            case "57P01", "57P02", "57P03": ("it is shutting down or starting", 5_000)
            default: ("", 0)
            }
        guard retryAfterMs > 0 else { return nil }
        return ChatFailure(
            .unavailable, "the database refuses writes: \(cause) (SQLSTATE \(sqlState))", retryAfterMs: retryAfterMs)
    }

    /// Unique violations become the same `conflict`s as on SQLite; other
    /// errors pass through.
    static func translate(_ error: any Error) -> any Error {
        guard let info = PGServerError(error) else { return error }
        if info.sqlState == "23505" {
            let constraint = info.constraintName ?? ""
            if constraint.hasPrefix("users_username_key") { return ChatFailure(.conflict, "username is taken") }
            if constraint.hasPrefix("conversations_name_key") { return ChatFailure(.conflict, "a room with this name exists") }
            if constraint == "events_client_msg" { return ChatFailure(.conflict, "client_msg_id was already used") }
            return ChatFailure(.conflict, "already exists")
        }
        if info.sqlState == "57014" { return ChatFailure(.unavailable, "the database did not answer in time") }
        if let refusal = refusal(sqlState: info.sqlState ?? "") { return refusal }
        if isRetryable(error) { return error }
        // The server's message and code (never the statement's values).
        return PostgresStoreError(.other, "PostgreSQL: \(info.message ?? "error") (SQLSTATE \(info.sqlState ?? "?"))")
    }

    // MARK: Migrations

    func migrate() async throws {
        try await write { s in
            try s.execute("SELECT pg_advisory_xact_lock(?)", [PostgresSchema.migrationLockKey])
            try s.execute("CREATE TABLE IF NOT EXISTS chatd_schema (version BIGINT NOT NULL)")
            let version = try s.int("SELECT max(version) FROM chatd_schema") ?? 0
            guard version <= Int64(PostgresSchema.latestVersion) else { throw Self.newerSchema(version) }
            for (index, migration) in PostgresSchema.migrations.enumerated() where Int64(index + 1) > version {
                for statement in PostgresSchema.statements(migration) { try s.execute(statement) }
                try s.execute("INSERT INTO chatd_schema (version) VALUES (?)", [index + 1])
            }
        }
    }

    /// The schema version of the database (tests, status).
    public func schemaVersion() async throws -> Int {
        Int(try await read { s in try s.int("SELECT max(version) FROM chatd_schema") ?? 0 })
    }
}

/// Why the PostgreSQL store cannot be used; `message` holds no password.
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case unreachable
        case authenticationFailed
        case serverTooOld
        case newerSchema
        case other
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func classify(_ error: any Error, settings: PostgresStore.Settings) -> PostgresStoreError {
        let place = "\(settings.user)@\(settings.host):\(settings.port)/\(settings.database)"
        guard let psql = error as? PSQLError else {
            return PostgresStoreError(.unreachable, "cannot reach PostgreSQL at \(place): \(error)")
        }
        if let info = psql.serverInfo {
            let state = info[.sqlState] ?? ""
            let text = info[.message] ?? "error \(state)"
            switch state {
            case "28P01", "28000":
                return PostgresStoreError(.authenticationFailed, "PostgreSQL at \(place) refused the login: \(text)")
            case "3D000":
                return PostgresStoreError(.other, "PostgreSQL at \(place): \(text)")
            default:
                return PostgresStoreError(.other, "PostgreSQL at \(place): \(text)")
            }
        }
        switch psql.code {
        case .authMechanismRequiresPassword:
            return PostgresStoreError(.authenticationFailed, "PostgreSQL at \(place) asks for a password: set storage.postgresql_password_file")
        case .unsupportedAuthMechanism, .saslError:
            return PostgresStoreError(.authenticationFailed, "PostgreSQL at \(place) refused the login (\(psql.code))")
        default:
            let cause = psql.underlying.map { "\($0)" } ?? "\(psql.code)"
            return PostgresStoreError(.unreachable, "cannot reach PostgreSQL at \(place): \(cause)")
        }
    }
}
