/// The rules about the target of a moderation op (spec/PROTOCOL.md §5.3
/// steps 4 and 5, §5.7), after `ConversationPolicy.authorize` found the
/// caller's role sufficient. Pure: the target's rows come as snapshots.
public enum ModerationPolicy {
    /// Longest mute: one year.
    public static let maxMuteMs: Millis = 366 * 24 * 3600 * 1000

    /// Acting on oneself is refused in every moderation op.
    public static func checkTarget(_ target: UserID, actor: UserID) throws(ChatFailure) {
        guard target != actor else { throw ChatFailure.invalid("user_id", "you cannot do this to yourself") }
    }

    /// Kick, Ban (of a member) and Mute act only on a member of lower rank.
    public static func checkOutranked(actor: MemberRole, target: MemberRole?) throws(ChatFailure) {
        guard let target else { throw ChatFailure(.notFound, "that user is not a member") }
        guard actor > target else { throw ChatFailure(.forbidden, "you cannot act on a member of equal or higher role") }
    }

    /// Ban: a member must be outranked; a non-member must exist; a ban is not repeated.
    public static func checkBan(
        actor: MemberRole, target: MemberRole?, targetExists: Bool, alreadyBanned: Bool
    ) throws(ChatFailure) {
        if target != nil { try checkOutranked(actor: actor, target: target) }
        guard targetExists else { throw ChatFailure(.notFound, "no such user") }
        guard !alreadyBanned else { throw ChatFailure(.conflict, "already banned") }
    }

    /// Mute for `durationMs` (0 lifts it): when it ends, nil for a lift.
    public static func muteEnd(
        durationMs: Millis, actor: MemberRole, target: MemberRole?, now: Millis
    ) throws(ChatFailure) -> Millis? {
        guard durationMs >= 0, durationMs <= maxMuteMs else {
            throw ChatFailure.invalid("duration_ms", "duration_ms must be 0..\(maxMuteMs)")
        }
        try checkOutranked(actor: actor, target: target)
        return durationMs == 0 ? nil : now + durationMs
    }

    /// SetMemberRole and TransferOwnership need the target to be a member.
    public static func checkMember(_ target: MemberRole?) throws(ChatFailure) {
        guard target != nil else { throw ChatFailure(.notFound, "that user is not a member") }
    }
}
