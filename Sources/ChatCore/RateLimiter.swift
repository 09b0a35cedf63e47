/// Token buckets keyed by a string (an account, an address). A value type:
/// callers hold it behind their own lock and pass the time in.
///
/// Each key may spend `capacity` tokens; tokens come back at a steady rate of
/// `capacity` per `windowMs`. The table is bounded: past `maxKeys`, full (idle)
/// buckets are dropped first, then, when every bucket is in use, either the
/// oldest (`.evictOldest`: an attacker cycling through addresses cannot grow
/// memory, nor lock everyone else out) or the new key is refused
/// (`.refuseNewKeys`: one caller's own keys, where dropping a spent bucket
/// would give its tokens back).
public struct RateLimiter: Sendable {
    public enum Decision: Sendable, Equatable {
        case allowed
        case limited(retryAfterMs: Millis)
    }

    /// What a new key gets when all `maxKeys` buckets are in use.
    public enum WhenFull: Sendable {
        case evictOldest
        case refuseNewKeys
    }

    public var capacity: Double
    public var windowMs: Millis
    public let maxKeys: Int
    public let whenFull: WhenFull

    private struct Bucket: Sendable {
        var tokens: Double
        var updatedAt: Millis
    }

    private var buckets: [String: Bucket] = [:]

    public init(capacity: Int, windowMs: Millis, maxKeys: Int = 100_000, whenFull: WhenFull = .evictOldest) {
        self.capacity = Double(max(1, capacity))
        self.windowMs = max(1, windowMs)
        self.maxKeys = max(1, maxKeys)
        self.whenFull = whenFull
    }

    public var keyCount: Int { buckets.count }

    /// Changes the rate (on reload) keeping the buckets.
    public mutating func reconfigure(capacity: Int, windowMs: Millis) {
        self.capacity = Double(max(1, capacity))
        self.windowMs = max(1, windowMs)
    }

    /// Whether `key` has a token left, without spending it.
    public func check(_ key: String, now: Millis) -> Decision {
        guard let bucket = buckets[key] else { return .allowed }
        let tokens = refilled(bucket, now: now)
        return tokens >= 1 ? .allowed : .limited(retryAfterMs: retryAfter(tokens))
    }

    /// Spends one token of `key`, or says how long until one is back.
    @discardableResult
    public mutating func consume(_ key: String, now: Millis) -> Decision {
        var tokens = buckets[key].map { refilled($0, now: now) } ?? capacity
        guard tokens >= 1 else {
            buckets[key] = Bucket(tokens: tokens, updatedAt: now)
            return .limited(retryAfterMs: retryAfter(tokens))
        }
        if buckets[key] == nil && buckets.count >= maxKeys {
            if let refused = evict(now: now) { return refused }
        }
        buckets[key] = Bucket(tokens: tokens - 1, updatedAt: now)
        return .allowed
    }

    /// Forgets `key` (a successful login clears the account's failures).
    public mutating func reset(_ key: String) {
        buckets[key] = nil
    }

    private func refilled(_ bucket: Bucket, now: Millis) -> Double {
        let elapsed = Double(max(0, now - bucket.updatedAt))
        return min(capacity, bucket.tokens + elapsed * capacity / Double(windowMs))
    }

    private func retryAfter(_ tokens: Double) -> Millis {
        let missing = 1 - tokens
        // The epsilon keeps floating-point noise from adding a millisecond.
        return max(1, Millis((missing * Double(windowMs) / capacity - 1e-6).rounded(.up)))
    }

    /// Makes room for a new key; the refusal when `.refuseNewKeys` finds
    /// none (retry when the first bucket in use has filled up again).
    private mutating func evict(now: Millis) -> Decision? {
        let full = buckets.filter { refilled($0.value, now: now) >= capacity }.map(\.key)
        for key in full { buckets[key] = nil }
        guard buckets.count >= maxKeys else { return nil }
        switch whenFull {
        case .evictOldest:
            // Still full of active buckets: drop the least recently touched quarter.
            let oldest = buckets.sorted { $0.value.updatedAt < $1.value.updatedAt }.prefix(max(1, maxKeys / 4))
            for (key, _) in oldest { buckets[key] = nil }
            return nil
        case .refuseNewKeys:
            let fullest = buckets.values.map { refilled($0, now: now) }.max() ?? 0
            let untilFull = (capacity - fullest) * Double(windowMs) / capacity
            return .limited(retryAfterMs: max(1, Millis(untilFull.rounded(.up))))
        }
    }
}
