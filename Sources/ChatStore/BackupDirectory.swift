import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// What a backup directory (`chatctl backup`, spec/PROTOCOL.md §11.5) holds.
/// chatd writes it and refuses to start on an unfinished one; `chatctl backup
/// --verify` checks one, on any machine, with no chatd running.
public enum BackupDirectory {
    public static let databaseName = "chatd.sqlite3"
    public static let tokenKeyName = "token.key"
    public static let fileStoreName = "files"
    /// Written last: the backup is complete once it is there and the marker is gone.
    public static let manifestName = "backup.json"
    /// There from the backup's first moment until it is complete.
    public static let incompleteMarkerName = "BACKUP-INCOMPLETE"
    public static let incompleteMarkerText = """
        This directory is an unfinished chatd backup: `chatctl backup` was interrupted
        (chatd stopped or the machine went down) before everything was copied.
        Do not restore from it; chatd refuses to start on it. Remove it and take a
        new backup.

        """
    /// The manifest format this code writes and reads.
    public static let formatVersion = 1
}

/// `backup.json`: when and from where the backup was taken, and what it
/// holds, counted in the copy itself.
public struct BackupManifest: Codable, Sendable, Equatable {
    public var format: Int
    public var chatdVersion: String
    public var createdAtMs: Int64
    /// The data directory the backup was taken from.
    public var sourceDataDir: String
    public var database: DatabaseCopy
    public var fileStore: FileStoreCopy

    public struct DatabaseCopy: Codable, Sendable, Equatable {
        /// Size of `chatd.sqlite3`.
        public var bytes: Int64
        public var counts: BackupCounts

        public init(bytes: Int64, counts: BackupCounts) {
            self.bytes = bytes
            self.counts = counts
        }
    }

    /// The copy of the file store under `files/`: regular files and their bytes.
    public struct FileStoreCopy: Codable, Sendable, Equatable {
        public var files: Int64
        public var bytes: Int64

        public init(files: Int64, bytes: Int64) {
            self.files = files
            self.bytes = bytes
        }
    }

    public init(
        chatdVersion: String, createdAtMs: Int64, sourceDataDir: String, database: DatabaseCopy, fileStore: FileStoreCopy
    ) {
        format = BackupDirectory.formatVersion
        self.chatdVersion = chatdVersion
        self.createdAtMs = createdAtMs
        self.sourceDataDir = sourceDataDir
        self.database = database
        self.fileStore = fileStore
    }

    /// Pretty-printed JSON with snake_case keys, in a stable order.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    public static func decode(_ data: Data) throws -> BackupManifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(BackupManifest.self, from: data)
    }
}

/// Rows of a database, as the manifest records them and --verify recounts them.
public struct BackupCounts: Codable, Sendable, Equatable {
    public var users: Int64
    /// Rooms, groups and direct chats.
    public var conversations: Int64
    /// Every event of every conversation, messages included.
    public var events: Int64
    /// `MESSAGE` events (deleted ones included).
    public var messages: Int64
    /// Rows of the `files` table (finished uploads users see).
    public var files: Int64

    public init(users: Int64 = 0, conversations: Int64 = 0, events: Int64 = 0, messages: Int64 = 0, files: Int64 = 0) {
        self.users = users
        self.conversations = conversations
        self.events = events
        self.messages = messages
        self.files = files
    }

    /// (name, value) in display order.
    public var named: [(String, Int64)] {
        [("users", users), ("conversations", conversations), ("events", events), ("messages", messages), ("files", files)]
    }

    static func count(_ db: Database) throws -> BackupCounts {
        func count(_ sql: String) throws -> Int64 { try Int64.fetchOne(db, sql: sql) ?? 0 }
        return BackupCounts(
            users: try count("SELECT count(*) FROM users"),
            conversations: try count("SELECT count(*) FROM conversations"),
            events: try count("SELECT count(*) FROM events"),
            messages: try count("SELECT count(*) FROM events WHERE kind = 'message'"),
            files: try count("SELECT count(*) FROM files"))
    }
}

/// A database file opened read-only, with no `-wal` or `-shm` beside it
/// (backups are written in rollback-journal mode, so nothing is created next
/// to them when they are read).
public enum BackupDatabase {
    /// Counts the rows of the database at `path`.
    public static func counts(at path: String) throws -> BackupCounts {
        try read(path) { try BackupCounts.count($0) }
    }

    /// `PRAGMA integrity_check` ("ok", or SQLite's list of problems) and the counts.
    public static func check(at path: String) throws -> (integrity: String, counts: BackupCounts) {
        try read(path) { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
            return (integrity, try BackupCounts.count(db))
        }
    }

    static func read<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
        var config = Configuration()
        config.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: config)
        defer { try? queue.close() }
        return try queue.read(body)
    }
}

/// `chatctl backup --verify`: whether a directory is a complete backup that
/// a chatd can start on, and what it holds.
public struct BackupVerification: Encodable, Sendable {
    public var path: String
    /// Empty when the backup is complete and sound.
    public var problems: [String] = []
    public var manifest: BackupManifest?
    /// What the directory holds, counted now (nil when it could not be read).
    public var found: Found = Found()

    public struct Found: Encodable, Sendable {
        public var databaseBytes: Int64?
        /// `PRAGMA integrity_check`: "ok" or SQLite's problems.
        public var integrity: String?
        public var counts: BackupCounts?
        public var tokenKeyMode: String?
        public var fileStore: BackupManifest.FileStoreCopy?
    }

    public var ok: Bool { problems.isEmpty }

    enum CodingKeys: String, CodingKey {
        case ok, path, problems, manifest, found
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok)
        try c.encode(path, forKey: .path)
        try c.encode(problems, forKey: .problems)
        try c.encodeIfPresent(manifest, forKey: .manifest)
        try c.encode(found, forKey: .found)
    }

    /// Reads `path` (nothing is written to it).
    public static func run(path: String) -> BackupVerification {
        var v = BackupVerification(path: path)
        v.check()
        return v
    }

    private mutating func check() {
        let fm = FileManager.default
        func inside(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            problems.append("\(path) does not exist")
            return
        }
        guard isDir.boolValue else {
            problems.append("\(path) is not a directory")
            return
        }
        if fm.fileExists(atPath: inside(BackupDirectory.incompleteMarkerName)) {
            problems.append("\(BackupDirectory.incompleteMarkerName) is present: the backup did not finish")
        }

        if let data = fm.contents(atPath: inside(BackupDirectory.manifestName)) {
            do {
                let m = try BackupManifest.decode(data)
                manifest = m
                if m.format != BackupDirectory.formatVersion {
                    problems.append("\(BackupDirectory.manifestName) has format \(m.format); this chatctl reads format \(BackupDirectory.formatVersion)")
                }
            } catch {
                problems.append("\(BackupDirectory.manifestName) cannot be read: \(Self.describe(error))")
            }
        } else {
            problems.append("\(BackupDirectory.manifestName) is missing: the backup did not finish, or was not written by chatctl backup")
        }

        checkTokenKey(inside(BackupDirectory.tokenKeyName))
        checkDatabase(inside(BackupDirectory.databaseName))
        checkFileStore(inside(BackupDirectory.fileStoreName))
    }

    private mutating func checkTokenKey(_ keyPath: String) {
        var st = stat()
        guard lstat(keyPath, &st) == 0 else {
            problems.append("\(BackupDirectory.tokenKeyName) is missing (a restore would end every session)")
            return
        }
        let mode = st.st_mode & 0o7777
        found.tokenKeyMode = String(mode, radix: 8)
        if st.st_mode & S_IFMT != S_IFREG {
            problems.append("\(BackupDirectory.tokenKeyName) is not a regular file")
        } else if st.st_size != 32 {
            problems.append("\(BackupDirectory.tokenKeyName) has \(st.st_size) bytes, not 32")
        }
        if mode != 0o600 {
            problems.append("\(BackupDirectory.tokenKeyName) has mode \(String(mode, radix: 8)), not 600")
        }
    }

    private mutating func checkDatabase(_ databasePath: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: databasePath),
            (attributes[.type] as? FileAttributeType) == .typeRegular
        else {
            problems.append("\(BackupDirectory.databaseName) is missing")
            return
        }
        let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        found.databaseBytes = bytes
        if let m = manifest, m.database.bytes != bytes {
            problems.append("\(BackupDirectory.databaseName) has \(bytes) bytes; the manifest says \(m.database.bytes)")
        }
        // Opening a WAL-mode database creates -wal and -shm files beside it:
        // look at its header first (bytes 18 and 19: 1 rollback journal, 2 WAL).
        let header = FileHandle(forReadingAtPath: databasePath).flatMap { try? $0.read(upToCount: 100) } ?? Data()
        guard header.count == 100, header.prefix(16) == Data("SQLite format 3\0".utf8) else {
            problems.append("\(BackupDirectory.databaseName) is not an SQLite database")
            return
        }
        guard header[18] == 1, header[19] == 1 else {
            problems.append("\(BackupDirectory.databaseName) is in WAL mode: not written by chatctl backup (not opened)")
            return
        }
        do {
            let (integrity, counts) = try BackupDatabase.check(at: databasePath)
            found.integrity = integrity
            found.counts = counts
            if integrity != "ok" {
                problems.append("integrity_check: \(integrity.split(separator: "\n").prefix(5).joined(separator: "; "))")
            }
            if let m = manifest {
                for ((name, recorded), (_, counted)) in zip(m.database.counts.named, counts.named) where recorded != counted {
                    problems.append("the database has \(counted) \(name); the manifest says \(recorded)")
                }
            }
        } catch {
            problems.append("\(BackupDirectory.databaseName) cannot be read: \(Self.describe(error))")
        }
    }

    private mutating func checkFileStore(_ storePath: String) {
        let (files, bytes) = Self.treeSize(storePath)
        found.fileStore = BackupManifest.FileStoreCopy(files: files, bytes: bytes)
        guard let m = manifest else { return }
        if files != m.fileStore.files || bytes != m.fileStore.bytes {
            problems.append(
                "\(BackupDirectory.fileStoreName)/ holds \(files) files (\(bytes) bytes); the manifest says \(m.fileStore.files) (\(m.fileStore.bytes) bytes)")
        }
    }

    /// (regular files, bytes) under `path`, links not followed; (0, 0) when it does not exist.
    static func treeSize(_ path: String) -> (Int64, Int64) {
        var files: Int64 = 0
        var bytes: Int64 = 0
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey]
        let enumerator = FileManager.default.enumerator(at: URL(fileURLWithPath: path), includingPropertiesForKeys: keys)
        while let url = enumerator?.nextObject() as? URL {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else { continue }
            files += 1
            bytes += Int64(values.fileSize ?? 0)
        }
        return (files, bytes)
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let c), .keyNotFound(_, let c), .typeMismatch(_, let c), .valueNotFound(_, let c):
                let at = c.codingPath.map(\.stringValue).joined(separator: ".")
                return at.isEmpty ? c.debugDescription : "\(at): \(c.debugDescription)"
            @unknown default:
                return "\(e)"
            }
        }
        return "\(error)"
    }
}
