/// Delivery receipts (spec/PROTOCOL.md §6.3): one delivered position per
/// member per conversation beside the read position, moved by MarkDelivered,
/// never below the read position. The sender shows stored / delivered /
/// read per message from these positions; no per-message rows exist.
public enum ReceiptPolicy {
    /// Entries of one MarkDelivered: a client acknowledges what it stored
    /// in one batch; 100 conversations keep one write transaction short.
    public static let maxEntries = 100
    /// Conversations larger than this get neither member positions nor
    /// counts in ConversationState: the counts are read per Sync and per
    /// conversation, so their cost stays bounded whatever a room's size.
    public static let maxCountedMembers = 1024
    /// DeliveredPushes of one member in one conversation, at most one per
    /// this many milliseconds (per server node): a chatty client cannot
    /// flood the other members.
    public static let pushIntervalMs: Millis = 250
    /// MarkDelivered requests per connection: a client reports at most
    /// every 250 ms (§6.3), so 10 at once and then 5 a second leave room
    /// and stop a client that reports per message; more get rate_limited.
    public static let reportBurst = 10
    public static let reportsPerSecond = 5

    /// A connection's MarkDelivered budget (one key: the connection).
    public static func reportLimiter() -> RateLimiter {
        RateLimiter(capacity: reportBurst, windowMs: Millis(reportBurst * 1000 / reportsPerSecond), maxKeys: 1)
    }

    /// MarkDelivered's entry count: at least one, at most `maxEntries`.
    public static func checkEntries(_ count: Int) throws(ChatFailure) {
        guard count > 0 else { throw ChatFailure.invalid("entries", "entries is empty") }
        guard count <= maxEntries else {
            throw ChatFailure(.tooLarge, "at most \(maxEntries) entries per request", field: "entries")
        }
    }

    /// The delivered position moves forward only and never past the head;
    /// a position at or below the read position is already implied
    /// (delivered = max(delivered, read)). Returns the new position, or nil
    /// when it stays.
    public static func advanceDelivered(to seq: Seq, from membership: Membership, head: Seq) throws(ChatFailure) -> Seq? {
        guard seq <= head else { throw ChatFailure.invalid("seq", "seq \(seq) is beyond the head \(head)") }
        return seq > membership.effectiveDeliveredSeq ? seq : nil
    }

    /// How much of the members' positions a ConversationState carries.
    public enum Detail: Sendable, Equatable {
        /// Every member's positions, and the counts.
        case list
        /// The counts only.
        case counts
        /// Neither (a conversation over `maxCountedMembers`).
        case none
    }

    /// `listMax`: the configured `limits.receipts_member_list_max`.
    public static func detail(memberCount: Int, listMax: Int) -> Detail {
        if memberCount <= listMax { return .list }
        if memberCount <= maxCountedMembers { return .counts }
        return .none
    }

    /// The members other than `viewer` whose delivered (read) position
    /// reaches `through` (the newest message's seq; nil: no message, no counts).
    public static func counts(_ positions: [MemberPosition], viewer: UserID, through: Seq?) -> (delivered: Int, read: Int) {
        guard let through else { return (0, 0) }
        var delivered = 0
        var read = 0
        for p in positions where p.userID != viewer {
            if p.deliveredSeq >= through { delivered += 1 }
            if p.readSeq >= through { read += 1 }
        }
        return (delivered, read)
    }
}
