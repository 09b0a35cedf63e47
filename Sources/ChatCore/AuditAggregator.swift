/// Decides which repeated audit events are written as rows: the first of a
/// key (e.g. an address) in each window is written, later ones in the window
/// are only counted, and the next row written for that key carries the count.
/// A throttled flood of logins so costs one audit row per address and window
/// instead of one per attempt. A value type: callers hold it behind their lock
/// and pass the time in. Bounded: past `maxKeys` the oldest keys are dropped
/// (their pending counts with them).
public struct AuditAggregator: Sendable {
    public enum Decision: Sendable, Equatable {
        /// Write a row; `suppressed` earlier events of this key were not written.
        case write(suppressed: Int)
        /// Only counted.
        case suppress
    }

    private struct Entry: Sendable {
        var windowStart: Millis
        var suppressed: Int
    }

    public let windowMs: Millis
    public let maxKeys: Int
    private var entries: [String: Entry] = [:]

    public init(windowMs: Millis, maxKeys: Int = 10_000) {
        self.windowMs = max(1, windowMs)
        self.maxKeys = max(1, maxKeys)
    }

    public var keyCount: Int { entries.count }

    public mutating func record(_ key: String, now: Millis) -> Decision {
        if var entry = entries[key] {
            if now < entry.windowStart + windowMs {
                entry.suppressed += 1
                entries[key] = entry
                return .suppress
            }
            entries[key] = Entry(windowStart: now, suppressed: 0)
            return .write(suppressed: entry.suppressed)
        }
        if entries.count >= maxKeys { evict(now: now) }
        entries[key] = Entry(windowStart: now, suppressed: 0)
        return .write(suppressed: 0)
    }

    private mutating func evict(now: Millis) {
        // Keys whose window ended with nothing pending go first, then the oldest quarter.
        entries = entries.filter { now < $0.value.windowStart + windowMs || $0.value.suppressed > 0 }
        if entries.count >= maxKeys {
            let oldest = entries.sorted { $0.value.windowStart < $1.value.windowStart }.prefix(max(1, maxKeys / 4))
            for (key, _) in oldest { entries[key] = nil }
        }
    }
}
