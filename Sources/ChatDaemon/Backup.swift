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
///
/// A backup is complete or absent: it is written into a staging directory
/// beside PATH that holds `BACKUP-INCOMPLETE` from its first moment, then
/// gets `backup.json` (the manifest, counted in the copy), loses the marker
/// and is renamed to PATH. A backup killed midway leaves PATH as it was and
/// a staging directory chatd refuses to start on; killed between the
/// marker's removal and the rename, it leaves the complete backup (it
/// verifies) under the staging name.
enum Backup {
    static let databaseName = BackupDirectory.databaseName
    static let tokenKeyName = BackupDirectory.tokenKeyName
    static let fileStoreName = BackupDirectory.fileStoreName

    /// What to do with the destination, decided before anything is written.
    enum Destination: Equatable {
        case create
        case useEmpty
    }

    /// Where the backup is written until it is complete.
    enum Staging: Equatable {
        /// A new directory `.<name>.partial-<random>` beside PATH, renamed to
        /// PATH at the end (onto it when PATH is an empty directory).
        case sibling(String)
        /// PATH itself, when it is an empty directory a rename cannot replace:
        /// a mount point, a symbolic link to a directory, or one whose parent
        /// chatd cannot write. A backup killed midway then leaves PATH holding
        /// the marker.
        case inPlace
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

    /// Room a backup needs beyond what it copies (manifest, directories).
    static let freeSpaceMargin: Int64 = 16 << 20

    /// Refuses, before anything is written, a backup whose target filesystem
    /// has less free space than the database (with its WAL) and the file
    /// store take: it would fail midway, after filling that disk.
    static func checkFreeSpace(for path: String, dataDir: String, fileStoreBytes: Int64) throws(ChatFailure) {
        let database = (dataDir as NSString).appendingPathComponent(databaseName)
        var needed = freeSpaceMargin
        for file in [database, database + "-wal"] {
            needed += ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        needed += fileStoreBytes
        let target = FileManager.default.fileExists(atPath: path) ? path : (path as NSString).deletingLastPathComponent
        var filesystem = statvfs()
        guard statvfs(target, &filesystem) == 0 else { return }
        if filesystem.f_blocks == 0 {
            // /proc, /sys and the like hold no files: the path is wrong, not the disk full.
            throw ChatFailure.invalid("path", "\(target) is on a file system that stores no files (such as /proc)")
        }
        let free = Int64(filesystem.f_bavail) &* Int64(filesystem.f_frsize)
        if free < needed {
            throw ChatFailure(
                .unavailable,
                "not enough free space for the backup at \(target): about \(needed) bytes needed, \(free) free")
        }
    }

    /// True when `path` is `directory` or inside it (symbolic links resolved).
    static func isInside(_ path: String, _ directory: String) -> Bool {
        let p = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        let d = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
        return p == d || p.hasPrefix(d.hasSuffix("/") ? d : d + "/")
    }

    /// `fileStore`: the file store's directory (copied as `files/` when it exists).
    /// `inPlace`: stage in PATH even when a sibling would do (tests).
    static func run(
        store: SQLiteStore, dataDir: String, fileStore: String, to path: String, chatdVersion: String,
        clock: any WallClock, inPlace: Bool = false
    ) async throws -> BackupSummary {
        let started = ContinuousClock.now
        let createdAtMs = clock.nowMs()
        let path = (path as NSString).standardizingPath
        let destination = try check(path)
        // A backup inside what it copies would copy itself.
        guard !isInside(path, dataDir), !isInside(path, fileStore) else {
            throw ChatFailure.invalid("path", "the backup path must be outside the data directory and the file store")
        }
        let (_, fileStoreBytes) = await DataDirectory.treeSize(fileStore)
        try checkFreeSpace(for: path, dataDir: dataDir, fileStoreBytes: fileStoreBytes)
        let staging = try await onDispatchQueue { try stage(path, destination, inPlace: inPlace) }
        let directory = staging.directory(path)
        do {
            let (databaseBytes, counts, files, fileBytes) = try await copyAll(
                store: store, dataDir: dataDir, fileStore: fileStore, to: directory)
            let manifest = BackupManifest(
                chatdVersion: chatdVersion, createdAtMs: createdAtMs, sourceDataDir: dataDir,
                database: .init(bytes: databaseBytes, counts: counts),
                fileStore: .init(files: Int64(files), bytes: fileBytes))
            try await onDispatchQueue { try finish(staging, at: path, manifest: manifest) }
            let elapsed = ContinuousClock.now - started
            return BackupSummary(
                path: path, databaseBytes: databaseBytes, files: files, fileBytes: fileBytes,
                tookMs: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000,
                users: counts.users, conversations: counts.conversations, events: counts.events, messages: counts.messages)
        } catch {
            // A failed backup leaves the destination as it found it, so a retry can use the same path.
            switch staging {
            case .sibling(let temporary):
                try? FileManager.default.removeItem(atPath: temporary)
            case .inPlace:
                for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                    try? FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(name))
                }
            }
            throw error
        }
    }

    /// Creates the staging directory holding the marker, flushed before
    /// anything else is written.
    static func stage(_ path: String, _ destination: Destination, inPlace: Bool) throws -> Staging {
        let parent = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        var staging = Staging.inPlace
        if destination == .create || (!inPlace && renameCanReplace(path)) {
            // Names stay under NAME_MAX (255 bytes) whatever PATH's last component is.
            let prefix = String(decoding: name.utf8.prefix(200), as: UTF8.self)
            let temporary = (parent as NSString).appendingPathComponent(
                ".\(prefix).partial-\(hex8(UInt32.random(in: 0...UInt32.max)))")
            if mkdir(temporary, 0o700) == 0 {
                staging = .sibling(temporary)
            } else if destination == .create {
                // Not a conflict with another backup: the path cannot be written (permissions, a read-only or virtual file system).
                throw ChatFailure.invalid("path", "chatd cannot create a directory in \(parent): \(String(cString: strerror(errno)))")
            }
            // An empty PATH whose parent chatd cannot write is staged in place.
        }
        let directory = staging.directory(path)
        do {
            try writeNew(
                (directory as NSString).appendingPathComponent(BackupDirectory.incompleteMarkerName),
                Data(BackupDirectory.incompleteMarkerText.utf8))
            try sync(directory)
        } catch {
            if case .sibling(let temporary) = staging { try? FileManager.default.removeItem(atPath: temporary) }
            throw error
        }
        return staging
    }

    /// Writes the manifest, removes the marker and puts the backup at `path`.
    static func finish(_ staging: Staging, at path: String, manifest: BackupManifest) throws {
        let directory = staging.directory(path)
        try writeNew((directory as NSString).appendingPathComponent(BackupDirectory.manifestName), try manifest.encoded())
        let marker = (directory as NSString).appendingPathComponent(BackupDirectory.incompleteMarkerName)
        guard unlink(marker) == 0 else {
            throw ChatFailure(.internal, "cannot remove \(marker): \(String(cString: strerror(errno)))")
        }
        try sync(directory)
        if case .sibling(let temporary) = staging {
            // An empty directory the backup replaces keeps its permission bits.
            var st = stat()
            if stat(path, &st) == 0 { chmod(temporary, st.st_mode & 0o7777) }
            guard rename(temporary, path) == 0 else {
                let reason = errno
                switch reason {
                case ENOTEMPTY, EEXIST, ENOTDIR:
                    throw ChatFailure(.conflict, "\(path) was created or filled while the backup ran")
                default:
                    throw ChatFailure(.internal, "cannot rename \(temporary) to \(path): \(String(cString: strerror(reason)))")
                }
            }
        }
        // Failing here, after the rename, leaves the complete backup at `path`;
        // the answer says its entry may not be on disk yet.
        try sync((path as NSString).deletingLastPathComponent)
    }

    static func hex8(_ n: UInt32) -> String {
        let digits = String(n, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// True when a directory renamed onto `path` replaces it: a directory
    /// itself (not a symbolic link to one) on its parent's file system (not
    /// a mount point).
    static func renameCanReplace(_ path: String) -> Bool {
        var st = stat()
        var parent = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
            && stat((path as NSString).deletingLastPathComponent, &parent) == 0 && st.st_dev == parent.st_dev
    }

    /// (database bytes, counts of the copied database, files, file bytes).
    private static func copyAll(
        store: SQLiteStore, dataDir: String, fileStore: String, to path: String
    ) async throws -> (Int64, BackupCounts, Int, Int64) {
        let databasePath = (path as NSString).appendingPathComponent(databaseName)
        let databaseBytes = try await store.backup(toFile: databasePath)
        // Blocking file copies run on a dispatch thread, not the concurrency pool;
        // everything is flushed to disk before the backup is reported done.
        return try await onDispatchQueue { () throws -> (Int64, BackupCounts, Int, Int64) in
            try sync(databasePath)
            // The manifest counts what the copy holds, not the live database.
            let counts = try BackupDatabase.counts(at: databasePath)
            try copy(
                (dataDir as NSString).appendingPathComponent(tokenKeyName), to: (path as NSString).appendingPathComponent(tokenKeyName))
            var copied = (0, Int64(0))
            if FileManager.default.fileExists(atPath: fileStore) {
                copied = try copyTree(fileStore, to: (path as NSString).appendingPathComponent(fileStoreName))
            }
            try sync(path)
            return (databaseBytes, counts, copied.0, copied.1)
        }
    }

    /// Creates `path` (it must not exist), owner-only, writes `data` and flushes it.
    static func writeNew(_ path: String, _ data: Data) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ChatFailure(.internal, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count, fsync(fd) == 0 else { throw ChatFailure(.internal, "cannot write \(path)") }
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

extension Backup.Staging {
    /// The directory being written.
    func directory(_ path: String) -> String {
        switch self {
        case .sibling(let temporary): temporary
        case .inPlace: path
        }
    }
}
