/// Coalesces DeliveredPushes (spec/PROTOCOL.md §6.3, §8.8): per member and
/// conversation, the first move after a quiet interval is pushed at once;
/// moves within the next `intervalMs` are held, and when the interval ends
/// the latest of them is pushed (and a new interval starts). So the other
/// members get at most one DeliveredPush per member and conversation per
/// interval, whatever the number of requests or devices, and always the
/// latest position. No I/O: the owner runs the actions and a timer.
public struct DeliveredPushCoalescer: Sendable {
    public struct Key: Hashable, Sendable {
        public var conversation: ConversationID
        public var user: UserID

        public init(conversation: ConversationID, user: UserID) {
            self.conversation = conversation
            self.user = user
        }
    }

    /// What to do about one move.
    public enum Action: Sendable, Equatable {
        /// Push this position now.
        case pushNow(Seq)
        /// Held; call `intervalEnded(_:at:now:)` for the key with this
        /// time when it comes.
        case schedule(at: Millis)
        /// Held with an earlier move whose timer is already set.
        case merged
    }

    private struct Interval: Sendable {
        var endsAt: Millis
        /// The latest position held for the end of the interval.
        var pending: Seq?
    }

    public let intervalMs: Millis
    private var intervals: [Key: Interval] = [:]
    /// Ended intervals with nothing held are swept when there are more than this.
    private var sweepAt = 1024

    public init(intervalMs: Millis = ReceiptPolicy.pushIntervalMs) {
        self.intervalMs = intervalMs
    }

    /// Intervals in memory (ended ones are swept lazily).
    public var count: Int { intervals.count }

    /// The member's delivered position moved to `seq`.
    public mutating func positionMoved(_ key: Key, to seq: Seq, now: Millis) -> Action {
        if var interval = intervals[key], now < interval.endsAt {
            if let pending = interval.pending {
                interval.pending = max(pending, seq)
                intervals[key] = interval
                return .merged
            }
            interval.pending = seq
            intervals[key] = interval
            return .schedule(at: interval.endsAt)
        }
        // The interval is over. If its timer is late (a loaded machine),
        // what it holds goes now with this move, and the late timer finds
        // its interval gone.
        let held = intervals[key]?.pending
        sweep(now: now)
        intervals[key] = Interval(endsAt: now + intervalMs, pending: nil)
        return .pushNow(max(seq, held ?? seq))
    }

    /// The timer set for `at` (by a `.schedule(at:)`) fired: the position to
    /// push, if one is held (a new interval starts with it). A timer whose
    /// interval has already been ended by a later move finds a different
    /// interval and pushes nothing: without this check a late timer could
    /// push a new interval's held move right after its first push.
    public mutating func intervalEnded(_ key: Key, at: Millis, now: Millis) -> Seq? {
        guard let interval = intervals[key], interval.endsAt == at, let pending = interval.pending else { return nil }
        intervals[key] = Interval(endsAt: max(now, at) + intervalMs, pending: nil)
        return pending
    }

    /// Drops ended intervals with nothing held, once there are many: memory
    /// stays proportional to the members who moved in the last interval.
    private mutating func sweep(now: Millis) {
        guard intervals.count >= sweepAt else { return }
        intervals = intervals.filter { $0.value.pending != nil || now < $0.value.endsAt }
        sweepAt = max(1024, intervals.count * 2)
    }
}
