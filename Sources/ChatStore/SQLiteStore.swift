import ChatCore
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

extension Database {
    /// Executes through the statement cache: hot statements are compiled once
    /// per connection (compiling runs GRDB's authorizer, which dominated
    /// profiles of the send path).
    func cachedExecute(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }

    /// Up to `limit` rows of a cached statement run with `values` bound in
    /// order, each mapped by position as it is stepped.
    ///
    /// The send path's statements go through here, straight to SQLite's C
    /// API: GRDB's `StatementArguments` (an array of `DatabaseValue`s,
    /// validated and copied per call), its cursors and its observation
    /// bookkeeping around every step were 18% of the group-commit writer's
    /// time, more than some of the statements themselves. (A GRDB `Row`
    /// fetch also builds a dictionary of the statement's lowercased column
    /// names on every call.) What GRDB's checks gave that matters here is
    /// kept: the statement must run inside a transaction, so that nothing is
    /// written in autocommit mode after SQLite rolled a transaction back, and
    /// the values must match the statement's parameters.
    func directRows<T, each V: StatementBinding>(
        _ sql: String, _ values: repeat each V, limit: Int = .max, map: (StatementRow) throws -> T
    ) throws -> [T] {
        try withBound(sql, repeat each values) { statement in
            let row = StatementRow(sqliteStatement: statement)
            var rows: [T] = []
            while rows.count < limit, try step(statement, sql) { rows.append(try map(row)) }
            return rows
        }
    }

    /// The first row of a cached statement, mapped by position (`directRows`).
    func directRow<T, each V: StatementBinding>(
        _ sql: String, _ values: repeat each V, map: (StatementRow) throws -> T
    ) throws -> T? {
        try withBound(sql, repeat each values) { statement in
            try step(statement, sql) ? try map(StatementRow(sqliteStatement: statement)) : nil
        }
    }

    /// The first column of a cached statement's first row; nil when there is
    /// no row or the value is NULL (`directRows`).
    func directValue<T: StatementColumnConvertible, each V: StatementBinding>(
        _ type: T.Type, _ sql: String, _ values: repeat each V
    ) throws -> T? {
        try directRow(sql, repeat each values) { $0[0] as T? } ?? nil
    }

    /// Runs a cached statement to completion (`directRows`).
    func directExecute<each V: StatementBinding>(_ sql: String, _ values: repeat each V) throws {
        try withBound(sql, repeat each values) { statement in
            while try step(statement, sql) {}
        }
    }

    /// Binds `values` to the cached statement for `sql` and runs `body`;
    /// the statement is reset afterwards, whatever happened.
    private func withBound<R, each V: StatementBinding>(
        _ sql: String, _ values: repeat each V, body: (SQLiteStatement) throws -> R
    ) throws -> R {
        guard let connection = sqliteConnection, sqlite3_get_autocommit(connection) == 0 else {
            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "outside a transaction (or it was rolled back)", sql: sql)
        }
        let cached = try cachedStatement(sql: sql)
        return try withExtendedLifetime(cached) {
            let statement = cached.sqliteStatement
            // Its last step's result (GRDB reports it where it happened); the
            // statement is reset either way.
            _ = sqlite3_reset(statement)
            defer {
                _ = sqlite3_reset(statement)
                _ = sqlite3_clear_bindings(statement)
            }
            var count: CInt = 0
            for value in repeat each values {
                count += 1
                let code = value.bind(to: statement, at: count)
                guard code == SQLITE_OK else { throw failure(code, sql) }
            }
            guard count == sqlite3_bind_parameter_count(statement) else {
                throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "wrong number of statement arguments: \(count)", sql: sql)
            }
            return try body(statement)
        }
    }

    /// Steps `statement`: true when it produced a row, false when it is done.
    private func step(_ statement: SQLiteStatement, _ sql: String) throws -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw failure(code, sql)
        }
    }

    private func failure(_ code: CInt, _ sql: String) -> DatabaseError {
        let message = sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// The current row of a statement being stepped, read by position straight
/// from SQLite (valid until the statement steps again).
struct StatementRow {
    let sqliteStatement: SQLiteStatement

    /// The column's value; nil for NULL.
    subscript<T: StatementColumnConvertible>(_ index: CInt) -> T? {
        T.fromStatement(sqliteStatement, atUncheckedIndex: index)
    }
}

extension DatabaseValueConvertible where Self: StatementColumnConvertible {
    static func fetchOneCached(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Self? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAllCached(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Self] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

extension Row {
    /// The first row of `statement`, decoded by `decode` while the
    /// statement is on it (nil: no row).
    ///
    /// Rows that are decoded by column name go through this and `decodeAll`
    /// rather than `fetchOne`/`fetchAll`: those return copies whose
    /// `row["name"]` searches the column names one by one, lowercasing each
    /// on every lookup (a device-and-account row of 21 columns took about
    /// 220 lowercasings, 40 % of a Resume's token lookup), while a cursor's
    /// row looks names up in a table made once per statement. `decode` must
    /// not keep the row: the cursor reuses it.
    static func decodeOne<T>(
        _ statement: Statement, arguments: StatementArguments = StatementArguments(), _ decode: (Row) throws -> T
    ) throws -> T? {
        let cursor = try Row.fetchCursor(statement, arguments: arguments)
        guard let row = try cursor.next() else { return nil }
        // The row reads the statement, which the cursor resets when it goes.
        return try withExtendedLifetime(cursor) { try decode(row) }
    }

    /// Every row of `statement`, each decoded by `decode` (see `decodeOne`).
    static func decodeAll<T>(
        _ statement: Statement, arguments: StatementArguments = StatementArguments(), _ decode: @escaping (Row) throws -> T
    ) throws -> [T] {
        try Array(Row.fetchCursor(statement, arguments: arguments).map(decode))
    }

    static func fetchOneCached(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> Row? {
        try fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    static func fetchAllCached(_ db: Database, sql: String, arguments: StatementArguments = StatementArguments()) throws -> [Row] {
        try fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
    }
}

/// The SQLite implementation of `Store`.
///
/// All writes go through GRDB's single serialized writer and all reads through
/// its reader pool; both run on GRDB's own dispatch queues, or, for the
/// single-statement lookups on the connection path (`lookup`), on the
/// store's lookup threads: never on a NIO event loop. Events appended by a write are handed to `eventObserver` after
/// the batch's transaction commits, on the writer thread, so observers see them in
/// commit order (the hub relies on that to push in seq order).
public final class SQLiteStore: Store {
    public enum Synchronous: String, Sendable, CaseIterable {
        case off, normal, full, extra
    }

    public let writer: any DatabaseWriter
    let groupCommit: GroupCommitWriter
    /// Path of the database file; nil for in-memory stores.
    public let path: String?
    /// Free space and storage faults: decides whether writes go ahead.
    public let storage: StorageMonitor
    /// Copies the WAL into the database file off the writer (nil: in memory).
    let checkpointer: WALCheckpointer?
    /// Run single-statement lookups on the connection path (`lookup`).
    let lookups: LookupThreads
    /// The full-text index, kept off the writer.
    let searchIndex: SearchIndexer
    /// Its file beside the database; nil for in-memory stores.
    let searchPath: String?
    /// Told committed changes after the search index (`setEventObserver`).
    private let eventObserver = EventObserver()

    private final class EventObserver: Sendable {
        let body = Mutex<GroupCommitWriter.Publisher?>(nil)
    }

    public struct GroupCommitSettings: Sendable, Equatable {
        public var maxWrites: Int
        public var maxDelayMicros: Int

        public init(
            maxWrites: Int = Int(Setting.storageGroupCommitMaxWrites.defaultValue),
            maxDelayMicros: Int = Int(Setting.storageGroupCommitMaxDelayUs.defaultValue)
        ) {
            self.maxWrites = maxWrites
            self.maxDelayMicros = maxDelayMicros
        }
    }

    /// Opens (creating if needed) the database at `path` in WAL mode and
    /// migrates it; refuses one a newer chatd has migrated (`SchemaTooNew`).
    public static func open(
        path: String, synchronous: Synchronous = .full, readers: Int = 4,
        groupCommit: GroupCommitSettings = GroupCommitSettings()
    ) throws -> SQLiteStore {
        // The connections open their files through chatd-wal, which writes a
        // commit's log frames in a pwrite per 124 KiB instead of two per page.
        try WALBuffer.install()
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.maximumReaderCount = max(1, readers)
        config.journalMode = .wal
        let sync = synchronous.rawValue.uppercased()
        let searchPath = SearchIndexer.searchPath(for: path)
        try SearchIndexer.prepareFile(searchPath)
        config.prepareDatabase { db in
            // Readers see the search index (SearchIndexer); the writer never
            // does, lest its BEGIN IMMEDIATE lock the index's file too.
            if db.configuration.readonly {
                try db.execute(sql: "ATTACH DATABASE ? AS search", arguments: [searchPath])
            }
            try db.execute(sql: "PRAGMA synchronous = \(sync)")
            // Each write of a group-commit batch runs in a savepoint, whose
            // statement journal SQLite otherwise spills to a temporary file:
            // a pwrite per changed page per write, with nothing to gain, as
            // a crash discards the open transaction anyway.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        // Again on the writer: when the pool turns WAL on, GRDB sets its
        // writer to synchronous = NORMAL, after prepareDatabase. Under NORMAL
        // a commit is not fsynced, and an acknowledged write could be lost
        // to a power failure (never to a crash of chatd alone).
        //
        // The WAL is copied into the database file by a thread of its own
        // (WALCheckpointer); the writer checkpoints only past a backstop.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(sync)")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages)")
        }
        let checkpointer = try WALCheckpointer(path: path)
        do {
            return try SQLiteStore(
                writer: pool, path: path, groupCommit: groupCommit, checkpointer: checkpointer, searchPath: searchPath)
        } catch {
            // A store that did not open (a migration failed, say) leaves
            // no checkpointing thread and connection behind it.
            checkpointer.stop()
            throw error
        }
    }

    /// An in-memory store (tests).
    public static func inMemory() throws -> SQLiteStore {
        try SQLiteStore(writer: DatabaseQueue(), path: nil)
    }

    /// `storage`: by default, statvfs of the database's directory (none in memory).
    public convenience init(
        writer: any DatabaseWriter, path: String?, groupCommit: GroupCommitSettings = GroupCommitSettings(),
        storage: StorageMonitor? = nil
    ) throws {
        try self.init(writer: writer, path: path, groupCommit: groupCommit, storage: storage, checkpointer: nil)
    }

    /// `searchPath`: the search index's file, attached by the pool's readers
    /// (`open`); nil: an in-memory index on the writer, which must then be
    /// a DatabaseQueue (its one connection).
    init(
        writer: any DatabaseWriter, path: String?, groupCommit: GroupCommitSettings = GroupCommitSettings(),
        storage: StorageMonitor? = nil, checkpointer: WALCheckpointer?, searchPath: String? = nil
    ) throws {
        self.checkpointer = checkpointer
        self.writer = writer
        // As many as the readers they take, at most one per core (in memory:
        // one connection, one thread).
        let readers = (writer as? DatabasePool)?.configuration.maximumReaderCount ?? 1
        self.lookups = LookupThreads(
            count: min(readers, ProcessInfo.processInfo.activeProcessorCount), name: "chatd-lookup")
        self.path = path
        self.searchPath = path == nil ? nil : searchPath
        self.storage =
            storage ?? path.map { StorageMonitor(directory: ($0 as NSString).deletingLastPathComponent) }
            ?? StorageMonitor(probe: { nil })
        // A checkpoint that cannot write or sync the database file is the
        // storage failing as a write's would be (after a failed fsync the
        // log must not be started over): recorded the same way, so writes
        // are refused and the operator is told.
        checkpointer?.onFailure { [storage = self.storage] error in
            if let error = error as? DatabaseError { _ = storage.classify(error) }
        }
        self.groupCommit = GroupCommitWriter(
            writer: writer,
            settings: .init(maxWrites: max(1, groupCommit.maxWrites), maxDelayMicros: max(0, groupCommit.maxDelayMicros)))
        // GRDB's migrator runs the migrations it knows and ignores the
        // others: on a database a newer chatd has migrated, this one would
        // read and write a schema it does not know.
        let unknown = try writer.read { db in try Schema.migrator.appliedIdentifiers(db) }
            .subtracting(Schema.migrator.migrations).sorted()
        guard unknown.isEmpty else { throw SchemaTooNew(path: path, unknownMigrations: unknown) }
        try Schema.migrator.migrate(writer)
        if let searchPath, let path {
            searchIndex = try SearchIndexer.file(databasePath: path, searchPath: searchPath)
        } else if let queue = writer as? DatabaseQueue {
            searchIndex = try SearchIndexer.inMemory(queue)
        } else {
            throw ChatFailure(.internal, "a database pool needs a search file (SQLiteStore.open)")
        }
        self.groupCommit.setPublisher { [searchIndex, eventObserver] changes in
            searchIndex.committed(changes)
            eventObserver.body.withLock { $0 }?.body(changes)
        }
    }

    /// The database was migrated by a newer chatd (PostgreSQL's store refuses
    /// such a database the same way).
    public struct SchemaTooNew: Error, CustomStringConvertible {
        public let path: String?
        /// The migrations it has that this build does not know.
        public let unknownMigrations: [String]

        public var description: String {
            "the database \(path ?? "(in memory)") has schema migrations this chatd does not know "
                + "(\(unknownMigrations.joined(separator: ", "))): a newer chatd has used it; run that version or a later one"
        }
    }

    /// Sets the function that receives committed changes, in commit order,
    /// on the group-commit writer's thread or its publish queue (one call at
    /// a time): per committed batch, or per run of batches when several
    /// ended meanwhile, each write's changes in the order the writes ran,
    /// before those batches' callers are resumed.
    public func setEventObserver(_ body: @escaping @Sendable ([CommittedChanges]) -> Void) {
        eventObserver.body.withLock { $0 = GroupCommitWriter.Publisher(body) }
    }

    /// Sets the function told (writes, commit duration) after each committed batch.
    public func setBatchObserver(_ body: @escaping @Sendable (Int, Duration) -> Void) {
        groupCommit.setBatchObserver(body)
    }

    /// Checkpoints the WAL into the main file (clean shutdown).
    public func checkpoint() throws {
        searchIndex.close()
        checkpointer?.stop()
        if writer is DatabasePool {
            try writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        }
    }

    deinit {
        checkpointer?.stop()
        lookups.stop()
    }

    public func close() throws {
        searchIndex.close()
        checkpointer?.stop()
        lookups.stop()
        if let pool = writer as? DatabasePool { try pool.close() }
        if let queue = writer as? DatabaseQueue { try queue.close() }
    }

    // MARK: Plumbing

    /// A write whose changes are published after commit.
    func write<T: Sendable>(
        _ need: StorageHealth.Need = .ordinary, _ body: @escaping @Sendable (Database, inout CommittedChanges) throws -> T
    ) async throws -> T {
        try storage.admit(need)
        do {
            return try await groupCommit.write { db in
                var changes = CommittedChanges()
                let result = try body(db, &changes)
                return (result, changes)
            }
        } catch let error as DatabaseError {
            throw translateWriteError(error)
        }
    }

    /// Every write goes through the group-commit writer. `need`: whether it
    /// frees space (and so may run while storage is low).
    func write<T: Sendable>(
        _ need: StorageHealth.Need = .ordinary, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try storage.admit(need)
        do {
            return try await groupCommit.write { db in (try body(db), nil) }
        } catch let error as DatabaseError {
            throw translateWriteError(error)
        }
    }

    /// Storage faults become `unavailable` (and change the storage's health);
    /// everything else as `translate`.
    private func translateWriteError(_ error: DatabaseError) -> any Error {
        storage.classify(error) ?? Self.translate(error)
    }

    /// An empty write through the group-commit writer: succeeds only when
    /// the database can be written (health checks).
    public func probeWrite() async throws {
        try await write { db in try db.cachedExecute(sql: "PRAGMA user_version = \(Schema.userVersion)") }
    }

    /// Applies new group-commit bounds (config reload).
    public func reconfigure(groupCommit settings: GroupCommitSettings) {
        groupCommit.reconfigure(.init(maxWrites: max(1, settings.maxWrites), maxDelayMicros: max(0, settings.maxDelayMicros)))
    }

    /// (batches, writes) committed since start.
    public var groupCommitStatistics: (batches: Int, writes: Int) { groupCommit.statistics }

    /// Writes queued for the writer, not yet in a batch.
    public var writeQueueDepth: Int { groupCommit.queueDepth }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.read(body)
        } catch let error as DatabaseError {
            throw Self.translate(error)
        }
    }

    /// A read of ONE statement on a lookup thread: two thread hand-offs
    /// where `read` makes three, and no BEGIN and COMMIT around it, as SQLite
    /// reads a single statement from one snapshot anyway. For the lookups
    /// on the connection path (Resume's token); several statements that must
    /// agree go through `read`.
    func lookup<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let writer = self.writer
        do {
            return try await lookups.run { try writer.unsafeRead(body) }
        } catch let error as DatabaseError {
            throw Self.translate(error)
        }
    }

    static func translate(_ error: DatabaseError) -> any Error {
        if error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            let text = error.message ?? ""
            if text.contains("users.username_key") { return ChatFailure(.conflict, "username is taken") }
            if text.contains("conversations.name_key") { return ChatFailure(.conflict, "a room with this name exists") }
            if text.contains("events.sender_id") { return ChatFailure(.conflict, "client_msg_id was already used") }
            return ChatFailure(.conflict, "already exists")
        }
        return error
    }

    // MARK: Users

    static let userColumns =
        "u.id, u.username, u.display_name, u.avatar_url, u.status_text, u.role, u.created_at, u.email, u.password_hash, u.disabled"

    static func account(_ row: Row) -> UserAccount {
        UserAccount(user: user(row), email: row["email"], passwordHash: row["password_hash"], disabled: row["disabled"])
    }

    static func user(_ row: Row) -> User {
        User(
            id: row["id"], username: row["username"], displayName: row["display_name"], avatarURL: row["avatar_url"],
            statusText: row["status_text"], role: ServerRole(rawValue: row["role"]) ?? .user,
            createdAt: row["created_at"])
    }

    public func account(id: UserID) async throws -> UserAccount? {
        try await read { db in
            try Row.decodeOne(db.cachedStatement(sql: "SELECT \(Self.userColumns) FROM users u WHERE u.id = ?"), arguments: [id], Self.account)
        }
    }

    public func account(usernameKey: String) async throws -> UserAccount? {
        try await read { db in
            try Row.decodeOne(
                db.cachedStatement(sql: "SELECT \(Self.userColumns) FROM users u WHERE u.username_key = ?"), arguments: [usernameKey],
                Self.account)
        }
    }

    public func setDisabled(user: UserID, _ disabled: Bool) async throws {
        try await updateUser(user, "disabled = ?", [disabled])
    }

    public func setRole(user: UserID, _ role: ServerRole) async throws {
        try await updateUser(user, "role = ?", [role.rawValue])
    }

    private func updateUser(_ user: UserID, _ assignment: String, _ args: StatementArguments) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE users SET \(assignment) WHERE id = ?", arguments: args + [user])
            if db.changesCount == 0 { throw ChatFailure(.notFound, "no such user") }
        }
    }

    public func listUsers(_ filter: UserFilter) async throws -> PageResult<UserAccount> {
        try await read { db in
            var sql = "SELECT \(Self.userColumns) FROM users u WHERE u.id > ?"
            var args: StatementArguments = [filter.page.after]
            if !filter.usernamePrefix.isEmpty {
                sql += " AND substr(u.username_key, 1, ?) = ?"
                let key = Validate.usernameKey(filter.usernamePrefix)
                _ = args.append(contentsOf: [key.utf8.count, key])
            }
            if filter.onlyDisabled { sql += " AND u.disabled = 1" }
            if let role = filter.role {
                sql += " AND u.role = ?"
                _ = args.append(contentsOf: [role.rawValue])
            }
            sql += " ORDER BY u.id LIMIT ?"
            _ = args.append(contentsOf: [filter.page.limit + 1])
            let rows = try Row.decodeAll(db.makeStatement(sql: sql), arguments: args, Self.account)
            return PageResult(items: Array(rows.prefix(filter.page.limit)), hasMore: rows.count > filter.page.limit)
        }
    }

    // MARK: Devices

    static let deviceColumns =
        "d.id AS row_id, d.user_id, d.device_id, d.name, d.platform, d.public_key, d.created_at AS d_created_at, d.last_seen_at, d.last_address, d.revoked_at, d.token_expires_at,\n        (SELECT p.kind FROM push_targets p WHERE p.device_id = d.id) AS push_kind"

    static func device(_ row: Row) -> Device {
        let key: Data? = row["public_key"]
        var device = Device(
            rowID: row["row_id"], userID: row["user_id"], deviceID: row["device_id"], name: row["name"],
            platform: row["platform"], publicKey: key.map { Array($0) }, createdAt: row["d_created_at"],
            lastSeenAt: row["last_seen_at"], lastAddress: row["last_address"], revokedAt: row["revoked_at"],
            tokenExpiresAt: row["token_expires_at"])
        device.push = (row["push_kind"] as String?).flatMap(PushKind.init(rawValue:))
        return device
    }

    public func device(tokenHash: [UInt8]) async throws -> (Device, UserAccount)? {
        try await lookup { db in
            try Row.decodeOne(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.deviceColumns), \(Self.userColumns)
                        FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?
                        """), arguments: [Data(tokenHash)]
            ) { (Self.device($0), Self.account($0)) }
        }
    }

    public func device(user: UserID, deviceID: String) async throws -> Device? {
        try await read { db in
            try Row.decodeOne(
                db.cachedStatement(sql: "SELECT \(Self.deviceColumns) FROM devices d WHERE d.user_id = ? AND d.device_id = ?"),
                arguments: [user, deviceID], Self.device)
        }
    }

    public func devices(user: UserID?, includeRevoked: Bool, limit: Int) async throws -> [Device] {
        try await read { db in
            var sql = "SELECT \(Self.deviceColumns) FROM devices d WHERE 1"
            var args: StatementArguments = []
            if let user {
                sql += " AND d.user_id = ?"
                _ = args.append(contentsOf: [user])
            }
            if !includeRevoked { sql += " AND d.revoked_at IS NULL" }
            sql += " ORDER BY d.user_id, d.id LIMIT ?"
            _ = args.append(contentsOf: [limit])
            return try Row.decodeAll(db.makeStatement(sql: sql), arguments: args, Self.device)
        }
    }

    public func touchDevice(_ device: DeviceRowID, now: Millis, address: String) async throws {
        try await write { db in
            try db.cachedExecute(
                sql: "UPDATE devices SET last_seen_at = ?, last_address = ? WHERE id = ?",
                arguments: [now, address, device])
        }
    }

    public func setToken(device: DeviceRowID, hash: [UInt8]?, expiresAt: Millis?) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE devices SET token_hash = ?, token_expires_at = ? WHERE id = ?",
                arguments: [hash.map { Data($0) }, expiresAt, device])
        }
    }

    public func replaceToken(device: DeviceRowID, from old: [UInt8], to hash: [UInt8], expiresAt: Millis) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE devices SET token_hash = ?, token_expires_at = ? WHERE id = ? AND token_hash = ? AND revoked_at IS NULL",
                arguments: [Data(hash), expiresAt, device, Data(old)])
            return db.changesCount == 1
        }
    }

    // MARK: Audit and stats

    public func audit(_ entry: AuditEntry) async throws {
        try await write { db in
            try db.cachedExecute(
                sql: "INSERT INTO audit (at, action, actor, user_id, address, detail) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [entry.at, entry.action.rawValue, entry.actor, entry.userID, entry.address, entry.detail])
        }
    }

    public func pruneAudit(before: Millis, batch: Int) async throws -> Int {
        try await write(.freesSpace) { db in
            try db.execute(
                sql: "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT ?)",
                arguments: [before, batch])
            return db.changesCount
        }
    }

    public func auditEntries(user: UserID?, limit: Int) async throws -> [AuditEntry] {
        try await read { db in
            let rows: [Row]
            if let user {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM audit WHERE user_id = ? ORDER BY id DESC LIMIT ?", arguments: [user, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
            }
            return rows.compactMap { row in
                guard let action = AuditEntry.Action(rawValue: row["action"]) else { return nil }
                return AuditEntry(
                    at: row["at"], action: action, actor: row["actor"], userID: row["user_id"], address: row["address"],
                    detail: row["detail"])
            }
        }
    }

    /// Bytes of the database on disk: the main file and the write-ahead log
    /// (0 for an in-memory store).
    public var databaseFileBytes: Int64 { Self.bytesWithLog(path) }

    /// Bytes of the search index's file beside the database, with its
    /// write-ahead log (0 for an in-memory store).
    public var searchIndexFileBytes: Int64 { Self.bytesWithLog(searchPath) }

    /// How the search index stands.
    public var searchIndexStatus: SearchIndexState { searchIndex.status }

    private static func bytesWithLog(_ path: String?) -> Int64 {
        guard let path else { return 0 }
        return [path, path + "-wal"].reduce(0) { total, file in
            var info = stat()
            return total + (stat(file, &info) == 0 ? Int64(info.st_size) : 0)
        }
    }

    public func counts() async throws -> StoreCounts {
        let bytes = databaseFileBytes
        return try await read { db in
            let users = try Int64.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0
            let rooms = try Int64.fetchOne(db, sql: "SELECT count(*) FROM conversations WHERE kind != 'direct'") ?? 0
            let messages = try Int64.fetchOne(db, sql: "SELECT count(*) FROM events WHERE kind = 'message'") ?? 0
            return StoreCounts(users: users, rooms: rooms, messages: messages, databaseBytes: bytes)
        }
    }
}
