import ChatCore
import ChatServer
import ChatStore
import Foundation

/// `chatctl backup PATH`: an online copy of everything a restore needs —
/// the database (one consistent snapshot), the token key (so that sessions
/// survive a restore) and the file store (`<data_dir>/files`), into a new or
/// empty directory. The database is copied first: files are immutable once
/// in place, so every file the snapshot references is still there to copy
/// (unless it was collected in between, which needs its last reference to
/// go after the snapshot).
enum Backup {
    static let databaseName = "chatd.sqlite3"
    static let tokenKeyName = "token.key"
    static let fileStoreName = "files"

    /// What to do with the destination, decided before anything is written.
    enum Destination: Equatable {
        case create
        case useEmpty
    }

    /// `path` must be absolute, and either not exist (its parent must) or
    /// be an empty directory.
    static func check(_ path: String, fileManager: FileManager = .default) throws(ChatFailure) -> Destination {
        guard path.hasPrefix("/") else { throw ChatFailure.invalid("path", "the backup path must be absolute") }
        guard path.utf8.count <= 4096, !path.utf8.contains(0) else { throw ChatFailure.invalid("path", "not a usable path") }
        var isDir: ObjCBool = false
        if fileManager.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ChatFailure(.conflict, "\(path) exists and is not a directory") }
            let entries = (try? fileManager.contentsOfDirectory(atPath: path)) ?? ["?"]
            guard entries.isEmpty else { throw ChatFailure(.conflict, "\(path) is not empty") }
            return .useEmpty
        }
        let parent = (path as NSString).deletingLastPathComponent
        guard fileManager.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            throw ChatFailure.invalid("path", "the parent directory \(parent) does not exist")
        }
        return .create
    }

    /// True when `path` is `directory` or inside it (symbolic links resolved).
    static func isInside(_ path: String, _ directory: String) -> Bool {
        let p = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        let d = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
        return p == d || p.hasPrefix(d.hasSuffix("/") ? d : d + "/")
    }

    /// `fileStore`: the file store's directory (copied as `files/` when it exists).
    static func run(store: SQLiteStore, dataDir: String, fileStore: String, to path: String) async throws -> BackupSummary {
        let started = ContinuousClock.now
        let fm = FileManager.default
        let path = (path as NSString).standardizingPath
        let destination = try check(path, fileManager: fm)
        // A backup inside what it copies would copy itself.
        guard !isInside(path, dataDir), !isInside(path, fileStore) else {
            throw ChatFailure.invalid("path", "the backup path must be outside the data directory and the file store")
        }
        if destination == .create {
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ChatFailure(.conflict, "cannot create \(path): \(error.localizedDescription)")
            }
        }
        do {
            return try await copyAll(store: store, dataDir: dataDir, fileStore: fileStore, to: path, started: started)
        } catch {
            // A failed backup leaves the destination as it found it, so a retry can use the same path.
            if destination == .create {
                try? fm.removeItem(atPath: path)
            } else {
                for name in (try? fm.contentsOfDirectory(atPath: path)) ?? [] {
                    try? fm.removeItem(atPath: (path as NSString).appendingPathComponent(name))
                }
            }
            throw error
        }
    }

    private static func copyAll(
        store: SQLiteStore, dataDir: String, fileStore: String, to path: String, started: ContinuousClock.Instant
    ) async throws -> BackupSummary {
        let databaseBytes = try await store.backup(toFile: (path as NSString).appendingPathComponent(databaseName))
        // Blocking file copies run on a dispatch thread, not the concurrency pool;
        // everything is flushed to disk before the backup is reported done.
        let (files, fileBytes) = try await onDispatchQueue { () throws -> (Int, Int64) in
            try copy(
                (dataDir as NSString).appendingPathComponent(tokenKeyName), to: (path as NSString).appendingPathComponent(tokenKeyName))
            var copied = (0, Int64(0))
            if FileManager.default.fileExists(atPath: fileStore) {
                copied = try copyTree(fileStore, to: (path as NSString).appendingPathComponent(fileStoreName))
            }
            try sync(path)
            try sync((path as NSString).deletingLastPathComponent)
            return copied
        }
        let elapsed = ContinuousClock.now - started
        return BackupSummary(
            path: path, databaseBytes: databaseBytes, files: files, fileBytes: fileBytes,
            tookMs: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    /// Copies one file, keeping it owner-only, and flushes it.
    static func copy(_ source: String, to destination: String) throws {
        let fm = FileManager.default
        try fm.copyItem(atPath: source, toPath: destination)
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: destination)
        try sync(destination)
    }

    /// fsync of a file or directory.
    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ChatFailure(.internal, "cannot open \(path) to flush it") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ChatFailure(.internal, "cannot flush \(path)") }
    }

    static func onDispatchQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async { c.resume(with: Result { try body() }) }
        }
    }

    /// Copies a directory tree (regular files and directories; links are not
    /// followed). Returns (files, bytes).
    static func copyTree(_ source: String, to destination: String) throws -> (Int, Int64) {
        let fm = FileManager.default
        try fm.createDirectory(atPath: destination, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        var files = 0
        var bytes: Int64 = 0
        for name in try fm.contentsOfDirectory(atPath: source).sorted() {
            let from = (source as NSString).appendingPathComponent(name)
            let to = (destination as NSString).appendingPathComponent(name)
            // Partial uploads can be cancelled, finished or expire meanwhile: a
            // file that has gone is skipped.
            guard let attributes = try? fm.attributesOfItem(atPath: from) else {
                if fm.fileExists(atPath: from) { throw ChatFailure(.internal, "cannot read \(from)") }
                continue
            }
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                let (f, b) = try copyTree(from, to: to)
                files += f
                bytes += b
            case .typeRegular?:
                do {
                    try copy(from, to: to)
                } catch where !fm.fileExists(atPath: from) {
                    continue  // a temporary file that went away meanwhile
                }
                files += 1
                bytes += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            default:
                continue
            }
        }
        try sync(destination)
        return (files, bytes)
    }
}
