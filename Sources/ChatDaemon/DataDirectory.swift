import ChatCrypto
import ChatStore
import Foundation

/// The data directory: created owner-only; holds the token key.
enum DataDirectory {
    static func prepare(_ path: String) throws {
        if let problem = problem(creating: path) { throw DaemonError(problem) }
    }

    /// Makes `path` (and missing parents, owner-only) unless it is a
    /// writable directory already; nil on success, else why not in plain words.
    /// With `create` false nothing is made: the nearest existing ancestor
    /// must be a writable directory (`chatd --check-config`).
    static func problem(
        creating path: String, key: String = "storage.data_dir", target: String? = nil, create: Bool = true
    ) -> String? {
        let what = target == nil ? "\(key) \(path)" : "\(path) (on the way to \(key) \(target ?? ""))"
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { return "\(what) exists and is not a directory" }
            guard access(path, W_OK | X_OK) == 0 else {
                return "\(what) is not writable by chatd (uid \(getuid())): \(String(cString: strerror(errno))); "
                    + "chown it to chatd's user or choose another directory"
            }
            return nil
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path,
            let problem = problem(creating: parent, key: key, target: target ?? path, create: create)
        {
            return problem
        }
        guard create else { return nil }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            return "cannot create \(what): \(String(cString: strerror(errno))); "
                + "create it as root (owned by chatd's user, mode 0700) or choose another directory"
        }
        return nil
    }

    /// A backup that did not finish (its staging directory, restored by
    /// mistake, or a partial copy of one) holds the marker; a backup whose
    /// database went missing holds the manifest alone. Starting on either
    /// would create an empty database and a new token key, silently.
    static func refuseUnfinishedBackup(_ path: String) throws(DataDirectoryRefused) {
        let fm = FileManager.default
        let marker = (path as NSString).appendingPathComponent(BackupDirectory.incompleteMarkerName)
        if fm.fileExists(atPath: marker) {
            throw DataDirectoryRefused(
                "data_dir \(path) holds \(BackupDirectory.incompleteMarkerName): it is a backup that did not finish (chatctl backup was interrupted), its database may be missing or partial; restore a complete backup instead (check one with chatctl backup --verify PATH)"
            )
        }
        let manifest = (path as NSString).appendingPathComponent(BackupDirectory.manifestName)
        let database = (path as NSString).appendingPathComponent(BackupDirectory.databaseName)
        if fm.fileExists(atPath: manifest), !fm.fileExists(atPath: database) {
            throw DataDirectoryRefused(
                "data_dir \(path) holds a backup manifest (\(BackupDirectory.manifestName)) but no \(BackupDirectory.databaseName): the backup's database is missing and chatd would start on an empty one; restore the whole backup directory (check it with chatctl backup --verify PATH)"
            )
        }
    }

    /// (regular files, bytes) under `path`, walked on a dispatch thread; (0, 0) when it does not exist.
    static func treeSize(_ path: String) async -> (Int, Int64) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var files = 0
                var bytes: Int64 = 0
                let enumerator = FileManager.default.enumerator(
                    at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
                while let url = enumerator?.nextObject() as? URL {
                    guard let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]),
                        values.isRegularFile == true
                    else { continue }
                    files += 1
                    bytes += Int64(values.fileSize ?? 0)
                }
                continuation.resume(returning: (files, bytes))
            }
        }
    }

    /// Reads the 32-byte token key, creating it (mode 0600) on first start.
    static func tokenKey(in dir: String) throws -> [UInt8] {
        let path = (dir as NSString).appendingPathComponent("token.key")
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else {
                throw DaemonError("\(path) must hold exactly 32 bytes (it has \(data.count)); restore it or remove it to end all sessions")
            }
            return Array(data)
        }
        let key = Sodium.randomBytes(32)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw DaemonError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = key.withUnsafeBytes { write(fd, $0.baseAddress, 32) }
        guard written == 32, fsync(fd) == 0 else { throw DaemonError("cannot write \(path)") }
        return key
    }
}

/// The data directory (or the PostgreSQL database) is one chatd must not
/// start on (chatd exits 78, EX_CONFIG, as for a bad config file): it would
/// serve an empty or partial database as if it were the real one, or one
/// whose schema a newer chatd has changed.
public struct DataDirectoryRefused: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
