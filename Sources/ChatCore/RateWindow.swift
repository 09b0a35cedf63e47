/// Counts per whole second over the last minute, for "messages per second
/// over the last N seconds" (chatctl stats). A value type with time passed
/// in: tested without a clock.
public struct RateWindow: Sendable, Equatable {
    /// Seconds kept (the longest window `rate` can answer for).
    public static let capacity = 64

    private var seconds = [Int64](repeating: -1, count: capacity)
    private var counts = [Int64](repeating: 0, count: capacity)
    public private(set) var total: Int64 = 0

    public init() {}

    public mutating func record(_ count: Int, atMs now: Millis) {
        guard count > 0 else { return }
        let second = now / 1000
        let slot = Int(second % Int64(Self.capacity))
        if seconds[slot] != second {
            seconds[slot] = second
            counts[slot] = 0
        }
        counts[slot] += Int64(count)
        total += Int64(count)
    }

    /// Mean per second over the `window` whole seconds before the current one
    /// (the current second is still filling up).
    public func rate(window: Int, nowMs now: Millis) -> Double {
        let window = min(max(1, window), Self.capacity - 1)
        let current = now / 1000
        var sum: Int64 = 0
        for slot in 0..<Self.capacity where seconds[slot] >= current - Int64(window) && seconds[slot] < current {
            sum += counts[slot]
        }
        return Double(sum) / Double(window)
    }
}
