import ChatCore
import GRDB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Watches the storage a store writes to: free space (statvfs, cached,
/// refreshed by `refresh()` on a timer and after a failure) and the errors
/// writes meet. The decisions are `StorageHealth`'s; this only measures,
/// records and tells `onChange` once per change (for one log line, not one
/// per request).
public final class StorageMonitor: Sendable {
    private let health: Mutex<StorageHealth>
    /// Free bytes for unprivileged writers on the filesystem of `path`; nil
    /// when unknown (in-memory stores, tests).
    private let probe: @Sendable () -> Int64?
    private let observer = Mutex<Observer?>(nil)
    /// Monotonic time of the last measurement, so writes re-measure at most
    /// every `remeasureNs` (a disk filling fast is seen before the timer's turn).
    private let measuredAtNs = Atomic<UInt64>(0)
    static let remeasureNs: UInt64 = 250_000_000

    final class Observer: Sendable {
        let body: @Sendable (StorageHealth) -> Void
        init(_ body: @escaping @Sendable (StorageHealth) -> Void) { self.body = body }
    }

    public init(minFreeBytes: Int64 = 0, probe: @escaping @Sendable () -> Int64?) {
        health = Mutex(StorageHealth(minFreeBytes: minFreeBytes))
        self.probe = probe
    }

    /// statvfs of the directory holding `path`.
    public convenience init(directory: String, minFreeBytes: Int64 = 0) {
        self.init(minFreeBytes: minFreeBytes) { Self.freeBytes(atPath: directory) }
    }

    public static func freeBytes(atPath path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) &* Int64(s.f_frsize)
    }

    public var current: StorageHealth { health.withLock { $0 } }

    /// Free bytes now (a statvfs call), nil when unknown.
    public var freeBytes: Int64? { probe() }

    /// Called with the new health after each change of state.
    public func onChange(_ body: @escaping @Sendable (StorageHealth) -> Void) { observer.withLock { $0 = Observer(body) } }

    public func setMinFreeBytes(_ bytes: Int64) {
        health.withLock { $0.minFreeBytes = bytes }
        refresh()
    }

    /// Measures the free space now.
    public func refresh() {
        measuredAtNs.store(Self.nowNs(), ordering: .relaxed)
        guard let free = probe() else { return }
        update { $0.freeSpaceMeasured(free) }
    }

    /// Throws the answer for a write that may not go ahead. Measures the free
    /// space first when the last measurement is older than `remeasureNs`.
    public func admit(_ need: StorageHealth.Need) throws(ChatFailure) {
        let now = Self.nowNs()
        let last = measuredAtNs.load(ordering: .relaxed)
        if now &- last > Self.remeasureNs,
            measuredAtNs.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged,
            let free = probe()
        {
            update { $0.freeSpaceMeasured(free) }
        }
        if let refusal = health.withLock({ $0.refusal(for: need) }) { throw refusal }
    }

    private static func nowNs() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    /// A write found the disk full (ENOSPC, SQLITE_FULL).
    public func diskFull() {
        let free = probe() ?? 0
        update { $0.diskFullReported(freeBytes: free) }
    }

    /// A write met an I/O error (EIO, SQLITE_IOERR, a failed fsync).
    public func ioFailed(_ reason: String) {
        update { $0.ioFailed(reason) }
    }

    /// Records what a failed database operation says about the storage and
    /// returns the failure to answer, or nil when it is not a storage fault.
    func classify(_ error: DatabaseError) -> ChatFailure? {
        switch error.resultCode {
        case .SQLITE_FULL:
            diskFull()
        case .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB:
            ioFailed("SQLite \(error.resultCode): \(error.message ?? "")")
        default:
            return nil
        }
        return current.refusal(for: .ordinary)
            ?? ChatFailure(.unavailable, "the server's storage refused the write; retry later", retryAfterMs: StorageHealth.lowSpaceRetryMs)
    }

    private func update(_ event: (inout StorageHealth) -> Bool) {
        let (changed, now) = health.withLock { h -> (Bool, StorageHealth) in (event(&h), h) }
        if changed, let observer = observer.withLock({ $0 }) { observer.body(now) }
    }
}
