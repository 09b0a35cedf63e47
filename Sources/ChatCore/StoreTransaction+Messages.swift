/// Sending, editing, deleting, reacting and reading (spec/PROTOCOL.md
/// §5.9–§5.12, §6.3), each as one transaction: read the snapshots, decide
/// with `ConversationPolicy` and `MessagePolicy`, write.
extension StoreTransaction {
    public func appendMessage(_ m: NewMessage) throws -> AppendResult {
        let snapshot = try sendSnapshot(sender: m.sender, in: m.conversation, clientMsgID: m.clientMsgID)
        // Visibility first: a retry tells nothing to someone who lost access.
        let membership = try ConversationPolicy.member(.send, snapshot.standing)
        if let retry = try MessagePolicy.retry(
            snapshot.prior, sameRequest: { $0.kind == .message && $0.conversationID == m.conversation })
        {
            return retry
        }
        try MessagePolicy.checkWriter(membership, blocked: snapshot.blocked, now: m.now)
        try AccountPolicy.checkActive(snapshot.standing.account)
        if let reply = m.replyTo { try MessagePolicy.checkReply(to: event(conversation: m.conversation, seq: reply)) }
        let attachment = try m.attachment.map { try readableAttachment($0, type: m.type, sender: m.sender) }
        let mentions = try members(conversation: m.conversation, usernameKeys: m.mentionKeys)
        let event = try append(
            Event(
                conversationID: m.conversation, seq: 0, kind: .message, senderID: m.sender, clientMsgID: m.clientMsgID,
                text: m.text, createdAt: m.now, messageType: m.type, replyToSeq: m.replyTo, mentions: mentions,
                attachment: attachment))
        return AppendResult(event: event, duplicate: false)
    }

    /// Edits the text; mentions are recomputed from `mentionKeys`.
    public func editMessage(
        conversation: ConversationID, seq: Seq, editor: UserID, text: String, clientMsgID: String, mentionKeys: [String],
        now: Millis
    ) throws -> AppendResult {
        let standing = try standing(of: editor, in: conversation)
        let membership = try ConversationPolicy.member(.edit, standing)
        if let retry = try retried(.messageEdited, of: seq, in: conversation, sender: editor, clientMsgID: clientMsgID) {
            return retry
        }
        try MessagePolicy.checkWriter(membership, blocked: blocksWriting(standing, user: editor), now: now)
        let target = try MessagePolicy.target(event(conversation: conversation, seq: seq), seq: seq)
        try MessagePolicy.checkEdit(target, editor: editor)
        let mentions = try members(conversation: conversation, usernameKeys: mentionKeys)
        try setMessageText(conversation: conversation, seq: seq, text: text, editedAt: now, mentions: mentions)
        let event = try append(
            Event(
                conversationID: conversation, seq: 0, kind: .messageEdited, senderID: editor, clientMsgID: clientMsgID,
                text: text, createdAt: now, targetSeq: seq, editedAt: now))
        return AppendResult(event: event, duplicate: false)
    }

    /// Deletes a message. `asModerator`: with server authority (an
    /// operator); a server admin has it too, read here, in the write.
    public func deleteMessage(
        conversation: ConversationID, seq: Seq, by user: UserID, asModerator: Bool, clientMsgID: String, now: Millis
    ) throws -> AppendResult {
        let standing = try standing(of: user, in: conversation)
        let membership = try ConversationPolicy.member(.deleteMessage, standing)
        if let retry = try retried(.messageDeleted, of: seq, in: conversation, sender: user, clientMsgID: clientMsgID) {
            return retry
        }
        let target = try MessagePolicy.target(event(conversation: conversation, seq: seq), seq: seq)
        try MessagePolicy.checkDelete(
            target, by: user, role: membership.role, serverAdmin: asModerator || standing.account?.serverRole == .admin)
        // Deleted already: the earlier deletion answers, whoever made it.
        if target.deleted, let earlier = try deletion(conversation: conversation, of: seq) {
            return AppendResult(event: earlier, duplicate: true)
        }
        return AppendResult(event: try erase(target, by: user, clientMsgID: clientMsgID, now: now), duplicate: false)
    }

    /// Erases `message` and appends its MESSAGE_DELETED event (sender `by`;
    /// 0 for the server); returns the event.
    public func erase(_ message: Event, by: UserID, clientMsgID: String?, now: Millis) throws -> Event {
        try eraseMessage(conversation: message.conversationID, seq: message.seq)
        return try append(
            Event(
                conversationID: message.conversationID, seq: 0, kind: .messageDeleted, senderID: by,
                clientMsgID: clientMsgID, subjectUserID: message.senderID, createdAt: now, targetSeq: message.seq))
    }

    /// Adds or removes a reaction. nil: nothing changed (removing an absent reaction).
    public func react(
        conversation: ConversationID, seq: Seq, user: UserID, emoji: String, add: Bool, now: Millis
    ) throws -> AppendResult? {
        let standing = try standing(of: user, in: conversation)
        let membership = try ConversationPolicy.member(.react, standing)
        try MessagePolicy.checkWriter(membership, blocked: blocksWriting(standing, user: user), now: now)
        let target = try MessagePolicy.target(event(conversation: conversation, seq: seq), seq: seq)
        try MessagePolicy.checkReactable(target)
        let existing = try reaction(conversation: conversation, seq: seq, user: user, emoji: emoji)
        if add {
            if let existing, let earlier = try event(conversation: conversation, seq: existing) {
                return AppendResult(event: earlier, duplicate: true)
            }
            try MessagePolicy.checkNewReaction(existing: reactionCount(conversation: conversation, seq: seq, user: user))
            let event = try append(
                Event(conversationID: conversation, seq: 0, kind: .reactionAdded, senderID: user, createdAt: now, targetSeq: seq, emoji: emoji))
            try insertReaction(conversation: conversation, seq: seq, user: user, emoji: emoji, eventSeq: event.seq, at: now)
            return AppendResult(event: event, duplicate: false)
        }
        guard existing != nil else { return nil }
        try deleteReaction(conversation: conversation, seq: seq, user: user, emoji: emoji)
        let event = try append(
            Event(conversationID: conversation, seq: 0, kind: .reactionRemoved, senderID: user, createdAt: now, targetSeq: seq, emoji: emoji))
        return AppendResult(event: event, duplicate: false)
    }

    /// Moves the read position forward; returns the position in force and whether it moved.
    public func markRead(conversation: ConversationID, user: UserID, seq: Seq) throws -> (Seq, Bool) {
        let standing = try standing(of: user, in: conversation)
        let membership = try ConversationPolicy.member(.markRead, standing)
        guard let next = try MessagePolicy.advanceRead(to: seq, from: membership.readSeq, head: standing.conversation?.headSeq ?? 0)
        else { return (membership.readSeq, false) }
        try setReadSeq(conversation: conversation, user: user, seq: next)
        return (next, true)
    }

    /// MarkDelivered (§6.3): each entry moves the user's delivered position
    /// forward, or fails alone (its outcome carries the failure; the other
    /// entries still apply). Entries are applied in order.
    public func markDelivered(_ entries: [DeliveredEntry], user: UserID) throws -> [DeliveredOutcome] {
        var outcomes: [DeliveredOutcome] = []
        outcomes.reserveCapacity(entries.count)
        for entry in entries {
            do {
                let standing = try standing(of: user, in: entry.conversation)
                // The same rule as MarkRead: members only.
                let membership = try ConversationPolicy.member(.markRead, standing)
                let head = standing.conversation?.headSeq ?? 0
                if let next = try ReceiptPolicy.advanceDelivered(to: entry.seq, from: membership, head: head) {
                    try setDeliveredSeq(conversation: entry.conversation, user: user, seq: next)
                    outcomes.append(DeliveredOutcome(conversation: entry.conversation, deliveredSeq: next, moved: true))
                } else {
                    outcomes.append(
                        DeliveredOutcome(conversation: entry.conversation, deliveredSeq: membership.effectiveDeliveredSeq, moved: false))
                }
            } catch let failure as ChatFailure where failure.kind != .internal && failure.kind != .unavailable {
                outcomes.append(DeliveredOutcome(conversation: entry.conversation, deliveredSeq: 0, moved: false, failure: failure))
            }
        }
        return outcomes
    }

    /// SetNotifications (§6.6): members only; a change is stored and told
    /// to the user's devices by a NOTIFICATIONS_CHANGED account event (none
    /// when nothing changes). Returns the settings in force. The checks in
    /// the spec's order: membership (as MarkRead), then `level`, then
    /// `muted_until_ms`.
    public func setNotifications(
        conversation: ConversationID, user: UserID, level: NotifyLevel?, mutedUntil: Millis, now: Millis
    ) throws -> NotificationSettings {
        let membership = try ConversationPolicy.member(.markRead, standing(of: user, in: conversation))
        let settings = try NotificationPolicy.validate(level: level, mutedUntil: mutedUntil, now: now)
        guard membership.notifications != settings else { return settings }
        try setNotifications(conversation: conversation, user: user, settings)
        try append(
            AccountEvent(userID: user, kind: .notificationsChanged, conversationID: conversation, reason: settings.encoded, createdAt: now))
        return settings
    }

    /// The answer to a retried edit or delete (`kind`) of the message at
    /// `seq`: the first one's event; nil when the client_msg_id is new.
    func retried(_ kind: EventKind, of seq: Seq, in conversation: ConversationID, sender: UserID, clientMsgID: String) throws -> AppendResult? {
        try MessagePolicy.retry(
            priorEvent(sender: sender, clientMsgID: clientMsgID),
            sameRequest: { $0.kind == kind && $0.conversationID == conversation && $0.targetSeq == seq })
    }

    public func sendSnapshot(sender: UserID, in conversation: ConversationID, clientMsgID: String) throws -> SendSnapshot {
        let standing = try standing(of: sender, in: conversation)
        return SendSnapshot(
            standing: standing, prior: try priorEvent(sender: sender, clientMsgID: clientMsgID),
            blocked: try blocksWriting(standing, user: sender))
    }

    /// Whether a block stops `user` writing in this conversation (§7.3):
    /// read only where blocks apply, so a send to a room costs no lookup.
    public func blocksWriting(_ standing: Standing, user: UserID) throws -> Bool {
        guard let conversation = standing.conversation, MessagePolicy.blocksApply(in: conversation.kind) else { return false }
        return try blocksWithPeer(inDirect: conversation.id, of: user)
    }

    /// The attachment as stored, if the sender may read its file (their
    /// own upload, or a file shared with them: forwarding).
    func readableAttachment(_ requested: Attachment, type: MessageType?, sender: UserID) throws -> Attachment {
        var file: StoredFile?
        if FileService.isValidID(requested.fileID), let found = try self.file(id: requested.fileID),
            try FilePolicy.canRead(found, viewer: sender, shared: { try isFileShared(found.id, withMember: sender) })
        {
            file = found
        }
        return try FilePolicy.attachment(requested, file: file, type: type)
    }
}

extension Store {
    public func appendMessage(_ message: NewMessage) async throws -> AppendResult {
        try await transaction(conversation: message.conversation) { tx in try tx.appendMessage(message) }
    }

    /// Edits the text; mentions are recomputed from `mentionKeys`.
    public func editMessage(
        conversation: ConversationID, seq: Seq, editor: UserID, text: String, clientMsgID: String, mentionKeys: [String],
        now: Millis
    ) async throws -> AppendResult {
        try await transaction(conversation: conversation) { tx in
            try tx.editMessage(
                conversation: conversation, seq: seq, editor: editor, text: text, clientMsgID: clientMsgID,
                mentionKeys: mentionKeys, now: now)
        }
    }

    public func deleteMessage(
        conversation: ConversationID, seq: Seq, by: UserID, asModerator: Bool, clientMsgID: String, now: Millis
    ) async throws -> AppendResult {
        try await transaction(conversation: conversation) { tx in
            try tx.deleteMessage(
                conversation: conversation, seq: seq, by: by, asModerator: asModerator, clientMsgID: clientMsgID, now: now)
        }
    }

    /// Adds or removes a reaction. nil: nothing changed (removing an absent reaction).
    public func react(
        conversation: ConversationID, seq: Seq, user: UserID, emoji: String, add: Bool, now: Millis
    ) async throws -> AppendResult? {
        try await transaction(conversation: conversation) { tx in
            try tx.react(conversation: conversation, seq: seq, user: user, emoji: emoji, add: add, now: now)
        }
    }

    /// Moves the read position forward; returns the position in force and whether it moved.
    public func markRead(conversation: ConversationID, user: UserID, seq: Seq) async throws -> (Seq, Bool) {
        try await transaction(conversation: conversation) { tx in try tx.markRead(conversation: conversation, user: user, seq: seq) }
    }

    /// Moves the delivered positions forward, one outcome per entry. Entries
    /// of one conversation (a client's usual acknowledgement) are a write
    /// within it: in its lane, they never wait for another lane's batch that
    /// holds the conversation's row.
    public func markDelivered(_ entries: [DeliveredEntry], user: UserID) async throws -> [DeliveredOutcome] {
        if let first = entries.first?.conversation, entries.allSatisfy({ $0.conversation == first }) {
            return try await transaction(conversation: first) { tx in try tx.markDelivered(entries, user: user) }
        }
        return try await transaction { tx in try tx.markDelivered(entries, user: user) }
    }
}
