import ChatCore
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// File bytes on disk, under `root` (by default `<data_dir>/files`):
///
///     contents/ab/abcdef…   one file per distinct content, named by the hex
///                           BLAKE2b-256 of its bytes (immutable once there)
///     uploads/<id>.part     an upload being received
///
/// A chunk is written with pwrite and fdatasync before the call returns.
/// Content is placed by fsync, rename into place, fsync of the directory: a
/// crash leaves either no content file or a complete one. All I/O runs on
/// a few dispatch queues, never on an event loop.
public final class DiskBlobStore: BlobStorage {
    public let root: String
    let makeHasher: @Sendable () -> any ContentHasher
    private let queues: [DispatchQueue]
    private let next = Atomic<Int>(0)
    /// Free space of the file store's filesystem and the faults its writes met.
    public let storage: StorageMonitor
    /// Uploads whose partial file's directory entry this process has synced.
    /// Not "the file was created by this write": a first chunk that created
    /// the file and then failed (a full disk) left it there, and the retry
    /// would not sync the entry.
    private let syncedEntries = Mutex<Set<String>>([])
    /// Directory syncs of partial files' entries (tests).
    let entrySyncs = Atomic<Int>(0)

    public init(root: String, makeHasher: @escaping @Sendable () -> any ContentHasher, threads: Int = 4) throws {
        self.root = root
        self.makeHasher = makeHasher
        storage = StorageMonitor(directory: root)
        queues = (0..<max(1, threads)).map { DispatchQueue(label: "chatd.files.\($0)") }
        for dir in [root, contentsDir, uploadsDir] {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    var contentsDir: String { root + "/contents" }
    var uploadsDir: String { root + "/uploads" }

    func partialPath(_ id: String) -> String { uploadsDir + "/" + id + ".part" }

    func contentPath(_ hash: [UInt8]) -> (dir: String, path: String) {
        let hex = Self.hex(hash)
        let dir = contentsDir + "/" + String(hex.prefix(2))
        return (dir, dir + "/" + hex)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func unhex(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 64 else { return nil }
        var out: [UInt8] = []
        var chars = Array(text.utf8)[...]
        while let a = chars.popFirst(), let b = chars.popFirst() {
            guard let hi = nibble(a), let lo = nibble(b) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        default: nil
        }
    }

    /// Runs blocking I/O on one of the file queues.
    func io<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let queue = queues[next.add(1, ordering: .relaxed).newValue % queues.count]
        return try await withCheckedThrowingContinuation { c in
            queue.async { c.resume(with: Result { try body() }) }
        }
    }

    struct IOError: Error, CustomStringConvertible {
        var description: String
        var code: Int32
        init(_ what: String, _ path: String) {
            code = errno
            description = "\(what) \(path): \(String(cString: strerror(code)))"
        }
    }

    /// Runs a write to the file store: refused while its storage is low or
    /// failed; a full disk or an I/O error becomes `unavailable` (retryable)
    /// and changes the storage's health.
    func storing<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try storage.admit(.ordinary)
        do {
            return try await io(body)
        } catch let error as IOError {
            switch error.code {
            case ENOSPC, EDQUOT:
                storage.diskFull()
            case EIO, EROFS:
                storage.ioFailed(error.description)
            default:
                throw error
            }
            throw storage.current.refusal(for: .ordinary)
                ?? ChatFailure(.unavailable, "the file store refused the write; retry later", retryAfterMs: StorageHealth.lowSpaceRetryMs)
        }
    }

    public func admitWrite() throws {
        try storage.admit(.ordinary)
    }

    static func withFile<T>(_ path: String, _ flags: Int32, _ body: (Int32) throws -> T) throws -> T {
        let fd = open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw IOError("open", path) }
        defer { close(fd) }
        return try body(fd)
    }

    static func readFully(_ fd: Int32, offset: Int64, count: Int, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                return pread(fd, base + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw IOError(n == 0 ? "short read of" : "read", path) }
            done += n
        }
        return out
    }

    // MARK: BlobStorage

    public func writePartial(_ upload: String, offset: Int64, data: [UInt8]) async throws {
        let path = partialPath(upload)
        let dir = uploadsDir
        let synced = syncedEntries.withLock { $0.contains(upload) }
        try await storing { [self] in
            try Self.withFile(path, O_WRONLY | O_CREAT) { fd in
                var done = 0
                while done < data.count {
                    let n = data.withUnsafeBytes { buf -> Int in
                        guard let base = buf.baseAddress else { return 0 }
                        return pwrite(fd, base + done, data.count - done, off_t(offset) + off_t(done))
                    }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw IOError("write", path) }
                    done += n
                }
                guard fdatasync(fd) == 0 else { throw IOError("fdatasync", path) }
            }
            // The file's directory entry must be durable too (once per upload).
            if !synced {
                try Self.syncDirectory(dir)
                entrySyncs.add(1, ordering: .relaxed)
                syncedEntries.withLock { _ = $0.insert(upload) }
            }
        }
    }

    public func readPartial(_ upload: String, offset: Int64, count: Int) async throws -> [UInt8] {
        let path = partialPath(upload)
        return try await io { try Self.withFile(path, O_RDONLY) { try Self.readFully($0, offset: offset, count: count, path: path) } }
    }

    public func hashPartial(_ upload: String, size: Int64) async throws -> [UInt8] {
        let path = partialPath(upload)
        let makeHasher = self.makeHasher
        return try await io {
            try Self.withFile(path, O_RDONLY) { fd in
                let hasher = makeHasher()
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                var offset: Int64 = 0
                while offset < size {
                    let want = Int(min(Int64(buffer.count), size - offset))
                    let n = buffer.withUnsafeMutableBytes { buf -> Int in
                        guard let base = buf.baseAddress else { return 0 }
                        return pread(fd, base, want, off_t(offset))
                    }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw IOError(n == 0 ? "short read of" : "read", path) }
                    buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    offset += Int64(n)
                }
                return hasher.finish()
            }
        }
    }

    public func place(_ upload: String, hash: [UInt8]) async throws {
        let partial = partialPath(upload)
        let (dir, path) = contentPath(hash)
        let contents = contentsDir
        try await storing {
            if FileManager.default.fileExists(atPath: path) { return }  // stored already: deduplicated
            try Self.withFile(partial, O_RDONLY) { fd in
                guard fsync(fd) == 0 else { throw IOError("fsync", partial) }
            }
            if mkdir(dir, 0o700) == 0 {
                try Self.syncDirectory(contents)
            } else if errno != EEXIST {
                throw IOError("mkdir", dir)
            }
            // A second name for the partial file: the upload stays whole until
            // the database has recorded the file; the caller then removes it.
            guard chmod(partial, 0o400) == 0, link(partial, path) == 0 || errno == EEXIST else { throw IOError("link to", path) }
            try Self.syncDirectory(dir)
        }
    }

    static func syncDirectory(_ dir: String) throws {
        try withFile(dir, O_RDONLY | O_DIRECTORY) { fd in
            guard fsync(fd) == 0 else { throw IOError("fsync", dir) }
        }
    }

    public func removePartial(_ upload: String) async throws {
        let path = partialPath(upload)
        try await io {
            guard unlink(path) == 0 || errno == ENOENT else { throw IOError("unlink", path) }
        }
        syncedEntries.withLock { _ = $0.remove(upload) }
    }

    public func readContent(_ hash: [UInt8], offset: Int64, count: Int) async throws -> [UInt8] {
        let path = contentPath(hash).path
        return try await io { try Self.withFile(path, O_RDONLY) { try Self.readFully($0, offset: offset, count: count, path: path) } }
    }

    public func removeContent(_ hash: [UInt8]) async throws {
        let path = contentPath(hash).path
        try await io {
            guard unlink(path) == 0 || errno == ENOENT else { throw IOError("unlink", path) }
        }
    }

    static func modified(_ path: String) -> Millis? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
    }

    public func listContents(modifiedBefore cutoff: Millis) async throws -> [[UInt8]] {
        let root = contentsDir
        return try await io {
            let fm = FileManager.default
            var out: [[UInt8]] = []
            for dir in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
                for name in (try? fm.contentsOfDirectory(atPath: root + "/" + dir)) ?? [] {
                    guard let hash = Self.unhex(name), let at = Self.modified(root + "/" + dir + "/" + name), at < cutoff
                    else { continue }
                    out.append(hash)
                }
            }
            return out
        }
    }

    public func listPartials(modifiedBefore cutoff: Millis) async throws -> [String] {
        let root = uploadsDir
        return try await io {
            ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap { name in
                guard name.hasSuffix(".part"), let at = Self.modified(root + "/" + name), at < cutoff else { return nil }
                return String(name.dropLast(5))
            }
        }
    }

    public func diskBytes() async throws -> Int64 {
        let root = self.root
        return try await io {
            var total: Int64 = 0
            let walker = FileManager.default.enumerator(atPath: root)
            while let name = walker?.nextObject() as? String {
                var info = stat()
                if stat(root + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG { total += Int64(info.st_size) }
            }
            return total
        }
    }
}
