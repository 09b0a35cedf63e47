/// The byte ranges of an upload received so far: sorted, disjoint,
/// non-adjacent half-open intervals. A value type with no I/O, so the
/// resume and overlap rules are tested without files or sockets.
public struct ByteRanges: Sendable, Equatable, CustomStringConvertible {
    public struct Range: Sendable, Equatable {
        public var start: Int64
        public var end: Int64  // exclusive

        public init(start: Int64, end: Int64) {
            self.start = start
            self.end = end
        }

        public var length: Int64 { end - start }
    }

    public private(set) var ranges: [Range]

    public init() { ranges = [] }

    /// Bytes covered.
    public var count: Int64 { ranges.reduce(0) { $0 + $1.length } }

    /// True when [0, size) is covered.
    public func covers(size: Int64) -> Bool {
        size == 0 ? true : ranges.count == 1 && ranges[0].start == 0 && ranges[0].end >= size
    }

    /// The parts of [start, end) already covered (to compare their bytes
    /// with a chunk that overlaps them).
    public func overlaps(start: Int64, end: Int64) -> [Range] {
        ranges.compactMap { r in
            let s = max(r.start, start)
            let e = min(r.end, end)
            return s < e ? Range(start: s, end: e) : nil
        }
    }

    /// Adds [start, end), merging with touching or overlapping ranges.
    public mutating func insert(start: Int64, end: Int64) {
        guard start < end else { return }
        var merged = Range(start: start, end: end)
        var result: [Range] = []
        result.reserveCapacity(ranges.count + 1)
        var placed = false
        for r in ranges {
            if r.end < merged.start {
                result.append(r)
            } else if merged.end < r.start {
                if !placed {
                    result.append(merged)
                    placed = true
                }
                result.append(r)
            } else {
                merged = Range(start: min(r.start, merged.start), end: max(r.end, merged.end))
            }
        }
        if !placed { result.append(merged) }
        ranges = result
    }

    /// "0-1024,4096-8192": the stored form (start-end, end exclusive).
    public var description: String {
        ranges.map { "\($0.start)-\($0.end)" }.joined(separator: ",")
    }

    /// Parses the stored form; nil when it is not sorted, disjoint and well formed.
    public init?(parsing text: String) {
        ranges = []
        guard !text.isEmpty else { return }
        var last: Int64 = -1
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count == 2, let s = Int64(ends[0]), let e = Int64(ends[1]), s >= 0, s < e, s > last else {
                return nil
            }
            ranges.append(Range(start: s, end: e))
            last = e
        }
    }
}
