import Synchronization

/// Wall-clock time, injected so that expiry, throttling and timeouts are
/// tested by moving a manual clock instead of sleeping.
public protocol WallClock: Sendable {
    /// Unix epoch milliseconds.
    func nowMs() -> Millis
}

/// A clock tests set and advance by hand.
public final class ManualClock: WallClock {
    private let value: Mutex<Millis>

    public init(_ start: Millis = 1_700_000_000_000) { value = Mutex(start) }

    public func nowMs() -> Millis { value.withLock { $0 } }

    public func advance(byMs delta: Millis) { value.withLock { $0 += delta } }
}
