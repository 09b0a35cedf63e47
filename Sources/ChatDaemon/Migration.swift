import ChatConfig
import ChatCore
import ChatPostgres
import ChatStore
import Foundation
import Logging

/// `chatd migrate --from-sqlite DATA_DIR --to-config FILE`: moves a stopped
/// one-box deployment (its SQLite database) into the empty PostgreSQL
/// database FILE names, for several nodes (DESIGN §9).
///
/// Every table is copied as it is (ids, seqs, read positions, search
/// documents, file references) inside one PostgreSQL transaction, then
/// checked in that same transaction (row counts, each conversation's last
/// seq, each user's last account seq) before it commits: a failure at any
/// step leaves the target as empty as it was. The identity sequences are
/// moved past the copied ids. The file store and the token key are not in
/// the database: `Summary.instructions` says what the operator must do.
public enum Migration {
    /// The tables copied, in an order that keeps foreign keys satisfied.
    public static let copiedTables = [
        "users", "devices", "conversations", "members", "bans", "events", "mentions", "reactions", "account_events",
        "friendships", "blocks", "audit", "contents", "files", "file_refs", "uploads", "search_docs", "grants",
        "push_targets",
    ]

    /// SQLite tables that are not copied: the FTS5 index of message text and
    /// its shadow tables, and the search indexer's bookkeeping (all in the
    /// search file, where `search_docs` is too). PostgreSQL's index is
    /// `search_docs.document`, made from the copied messages' text.
    static let derivedTables: Set = [
        "message_search", "message_search_data", "message_search_idx", "message_search_content",
        "message_search_docsize", "message_search_config", "search_progress", "search_meta",
    ]

    /// Rows per INSERT (fewer for wide tables: PostgreSQL's parameter limit).
    static let batchSize = 1_000
    /// Keys per comparison round of the verification.
    static let verifyBatch = 5_000

    /// Why the migration stopped; `exitCode` is chatd's exit status for it
    /// (documented in `chatd migrate --help`).
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var exitCode: Int32
        public var description: String

        public init(_ exitCode: Int32, _ description: String) {
            self.exitCode = exitCode
            self.description = description
        }

        public static let copyFailed: Int32 = 1
        public static let targetNotEmpty: Int32 = 65  // EX_DATAERR
        public static let noSource: Int32 = 66  // EX_NOINPUT
        public static let unreachable: Int32 = 69  // EX_UNAVAILABLE
        public static let verificationFailed: Int32 = 70  // EX_SOFTWARE
        public static let dataDirectoryInUse: Int32 = 73  // EX_CANTCREAT, as for a second chatd
        public static let badConfig: Int32 = 78  // EX_CONFIG
    }

    /// What was copied, and what the operator must still do.
    public struct Summary: Sendable {
        public var tables: [(name: String, rows: Int64)]
        public var conversationsChecked: Int
        public var accountStreamsChecked: Int
        public var duration: Duration
        public var source: String
        public var target: String
        /// The steps left to the operator: the token key and the file store.
        public var instructions: [String]

        public var totalRows: Int64 { tables.reduce(0) { $0 + $1.rows } }

        /// The report `chatd migrate` prints.
        public var text: String {
            let width = tables.map(\.name.count).max() ?? 0
            var lines = ["chatd migrate: copied \(source) into \(target)"]
            for table in tables {
                lines.append("  \(table.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(table.rows) rows")
            }
            let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            lines.append(
                "\(tables.count) tables, \(totalRows) rows in \(String(format: "%.1f", seconds)) s; verified: every table's row count, "
                    + "the last seq of \(conversationsChecked) conversations and the last account seq of \(accountStreamsChecked) users")
            lines.append("before starting the nodes:")
            lines += instructions.map { "  - \($0)" }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// Runs the migration: `configPath` must select the PostgreSQL backend;
    /// `dataDir` must hold a stopped deployment (its lock is taken for the
    /// whole copy, so a chatd running on it makes this fail, exit 73).
    /// `progress` is told each table as it is copied, and the verification.
    public static func run(
        dataDir: String, configPath: String, logger: Logger, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(Failure) -> Summary {
        let started = ContinuousClock.now
        let config: Config
        let settings: PostgresStore.Settings
        do {
            config = try Config.load(path: configPath)
            guard config.usesPostgreSQL else {
                throw Failure(Failure.badConfig, "\(configPath): storage.backend must be \"postgresql\" (the database to copy into)")
            }
            settings = try StorageBackend.postgresSettings(config)
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(Failure.badConfig, "config error: \(error)")
        }
        let target = config.postgresURL?.description ?? settings.database

        // The source: a data directory with a database, no chatd on it.
        let database = (dataDir as NSString).appendingPathComponent(BackupDirectory.databaseName)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Failure(Failure.noSource, "\(dataDir) is not a directory")
        }
        guard FileManager.default.fileExists(atPath: database) else {
            throw Failure(Failure.noSource, "\(dataDir) holds no chatd database (\(BackupDirectory.databaseName)): not a chatd data directory")
        }
        do {
            try DataDirectory.refuseUnfinishedBackup(dataDir)
        } catch {
            throw Failure(Failure.noSource, "\(error)")
        }
        let lock: DataDirectoryLock
        do {
            lock = try DataDirectoryLock.acquire(dataDir: dataDir)
        } catch let conflict as InstanceConflictError {
            throw Failure(Failure.dataDirectoryInUse, "\(conflict); stop chatd before migrating (nothing was copied)")
        } catch {
            throw Failure(Failure.copyFailed, "\(error)")
        }
        defer { lock.release() }

        let source: SQLiteStore
        do {
            source = try SQLiteStore.open(path: database, synchronous: .full, readers: 2)
        } catch {
            throw Failure(Failure.copyFailed, "cannot open \(database): \(error)")
        }
        defer { try? source.close() }
        try checkTables(of: source)
        do {
            // search_docs is copied from the index, which takes in at open
            // what it had not yet: a whole rebuild when the search file is of
            // an earlier layout or damaged, waited for while its rounds go on.
            try await source.searchIndexCaughtUpWhileProgressing { rounds in
                progress("waiting for the search index to catch up (\(rounds) rounds so far)")
            }
        } catch {
            throw Failure(Failure.copyFailed, "the search index of \(database) is not ready: \(error)")
        }

        let store: PostgresStore
        do {
            store = try await PostgresStore.open(settings, logger: logger)
        } catch let error as PostgresStoreError {
            switch error.kind {
            case .unreachable, .authenticationFailed, .serverTooOld, .newerSchema:
                throw Failure(Failure.unreachable, "storage.postgresql_url: \(error.message)")
            case .other:
                throw Failure(Failure.copyFailed, "storage.postgresql_url: \(error.message)")
            }
        } catch {
            throw Failure(Failure.copyFailed, "storage.postgresql_url: \(error)")
        }

        let copied: Copied
        do {
            copied = try await store.withImport(tables: copiedTables) { target in
                try copy(from: source, into: target, progress: progress)
            }
        } catch let error as Failure {
            await store.close()
            throw error
        } catch {
            await store.close()
            throw Failure(Failure.copyFailed, "the copy failed, nothing was written to PostgreSQL: \(error)")
        }
        await store.close()

        return Summary(
            tables: copied.tables, conversationsChecked: copied.conversations, accountStreamsChecked: copied.accountStreams,
            duration: ContinuousClock.now - started, source: database, target: target,
            instructions: instructions(dataDir: dataDir, config: config))
    }

    struct Copied: Sendable {
        var tables: [(name: String, rows: Int64)]
        var conversations: Int
        var accountStreams: Int
    }

    /// Every SQLite table is one this build copies or rebuilds: a database
    /// from a newer chatd (a table this one does not know) is refused
    /// rather than copied in part.
    static func checkTables(of source: SQLiteStore) throws(Failure) {
        let names: [String]
        do {
            names = try source.tableNames()
        } catch {
            throw Failure(Failure.copyFailed, "cannot read the SQLite database's tables: \(error)")
        }
        let unknown = names.filter { !copiedTables.contains($0) && !derivedTables.contains($0) }
        guard unknown.isEmpty else {
            throw Failure(
                Failure.copyFailed,
                "the SQLite database has tables this chatd does not know how to copy (\(unknown.joined(separator: ", "))): run the migration with the chatd that wrote it")
        }
        let missing = copiedTables.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw Failure(Failure.copyFailed, "the SQLite database lacks tables (\(missing.joined(separator: ", "))): it is not a chatd database")
        }
    }

    /// The body of the import transaction: refuse a non-empty target, copy,
    /// advance the sequences, verify. Throwing rolls everything back.
    static func copy(from source: SQLiteStore, into target: PostgresImport, progress: @Sendable (String) -> Void) throws -> Copied {
        let occupied = try target.nonEmptyTables(copiedTables)
        guard occupied.isEmpty else {
            throw Failure(
                Failure.targetNotEmpty,
                "the PostgreSQL database is not empty (rows in \(occupied.joined(separator: ", "))): migrate into a new, empty database; nothing was written")
        }
        var tables: [(name: String, rows: Int64)] = []
        for table in copiedTables {
            let rows = try target.copy(table: table, from: source, batchSize: batchSize)
            progress("copied \(table): \(rows) rows")
            tables.append((table, rows))
        }
        for table in copiedTables {
            try target.advanceIdentities(of: table, floor: try source.idFloor(of: table))
        }

        // Verification, before COMMIT.
        progress("verifying")
        var differences: [String] = []
        for (table, copiedRows) in tables {
            let (inSource, inTarget) = (try source.rowCount(of: table), try target.rowCount(of: table))
            if inSource != inTarget || copiedRows != inSource {
                differences.append("\(table): \(inSource) rows in SQLite, \(inTarget) in PostgreSQL")
            }
        }
        let conversations = try compareMaxima(
            of: "seq", in: "events", by: "conversation_id", what: "conversation", source: source, target: target,
            differences: &differences)
        let accountStreams = try compareMaxima(
            of: "seq", in: "account_events", by: "user_id", what: "user", source: source, target: target,
            differences: &differences)
        guard differences.isEmpty else {
            let shown = differences.prefix(20).joined(separator: "; ")
            let more = differences.count > 20 ? " (and \(differences.count - 20) more)" : ""
            throw Failure(Failure.verificationFailed, "the copy differs from the SQLite database, nothing was committed: \(shown)\(more)")
        }
        return Copied(tables: tables, conversations: conversations, accountStreams: accountStreams)
    }

    /// Compares, key by key, the greatest `value` per `key` on both sides,
    /// a batch of keys at a time; appends each difference (naming `what` and
    /// its id) and returns how many keys were compared.
    static func compareMaxima(
        of value: String, in table: String, by key: String, what: String, source: SQLiteStore, target: PostgresImport,
        differences: inout [String]
    ) throws -> Int {
        var after: Int64 = .min
        var compared = 0
        while true {
            let left = try source.maxima(of: value, in: table, by: key, after: after, limit: verifyBatch)
            let right = try target.maxima(of: value, in: table, by: key, after: after, limit: verifyBatch)
            // Keys up to `bound` are complete on both sides in this round.
            var bound = Int64.max
            if left.count == verifyBatch, let last = left.last { bound = min(bound, last.key) }
            if right.count == verifyBatch, let last = right.last { bound = min(bound, last.key) }
            let l = Dictionary(left.filter { $0.key <= bound }.map { ($0.key, $0.max) }, uniquingKeysWith: { a, _ in a })
            let r = Dictionary(right.filter { $0.key <= bound }.map { ($0.key, $0.max) }, uniquingKeysWith: { a, _ in a })
            for k in Set(l.keys).union(r.keys).sorted() where l[k] != r[k] {
                let said = { (v: Int64?) in v.map { "\($0)" } ?? "none" }
                differences.append("\(what) \(k): last \(table) seq \(said(l[k])) in SQLite, \(said(r[k])) in PostgreSQL")
            }
            compared += l.count
            if bound == .max { return compared }
            after = bound
        }
    }

    /// What the database does not carry: the token key (tokens are keyed
    /// hashes: with another key every device signs in again) and the files.
    static func instructions(dataDir: String, config: Config) -> [String] {
        let key = (dataDir as NSString).appendingPathComponent(BackupDirectory.tokenKeyName)
        let nodeKey = (config.dataDir as NSString).appendingPathComponent(BackupDirectory.tokenKeyName)
        var steps: [String] = []
        if FileManager.default.fileExists(atPath: key) {
            steps.append(
                "token key: copy \(key) to \(nodeKey) (storage.data_dir of every node), owned by chatd's user, mode 0600; "
                    + "a node without it makes a new key and every device must sign in again")
        } else {
            steps.append(
                "token key: \(dataDir) has no \(BackupDirectory.tokenKeyName), so the copied sessions cannot be resumed; "
                    + "give every node the same \(BackupDirectory.tokenKeyName) (32 random bytes, mode 0600) in storage.data_dir")
        }
        let oldFiles = (dataDir as NSString).appendingPathComponent("files")
        steps.append(
            "files: this command copies no file contents; put the file store (\(oldFiles), or the old config's files.dir) "
                + "on storage every node shares and set files.dir of every node to it (this config: \(config.filesDir))")
        return steps
    }
}
