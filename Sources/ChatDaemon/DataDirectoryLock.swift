import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One chatd per data directory (DESIGN.md §6): an exclusive `flock` on
/// `<data_dir>/chatd.lock`, taken before anything else in the directory is
/// opened and held until `release()` (the end of shutdown) or the end of the
/// process. The kernel drops the lock with the descriptor, so a crash leaves
/// no stale lock behind. The file holds the holder's pid as text, for humans
/// and for the refusal message; it is emptied on release but never removed
/// (removing it would let two processes lock two different files).
public final class DataDirectoryLock: Sendable {
    public static let fileName = "chatd.lock"
    /// How long to wait on a lock whose file holds no pid: 20 × 100 ms.
    static let emptyLockWaits = 20
    static let emptyLockWaitMicros: useconds_t = 100_000

    public let path: String
    /// The open lock file; nil once released.
    private let descriptor: Mutex<CInt?>

    private init(path: String, descriptor: CInt) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    /// Takes the lock of `dataDir` (which must exist), or throws
    /// `InstanceConflictError` naming the lock file and the holder's pid.
    public static func acquire(dataDir: String) throws -> DataDirectoryLock {
        let path = (dataDir as NSString).appendingPathComponent(fileName)
        // O_CLOEXEC: a child process must not inherit (and keep) the lock.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DaemonError("cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        // An empty file with the lock held means its holder is between taking
        // the lock and writing its pid, or between emptying the file and
        // closing it (or a child it forked has not reached exec yet, still
        // holding a copy of the descriptor): a moment settles it either way.
        var waits = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            let holder = holderPID(fd)
            if failure == EINTR { continue }
            if failure == EWOULDBLOCK && holder == nil && waits < emptyLockWaits {
                waits += 1
                usleep(emptyLockWaitMicros)
                continue
            }
            close(fd)
            if failure == EWOULDBLOCK {
                throw InstanceConflictError(.dataDirectory(dataDir: dataDir, lockFile: path, holderPID: holder))
            }
            throw DaemonError("cannot lock \(path): \(String(cString: strerror(failure)))")
        }
        // The previous holder emptied the file on release, unless it crashed.
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(fd, 0) == 0, text.withUnsafeBytes({ pwrite(fd, $0.baseAddress, $0.count, 0) }) == text.count else {
            let failure = String(cString: strerror(errno))
            close(fd)
            throw DaemonError("cannot write the pid into \(path): \(failure)")
        }
        return DataDirectoryLock(path: path, descriptor: fd)
    }

    /// Empties the file and drops the lock. Idempotent.
    public func release() {
        descriptor.withLock { fd in
            guard let held = fd else { return }
            _ = ftruncate(held, 0)
            close(held)
            fd = nil
        }
    }

    deinit { release() }

    /// The pid written in the lock file, when it holds one (the holder may
    /// not have written it yet).
    private static func holderPID(_ fd: CInt) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self)
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Another process holds what this chatd needs: the data directory (its lock
/// file) or the control socket (something listens on it). `chatd` exits with
/// status 73 (EX_CANTCREAT) on it, having changed nothing.
public struct InstanceConflictError: Error, CustomStringConvertible {
    public enum Resource: Sendable, Equatable {
        case dataDirectory(dataDir: String, lockFile: String, holderPID: Int32?)
        case controlSocket(path: String, reason: String)
    }

    public let resource: Resource

    public init(_ resource: Resource) { self.resource = resource }

    public var description: String {
        switch resource {
        case .dataDirectory(let dataDir, let lockFile, let pid):
            let holder = pid.map { "pid \($0)" } ?? "a process that has not written its pid yet"
            return "data directory \(dataDir) is in use by another chatd: \(holder) holds the lock on \(lockFile)"
        case .controlSocket(let path, let reason):
            return "control socket \(path) is in use (\(reason)); stop the process using it or set [control] socket to another path"
        }
    }
}
