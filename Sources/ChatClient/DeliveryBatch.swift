/// Coalesces delivery acknowledgements (spec/PROTOCOL.md §6.3): a client
/// notes each conversation's highest stored seq as events arrive, and sends
/// what `take` hands out in one MarkDelivered, at most once per interval,
/// never one request per message. A value type: the caller owns the timer
/// and the clock.
///
///     batch.stored(conversation, through: event.seq)
///     if let entries = batch.take(now: now) {
///         do { _ = try await connection.markDelivered(entries) } catch { batch.failed(entries) }
///     }
///     // else, if batch.nextAt(now:) is set, take again then.
///
/// A request refused as a whole (`rate_limited`, `unavailable`, a closed
/// connection) changed nothing (§6.3): `failed` hands its entries out
/// again with the next `take`. An entry the server answered with its own
/// `error_code` (`not_member`) is not retried.
public struct DeliveryBatch: Sendable {
    /// At most one MarkDelivered per this many milliseconds (§6.3: at most 4 a second).
    public static let intervalMs: Int64 = 250
    /// Entries per MarkDelivered (the server refuses more).
    public static let maxEntries = 100

    /// Highest stored seq per conversation, not yet handed out.
    private var pending: [UInt64: UInt64] = [:]
    /// Highest seq handed out per conversation: a lower one is not sent again.
    private var reported: [UInt64: UInt64] = [:]
    private var lastTakenAt: Int64?

    public init() {}

    public var isEmpty: Bool { pending.isEmpty }

    /// The device now holds every event of `conversation` up to `seq`.
    public mutating func stored(_ conversation: UInt64, through seq: UInt64) {
        guard seq > (reported[conversation] ?? 0), seq > (pending[conversation] ?? 0) else { return }
        pending[conversation] = seq
    }

    /// The conversation was left or deleted: forget it.
    public mutating func forget(_ conversation: UInt64) {
        pending[conversation] = nil
        reported[conversation] = nil
    }

    /// When `take` will next hand something out; nil when nothing is pending.
    public func nextAt(now: Int64) -> Int64? {
        guard !pending.isEmpty else { return nil }
        guard let last = lastTakenAt else { return now }
        return max(now, last + Self.intervalMs)
    }

    /// The MarkDelivered of `entries` (from `take`) failed as a whole: they
    /// go out again with the next `take`, each unless a higher seq was
    /// stored for its conversation since (that one goes instead) or a later
    /// report already carried one.
    public mutating func failed(_ entries: [(conversation: UInt64, seq: UInt64)]) {
        for entry in entries
        where entry.seq > (pending[entry.conversation] ?? 0) && entry.seq >= (reported[entry.conversation] ?? 0) {
            pending[entry.conversation] = entry.seq
        }
    }

    /// The entries for one MarkDelivered (ascending by conversation, at most
    /// `maxEntries`; the rest wait for the next interval), or nil when
    /// nothing is pending or the interval since the last one has not passed.
    public mutating func take(now: Int64) -> [(conversation: UInt64, seq: UInt64)]? {
        guard let at = nextAt(now: now), at <= now else { return nil }
        let entries = pending.sorted { $0.key < $1.key }.prefix(Self.maxEntries).map { (conversation: $0.key, seq: $0.value) }
        for entry in entries {
            pending[entry.conversation] = nil
            reported[entry.conversation] = entry.seq
        }
        lastTakenAt = now
        return entries
    }
}
