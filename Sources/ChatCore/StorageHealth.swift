/// Whether chatd may write, decided from free disk space and from how the
/// last writes failed (spec §9, `unavailable`). A value type with no I/O: the
/// store feeds it measurements and failures and asks it before each write.
///
///     writable --free space < minimum, or "disk full"--> low space
///     low space --free space back at the minimum--> writable
///     any --I/O error (EIO, failed fsync)--> failed   (until a restart)
///
/// After a failed fsync the pages SQLite holds cannot be trusted (what the
/// kernel dropped is unknown), so a `failed` store stays failed: only a
/// restart, which reopens and recovers the database, clears it.
public struct StorageHealth: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case writable
        /// Free space under `minFreeBytes` (or a write found the disk full).
        case lowSpace(freeBytes: Int64)
        /// An I/O error: writes stop until an operator restarts chatd.
        case failed(reason: String)
    }

    /// What a write asks for.
    public enum Need: Sendable, Equatable {
        /// An ordinary write: refused unless writable.
        case ordinary
        /// A write that frees space (retention purge, file collection, audit
        /// pruning): allowed on low space, refused only when failed.
        case freesSpace
    }

    public private(set) var state: State = .writable
    public var minFreeBytes: Int64
    /// How long a client is told to wait before retrying on low space.
    public static let lowSpaceRetryMs: Int64 = 30_000
    /// ... and after an I/O failure (an operator must act first).
    public static let failedRetryMs: Int64 = 60_000

    public init(minFreeBytes: Int64) { self.minFreeBytes = minFreeBytes }

    // MARK: Events (each returns true when the state changed, to log it once)

    /// The free space of the storage was measured.
    @discardableResult
    public mutating func freeSpaceMeasured(_ bytes: Int64) -> Bool {
        switch state {
        case .failed:
            return false
        case .writable, .lowSpace:
            return transition(to: bytes < minFreeBytes ? .lowSpace(freeBytes: bytes) : .writable)
        }
    }

    /// A write failed because the disk is full (ENOSPC, SQLITE_FULL).
    @discardableResult
    public mutating func diskFullReported(freeBytes: Int64) -> Bool {
        if case .failed = state { return false }
        return transition(to: .lowSpace(freeBytes: freeBytes))
    }

    /// A write failed with an I/O error (EIO, SQLITE_IOERR, a failed fsync).
    @discardableResult
    public mutating func ioFailed(_ reason: String) -> Bool {
        if case .failed = state { return false }
        return transition(to: .failed(reason: reason))
    }

    // MARK: Decisions

    /// nil when the write may go ahead, else the failure to answer.
    public func refusal(for need: Need) -> ChatFailure? {
        switch (state, need) {
        case (.writable, _), (.lowSpace, .freesSpace):
            return nil
        case (.lowSpace(let free), .ordinary):
            return ChatFailure(
                .unavailable,
                "the server's storage is nearly full (\(free) bytes free, \(minFreeBytes) needed); writes are refused until space is freed",
                retryAfterMs: Self.lowSpaceRetryMs)
        case (.failed(let reason), _):
            return ChatFailure(
                .unavailable, "the server's storage failed (\(reason)); writes are stopped until an operator restarts chatd",
                retryAfterMs: Self.failedRetryMs)
        }
    }

    public var isWritable: Bool { state == .writable }

    /// One line for logs, chatctl and the systemd status.
    public var summary: String {
        switch state {
        case .writable: "writable"
        case .lowSpace(let free): "refusing writes: \(free) bytes free, below the minimum of \(minFreeBytes)"
        case .failed(let reason): "refusing writes: storage failed (\(reason)); restart chatd after checking the disk"
        }
    }

    private mutating func transition(to new: State) -> Bool {
        // Low space with a new free figure is the same state for logging.
        switch (state, new) {
        case (.lowSpace, .lowSpace):
            state = new
            return false
        default:
            guard state != new else { return false }
            state = new
            return true
        }
    }
}
