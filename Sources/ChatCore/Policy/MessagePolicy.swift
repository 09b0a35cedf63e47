/// The rules of sending, editing, deleting, reacting and reading
/// (spec/PROTOCOL.md §5.9–§5.13, §6.3), after `ConversationPolicy.authorize`
/// admitted the caller. Pure: the message, the earlier event under the
/// same client_msg_id and the block state come as snapshots, read in the
/// write transaction that acts on the decision.
public enum MessagePolicy {
    /// Distinct emojis one user may put on one message: bounds the rows and
    /// the ReactionSummary list a History response carries per message.
    public static let maxReactionsPerUserPerMessage = 20

    static let usedElsewhere = ChatFailure(.conflict, "client_msg_id was already used for something else")

    /// Idempotency (§5.13): the event the sender stored earlier under this
    /// client_msg_id answers a retry of the same request (`sameRequest`)
    /// as a duplicate; any other earlier use is a conflict. nil: first use.
    public static func retry(
        _ prior: Event?, sameRequest: (Event) -> Bool
    ) throws(ChatFailure) -> AppendResult? {
        guard let prior else { return nil }
        guard sameRequest(prior) else { throw usedElsewhere }
        return AppendResult(event: prior, duplicate: true)
    }

    /// Whether a block between the two users of a conversation of this
    /// kind stops writing: only in a direct chat (§7.3).
    public static func blocksApply(in kind: ConversationKind) -> Bool { kind == .direct }

    /// Writing content (SendMessage, EditMessage, reactions; §5.3 note ¹):
    /// not while either user of a direct chat blocks the other, nor while muted.
    public static func checkWriter(_ membership: Membership, blocked: Bool, now: Millis) throws(ChatFailure) {
        guard !blocked else { throw ChatFailure(.forbidden, "direct messages between these users are blocked") }
        if let until = membership.mutedUntil, until > now {
            throw ChatFailure(.forbidden, "you are muted in this conversation until \(until)")
        }
    }

    /// `reply_to_seq` names a MESSAGE of the conversation (deleted or not).
    public static func checkReply(to target: Event?) throws(ChatFailure) {
        guard target?.kind == .message else {
            throw ChatFailure.invalid("reply_to_seq", "reply_to_seq is not a message in this conversation")
        }
    }

    /// The MESSAGE an edit, delete or reaction names.
    public static func target(_ event: Event?, seq: Seq) throws(ChatFailure) -> Event {
        guard let event, event.kind == .message else {
            throw ChatFailure(.notFound, "no message with seq \(seq) in this conversation")
        }
        return event
    }

    /// Nobody edits another user's message, nor a SYSTEM one, nor a deleted one.
    public static func checkEdit(_ message: Event, editor: UserID) throws(ChatFailure) {
        guard message.senderID == editor, message.messageType != .system else {
            throw ChatFailure(.forbidden, "only the sender can edit a message")
        }
        guard !message.deleted else { throw ChatFailure(.notFound, "the message was deleted") }
    }

    /// Its sender, the conversation's owner or an admin, or a server admin may delete a message.
    public static func checkDelete(
        _ message: Event, by user: UserID, role: MemberRole, serverAdmin: Bool
    ) throws(ChatFailure) {
        guard message.senderID == user || role.canManageMembers || serverAdmin else {
            throw ChatFailure(.forbidden, "only the sender, an owner or an admin can delete a message")
        }
    }

    /// Reactions go on messages that are not deleted.
    public static func checkReactable(_ message: Event) throws(ChatFailure) {
        guard !message.deleted else { throw ChatFailure(.notFound, "the message was deleted") }
    }

    /// A new emoji on a message where the user already has `existing` reactions.
    public static func checkNewReaction(existing: Int) throws(ChatFailure) {
        guard existing < maxReactionsPerUserPerMessage else {
            throw ChatFailure(.tooLarge, "at most \(maxReactionsPerUserPerMessage) reactions per message", field: "emoji")
        }
    }

    /// Sync (§6.2): the client's account-event position is one the server gave, never past the head.
    public static func checkSyncPosition(_ accountSeq: Seq, head: Seq) throws(ChatFailure) {
        guard accountSeq <= head else {
            throw ChatFailure.invalid("account_seq", "account_seq \(accountSeq) is beyond the head \(head)")
        }
    }

    /// MarkRead: the read position moves forward only, never past the head.
    /// Returns the new position, or nil when it stays.
    public static func advanceRead(to seq: Seq, from current: Seq, head: Seq) throws(ChatFailure) -> Seq? {
        guard seq <= head else { throw ChatFailure.invalid("seq", "seq \(seq) is beyond the head \(head)") }
        return seq > current ? seq : nil
    }
}
