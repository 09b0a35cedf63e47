import ChatCore
import Foundation
import GRDB

extension SQLiteStore {
    static let eventColumns = """
        conversation_id, seq, kind, sender_id, client_msg_id, message_type, text, reply_to_seq, mentions, file_id,
        file_name, file_size, file_mime, file_width, file_height, target_seq, emoji, subject_user_id, role, name,
        description, muted_until, edited_at, deleted, created_at
        """

    /// Maps a row selected with `eventColumns`, by position (name lookups
    /// hash every column name and showed in profiles).
    static func event(_ row: Row) -> Event {
        let role: String? = row[18]
        let type: String? = row[5]
        let mentions: String? = row[8]
        let fileID: String? = row[9]
        return Event(
            conversationID: row[0], seq: row[1], kind: EventKind(rawValue: row[2]) ?? .message, senderID: row[3],
            clientMsgID: row[4], text: row[6], subjectUserID: row[17], role: role.flatMap(MemberRole.init(rawValue:)),
            createdAt: row[24], messageType: type.flatMap(MessageType.init(rawValue:)), replyToSeq: row[7],
            mentions: mentions?.split(separator: ",").compactMap { Int64($0) } ?? [],
            attachment: fileID.map {
                Attachment(
                    fileID: $0, name: row[10] ?? "", size: row[11] ?? 0, mimeType: row[12] ?? "", width: row[13] ?? 0,
                    height: row[14] ?? 0)
            },
            targetSeq: row[15], emoji: row[16], editedAt: row[22], deleted: row[23], name: row[19], description: row[20],
            mutedUntil: row[21])
    }

    static func fetchEvent(_ db: Database, conversation: RoomID, seq: Seq) throws -> Event? {
        try Row.fetchOneCached(db, sql: "SELECT \(eventColumns) FROM events WHERE conversation_id = ? AND seq = ?", arguments: [conversation, seq]
        ).map(event)
    }

    /// The event a sender stored earlier under this client_msg_id, if any.
    static func priorEvent(_ db: Database, sender: UserID, clientMsgID: String) throws -> Event? {
        try Row.fetchOneCached(db, sql: "SELECT \(eventColumns) FROM events WHERE sender_id = ? AND client_msg_id = ?",
            arguments: [sender, clientMsgID]
        ).map(event)
    }

    /// The visibility rule for a non-member: a public room says not_member,
    /// anything else (or nothing) not_found.
    static func nonMemberFailure(_ db: Database, conversation: RoomID) throws -> ChatFailure {
        let row = try Row.fetchOneCached(db, sql: "SELECT kind, visibility FROM conversations WHERE id = ?", arguments: [conversation])
        if let row, row["kind"] == "room", row["visibility"] == "public" {
            return ChatFailure(.notMember, "not a member of this conversation")
        }
        return ChatFailure(.notFound, "no such conversation")
    }

    /// Membership, or the visibility rule's failure.
    static func requireMember(_ db: Database, conversation: RoomID, user: UserID) throws -> MemberRole {
        guard let role = try role(db, conversation: conversation, user: user) else {
            throw try nonMemberFailure(db, conversation: conversation)
        }
        return role
    }

    /// In a direct chat nothing may be written while either user blocks the other.
    static func requireNotBlocked(_ db: Database, conversation: RoomID, user: UserID) throws {
        guard try String.fetchOneCached(db, sql: "SELECT kind FROM conversations WHERE id = ?", arguments: [conversation]) == "direct",
            let peer = try Int64.fetchOneCached(db, sql: "SELECT user_id FROM members WHERE conversation_id = ? AND user_id != ?", arguments: [conversation, user])
        else { return }
        if try isBlocked(db, user, peer) {
            throw ChatFailure(.forbidden, "direct messages between these users are blocked")
        }
    }

    /// Membership that allows writing content: a member, not muted, and (in a
    /// direct chat) not blocked.
    static func requireWriter(_ db: Database, conversation: RoomID, user: UserID, now: Millis) throws -> MemberRole {
        guard
            let row = try Row.fetchOneCached(db, sql: "SELECT role, muted_until FROM members WHERE conversation_id = ? AND user_id = ?",
                arguments: [conversation, user])
        else { throw try nonMemberFailure(db, conversation: conversation) }
        try requireNotBlocked(db, conversation: conversation, user: user)
        let mutedUntil: Int64? = row["muted_until"]
        if let mutedUntil, mutedUntil > now {
            throw ChatFailure(.forbidden, "you are muted in this conversation until \(mutedUntil)")
        }
        return MemberRole(rawValue: row["role"]) ?? .member
    }

    /// The MESSAGE at `seq`, or not_found.
    static func targetMessage(_ db: Database, conversation: RoomID, seq: Seq) throws -> Event {
        guard let target = try fetchEvent(db, conversation: conversation, seq: seq), target.kind == .message else {
            throw ChatFailure(.notFound, "no message with seq \(seq) in this conversation")
        }
        return target
    }

    /// Members of the conversation among these usernames (mentions).
    static func members(_ db: Database, conversation: RoomID, usernameKeys: [String]) throws -> [UserID] {
        guard !usernameKeys.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: usernameKeys.count).joined(separator: ",")
        return try Int64.fetchAllCached(db,
            sql: """
                SELECT u.id FROM users u JOIN members mm ON mm.user_id = u.id AND mm.conversation_id = ?
                WHERE u.username_key IN (\(placeholders)) ORDER BY u.id
                """, arguments: StatementArguments([conversation] + usernameKeys.map { $0 as any DatabaseValueConvertible }))
    }

    /// Empties a deleted message: its text, mentions, attachment and
    /// reactions, and the text of its edits. The event row stays (seqs keep no gaps).
    static func eraseMessage(_ db: Database, conversation: RoomID, seq: Seq) throws {
        try db.cachedExecute(sql: """
                UPDATE events SET text = NULL, mentions = NULL, file_id = NULL, file_name = NULL, file_size = NULL,
                  file_mime = NULL, file_width = NULL, file_height = NULL, deleted = 1
                WHERE conversation_id = ? AND seq = ?
                """, arguments: [conversation, seq])
        // Earlier edits carried the text too: it goes with the message.
        try db.cachedExecute(sql: "UPDATE events SET text = NULL WHERE conversation_id = ? AND kind = 'message_edited' AND target_seq = ?",
            arguments: [conversation, seq])
        try db.cachedExecute(sql: "DELETE FROM mentions WHERE conversation_id = ? AND seq = ?", arguments: [conversation, seq])
        try db.cachedExecute(sql: "DELETE FROM reactions WHERE conversation_id = ? AND seq = ?", arguments: [conversation, seq])
    }

    // MARK: Writes

    public func appendMessage(_ m: NewMessage) async throws -> AppendResult {
        try await write { db, changes in
            // Visibility first: a retry tells nothing to someone who lost access.
            _ = try Self.requireMember(db, conversation: m.conversation, user: m.sender)
            if let prior = try Self.priorEvent(db, sender: m.sender, clientMsgID: m.clientMsgID) {
                guard prior.kind == .message, prior.conversationID == m.conversation else {
                    throw ChatFailure(.conflict, "client_msg_id was already used for something else")
                }
                return AppendResult(event: prior, duplicate: true)
            }
            _ = try Self.requireWriter(db, conversation: m.conversation, user: m.sender, now: m.now)
            // A send in flight when its account was disabled (or deleted) does not land after it.
            if try Int.fetchOneCached(db, sql: "SELECT disabled FROM users WHERE id = ?", arguments: [m.sender]) == 1 {
                throw ChatFailure(.accountDisabled, "the account was disabled")
            }
            if let reply = m.replyTo {
                guard try Self.fetchEvent(db, conversation: m.conversation, seq: reply)?.kind == .message else {
                    throw ChatFailure.invalid("reply_to_seq", "reply_to_seq is not a message in this conversation")
                }
            }
            let attachment = try m.attachment.map { try Self.resolveAttachment(db, $0, type: m.type, sender: m.sender) }
            let mentions = try Self.members(db, conversation: m.conversation, usernameKeys: m.mentionKeys)
            let event = try Self.appendEvent(
                db, &changes,
                Event(
                    conversationID: m.conversation, seq: 0, kind: .message, senderID: m.sender, clientMsgID: m.clientMsgID,
                    text: m.text, createdAt: m.now, messageType: m.type, replyToSeq: m.replyTo, mentions: mentions,
                    attachment: attachment))
            return AppendResult(event: event, duplicate: false)
        }
    }

    public func editMessage(
        conversation: RoomID, seq: Seq, editor: UserID, text: String, clientMsgID: String, mentionKeys: [String],
        now: Millis
    ) async throws -> AppendResult {
        try await write { db, changes in
            _ = try Self.requireMember(db, conversation: conversation, user: editor)
            if let prior = try Self.priorEvent(db, sender: editor, clientMsgID: clientMsgID) {
                guard prior.kind == .messageEdited, prior.conversationID == conversation, prior.targetSeq == seq else {
                    throw ChatFailure(.conflict, "client_msg_id was already used for something else")
                }
                return AppendResult(event: prior, duplicate: true)
            }
            _ = try Self.requireWriter(db, conversation: conversation, user: editor, now: now)
            let target = try Self.targetMessage(db, conversation: conversation, seq: seq)
            guard target.senderID == editor, target.messageType != .system else {
                throw ChatFailure(.forbidden, "only the sender can edit a message")
            }
            guard !target.deleted else { throw ChatFailure(.notFound, "the message was deleted") }
            let mentions = try Self.members(db, conversation: conversation, usernameKeys: mentionKeys)
            try db.cachedExecute(sql: "UPDATE events SET text = ?, edited_at = ?, mentions = ? WHERE conversation_id = ? AND seq = ?",
                arguments: [
                    text, now, mentions.isEmpty ? nil : mentions.map(String.init).joined(separator: ","), conversation, seq,
                ])
            try db.cachedExecute(sql: "DELETE FROM mentions WHERE conversation_id = ? AND seq = ?", arguments: [conversation, seq])
            for user in mentions {
                try db.cachedExecute(sql: "INSERT INTO mentions (conversation_id, seq, user_id) VALUES (?, ?, ?)",
                    arguments: [conversation, seq, user])
            }
            let event = try Self.appendEvent(
                db, &changes,
                Event(
                    conversationID: conversation, seq: 0, kind: .messageEdited, senderID: editor, clientMsgID: clientMsgID,
                    text: text, createdAt: now, targetSeq: seq, editedAt: now))
            return AppendResult(event: event, duplicate: false)
        }
    }

    public func deleteMessage(
        conversation: RoomID, seq: Seq, by: UserID, asModerator: Bool, clientMsgID: String, now: Millis
    ) async throws -> AppendResult {
        try await write { db, changes in
            let role = try Self.requireMember(db, conversation: conversation, user: by)
            if let prior = try Self.priorEvent(db, sender: by, clientMsgID: clientMsgID) {
                guard prior.kind == .messageDeleted, prior.conversationID == conversation, prior.targetSeq == seq else {
                    throw ChatFailure(.conflict, "client_msg_id was already used for something else")
                }
                return AppendResult(event: prior, duplicate: true)
            }
            let target = try Self.targetMessage(db, conversation: conversation, seq: seq)
            guard target.senderID == by || role.canManageMembers || asModerator else {
                throw ChatFailure(.forbidden, "only the sender, an owner or an admin can delete a message")
            }
            if target.deleted,
                let earlier = try Row.fetchOneCached(db,
                    sql: "SELECT \(Self.eventColumns) FROM events WHERE conversation_id = ? AND kind = 'message_deleted' AND target_seq = ?",
                    arguments: [conversation, seq]
                ).map(Self.event)
            {
                return AppendResult(event: earlier, duplicate: true)
            }
            try Self.eraseMessage(db, conversation: conversation, seq: seq)
            let event = try Self.appendEvent(
                db, &changes,
                Event(
                    conversationID: conversation, seq: 0, kind: .messageDeleted, senderID: by, clientMsgID: clientMsgID,
                    subjectUserID: target.senderID, createdAt: now, targetSeq: seq))
            return AppendResult(event: event, duplicate: false)
        }
    }

    public func react(
        conversation: RoomID, seq: Seq, user: UserID, emoji: String, add: Bool, now: Millis
    ) async throws -> AppendResult? {
        try await write { db, changes in
            _ = try Self.requireWriter(db, conversation: conversation, user: user, now: now)
            let target = try Self.targetMessage(db, conversation: conversation, seq: seq)
            guard !target.deleted else { throw ChatFailure(.notFound, "the message was deleted") }
            let existing = try Int64.fetchOneCached(db,
                sql: "SELECT event_seq FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ? AND emoji = ?",
                arguments: [conversation, seq, user, emoji])
            if add {
                if let existing, let earlier = try Self.fetchEvent(db, conversation: conversation, seq: existing) {
                    return AppendResult(event: earlier, duplicate: true)
                }
                let mine = try Int.fetchOneCached(
                    db, sql: "SELECT count(*) FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ?",
                    arguments: [conversation, seq, user]) ?? 0
                guard mine < ConversationService.maxReactionsPerUserPerMessage else {
                    throw ChatFailure(
                        .tooLarge, "at most \(ConversationService.maxReactionsPerUserPerMessage) reactions per message",
                        field: "emoji")
                }
                let event = try Self.appendEvent(
                    db, &changes,
                    Event(conversationID: conversation, seq: 0, kind: .reactionAdded, senderID: user, createdAt: now, targetSeq: seq, emoji: emoji))
                try db.cachedExecute(sql: "INSERT INTO reactions (conversation_id, seq, user_id, emoji, event_seq, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [conversation, seq, user, emoji, event.seq, now])
                return AppendResult(event: event, duplicate: false)
            }
            guard existing != nil else { return nil }
            try db.cachedExecute(sql: "DELETE FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ? AND emoji = ?",
                arguments: [conversation, seq, user, emoji])
            let event = try Self.appendEvent(
                db, &changes,
                Event(conversationID: conversation, seq: 0, kind: .reactionRemoved, senderID: user, createdAt: now, targetSeq: seq, emoji: emoji))
            return AppendResult(event: event, duplicate: false)
        }
    }

    public func markRead(conversation: RoomID, user: UserID, seq: Seq) async throws -> (Seq, Bool) {
        try await write { db in
            guard
                let row = try Row.fetchOneCached(db,
                    sql: """
                        SELECT m.read_seq, c.last_seq FROM members m JOIN conversations c ON c.id = m.conversation_id
                        WHERE m.conversation_id = ? AND m.user_id = ?
                        """, arguments: [conversation, user])
            else { throw try Self.nonMemberFailure(db, conversation: conversation) }
            let current: Int64 = row["read_seq"]
            let head: Int64 = row["last_seq"]
            guard seq <= head else { throw ChatFailure.invalid("seq", "seq \(seq) is beyond the head \(head)") }
            guard seq > current else { return (current, false) }
            try db.cachedExecute(sql: "UPDATE members SET read_seq = ? WHERE conversation_id = ? AND user_id = ?",
                arguments: [seq, conversation, user])
            return (seq, true)
        }
    }

    // MARK: Reads

    public func history(conversation: RoomID, anchor: HistoryAnchor, limit: Int, viewer: UserID) async throws -> HistoryPage {
        try await read { db in
            _ = try Self.requireMember(db, conversation: conversation, user: viewer)
            let heads = try Row.fetchOneCached(db, sql: "SELECT last_seq, purged_seq FROM conversations WHERE id = ?", arguments: [conversation])
            let head: Int64 = heads?[0] ?? 0
            let base = "SELECT \(Self.eventColumns) FROM events WHERE conversation_id = ?"
            var events: [Event]
            let more: Bool
            switch anchor {
            case .after(let seq):
                let rows = try Row.fetchAllCached(db, sql: base + " AND seq > ? ORDER BY seq LIMIT ?", arguments: [conversation, seq, limit + 1])
                more = rows.count > limit
                events = rows.prefix(limit).map(Self.event)
            case .before(let seq):
                let rows = try Row.fetchAllCached(db, sql: base + " AND seq < ? ORDER BY seq DESC LIMIT ?", arguments: [conversation, seq, limit + 1])
                more = rows.count > limit
                events = rows.prefix(limit).reversed().map(Self.event)
            case .newest:
                let rows = try Row.fetchAllCached(db, sql: base + " ORDER BY seq DESC LIMIT ?", arguments: [conversation, limit + 1])
                more = rows.count > limit
                events = rows.prefix(limit).reversed().map(Self.event)
            }
            if let first = events.first?.seq, let last = events.last?.seq {
                let rows = try Row.fetchAllCached(db,
                    sql: """
                        SELECT seq, emoji, count(*) AS n, max(user_id = ?) AS mine FROM reactions
                        WHERE conversation_id = ? AND seq BETWEEN ? AND ? GROUP BY seq, emoji ORDER BY seq, min(created_at)
                        """, arguments: [viewer, conversation, first, last])
                var bySeq: [Seq: [ReactionSummary]] = [:]
                for row in rows {
                    bySeq[row["seq"], default: []].append(ReactionSummary(emoji: row["emoji"], count: row["n"], mine: row["mine"]))
                }
                for i in events.indices where events[i].kind == .message {
                    events[i].reactions = bySeq[events[i].seq] ?? []
                }
            }
            var page = HistoryPage(events: events, hasMore: more, headSeq: head)
            page.purgedThroughSeq = heads?[1] ?? 0
            return page
        }
    }

    /// One member's view of a conversation: read position, unread and
    /// mention counts (messages after the read position, not the member's
    /// own, not deleted), and the newest message.
    static func state(_ db: Database, _ c: Conversation, user: UserID) throws -> ConversationState {
        let readSeq = try Int64.fetchOneCached(db, sql: "SELECT read_seq FROM members WHERE conversation_id = ? AND user_id = ?", arguments: [c.id, user]) ?? 0
        let unread = try Int.fetchOneCached(db,
            sql: """
                SELECT count(*) FROM events WHERE conversation_id = ? AND seq > ? AND kind = 'message'
                AND sender_id != ? AND deleted = 0
                """, arguments: [c.id, readSeq, user]) ?? 0
        let mentioned = try Int.fetchOneCached(db,
            sql: """
                SELECT count(*) FROM mentions m JOIN events e ON e.conversation_id = m.conversation_id AND e.seq = m.seq
                WHERE m.conversation_id = ? AND m.user_id = ? AND m.seq > ? AND e.sender_id != ?
                """, arguments: [c.id, user, readSeq, user]) ?? 0
        let last = try Row.fetchOneCached(db,
            sql: "SELECT \(eventColumns) FROM events WHERE conversation_id = ? AND kind = 'message' ORDER BY seq DESC LIMIT 1",
            arguments: [c.id]
        ).map(event)
        return ConversationState(conversation: c, readSeq: readSeq, unreadCount: unread, mentionCount: mentioned, lastMessage: last)
    }

    public func conversationStates(
        memberOf user: UserID, before: (Millis, RoomID)?, kind: ConversationKind?, limit: Int
    ) async throws -> PageResult<ConversationState> {
        try await read { db in
            let page = try Self.listConversations(db, user: user, before: before, kind: kind, limit: limit)
            return PageResult(items: try page.items.map { try Self.state(db, $0, user: user) }, hasMore: page.hasMore)
        }
    }

    public func sync(
        user: UserID, after accountSeq: Seq, limit: Int, includeConversations: Bool, maxConversations: Int
    ) async throws -> SyncResult {
        try await read { db in
            let head = try Int64.fetchOneCached(db, sql: "SELECT account_seq FROM users WHERE id = ?", arguments: [user]) ?? 0
            guard accountSeq <= head else {
                throw ChatFailure.invalid("account_seq", "account_seq \(accountSeq) is beyond the head \(head)")
            }
            let rows = try Row.fetchAllCached(db,
                sql: """
                    SELECT seq, kind, conversation_id, other_user_id, device_id, reason, created_at FROM account_events
                    WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?
                    """, arguments: [user, accountSeq, limit + 1])
            let events = rows.prefix(limit).compactMap { row -> AccountEvent? in
                guard let kind = AccountEventKind(rawValue: row["kind"]) else { return nil }
                return AccountEvent(
                    userID: user, seq: row["seq"], kind: kind, conversationID: row["conversation_id"],
                    otherUserID: row["other_user_id"], deviceID: row["device_id"], reason: row["reason"],
                    createdAt: row["created_at"])
            }
            var states: [ConversationState] = []
            var truncated = false
            if includeConversations {
                let page = try Self.listConversations(db, user: user, before: nil, kind: nil, limit: maxConversations)
                truncated = page.hasMore
                states = try page.items.map { try Self.state(db, $0, user: user) }
            }
            return SyncResult(
                accountEvents: Array(events), hasMore: rows.count > limit, accountHeadSeq: head, conversations: states,
                conversationsTruncated: truncated)
        }
    }
}
