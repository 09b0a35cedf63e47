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
    static func event(_ row: StatementRow) -> Event {
        let role: String? = row[18]
        let type: String? = row[5]
        let mentions: String? = row[8]
        let fileID: String? = row[9]
        let kind: String? = row[2]
        return Event(
            conversationID: row[0] ?? 0, seq: row[1] ?? 0, kind: kind.flatMap(EventKind.init(rawValue:)) ?? .message,
            senderID: row[3] ?? 0, clientMsgID: row[4], text: row[6], subjectUserID: row[17],
            role: role.flatMap(MemberRole.init(rawValue:)), createdAt: row[24] ?? 0,
            messageType: type.flatMap(MessageType.init(rawValue:)), replyToSeq: row[7],
            mentions: mentions?.split(separator: ",").compactMap { Int64($0) } ?? [],
            attachment: fileID.map {
                Attachment(
                    fileID: $0, name: row[10] ?? "", size: row[11] ?? 0, mimeType: row[12] ?? "", width: row[13] ?? 0,
                    height: row[14] ?? 0)
            },
            targetSeq: row[15], emoji: row[16], editedAt: row[22], deleted: row[23] ?? false, name: row[19],
            description: row[20], mutedUntil: row[21])
    }

    static func fetchEvent(_ db: Database, conversation: ConversationID, seq: Seq) throws -> Event? {
        try db.directRow(eventBySeqSQL, conversation, seq, map: event)
    }

    /// A user's standing in a conversation, in one statement: the
    /// conversation, the user's membership and the user's account.
    static func standing(_ db: Database, of user: UserID, in conversation: ConversationID) throws -> Standing {
        try db.directRow(
            """
            SELECT c.kind, c.visibility, c.last_seq, m.role, m.read_seq, m.muted_until, u.disabled, u.role,
              m.delivered_seq, m.notify_level, m.notify_muted_until
            FROM conversations c
            LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = ?2
            LEFT JOIN users u ON u.id = ?2
            WHERE c.id = ?1
            """, conversation, user
        ) { row in
            let kind: String? = row[0]
            let visibility: String? = row[1]
            let role: String? = row[3]
            let disabled: Bool? = row[6]
            let serverRole: String? = row[7]
            let notifyLevel: String? = row[9]
            return Standing(
                conversation: ConversationSnapshot(
                    id: conversation, kind: kind.flatMap(ConversationKind.init(rawValue:)) ?? .room,
                    visibility: visibility.flatMap(Visibility.init(rawValue:)) ?? .private, headSeq: row[2] ?? 0),
                membership: role.map {
                    Membership(
                        role: MemberRole(rawValue: $0) ?? .member, readSeq: row[4] ?? 0, mutedUntil: row[5], deliveredSeq: row[8] ?? 0,
                        notifications: NotificationSettings(
                            level: notifyLevel.flatMap(NotifyLevel.init(rawValue:)) ?? .all, mutedUntil: row[10]))
                },
                account: disabled.map {
                    AccountSnapshot(id: user, disabled: $0, serverRole: serverRole.flatMap(ServerRole.init(rawValue:)) ?? .user)
                })
        } ?? Standing(conversation: nil, membership: nil, account: nil)
    }

    // MARK: Reads

    public func history(conversation: ConversationID, anchor: HistoryAnchor, limit: Int, viewer: UserID) async throws -> HistoryPage {
        try await read { db in
            try ConversationPolicy.authorize(.history, Self.standing(db, of: viewer, in: conversation))
            let heads = try Row.fetchOneCached(db, sql: "SELECT last_seq, purged_seq FROM conversations WHERE id = ?", arguments: [conversation])
            let head: Int64 = heads?[0] ?? 0
            let base = "SELECT \(Self.eventColumns) FROM events WHERE conversation_id = ?"
            var events: [Event]
            let more: Bool
            switch anchor {
            case .after(let seq):
                let rows = try db.directRows(base + " AND seq > ? ORDER BY seq LIMIT ?", conversation, seq, limit + 1, map: Self.event)
                more = rows.count > limit
                events = Array(rows.prefix(limit))
            case .before(let seq):
                let rows = try db.directRows(base + " AND seq < ? ORDER BY seq DESC LIMIT ?", conversation, seq, limit + 1, map: Self.event)
                more = rows.count > limit
                events = rows.prefix(limit).reversed()
            case .newest:
                let rows = try db.directRows(base + " ORDER BY seq DESC LIMIT ?", conversation, limit + 1, map: Self.event)
                more = rows.count > limit
                events = rows.prefix(limit).reversed()
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
    static func state(_ db: Database, _ c: Conversation, user: UserID, receiptsListMax: Int) throws -> ConversationState {
        let member = try Row.fetchOneCached(db,
            sql: "SELECT read_seq, notify_level, notify_muted_until FROM members WHERE conversation_id = ? AND user_id = ?",
            arguments: [c.id, user])
        let readSeq: Int64 = member?[0] ?? 0
        let notifications = NotificationSettings(
            level: (member?[1] as String?).flatMap(NotifyLevel.init(rawValue:)) ?? .all, mutedUntil: member?[2])
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
        let last = try db.directRow(
            "SELECT \(eventColumns) FROM events WHERE conversation_id = ? AND kind = 'message' ORDER BY seq DESC LIMIT 1",
            c.id, map: event)
        var state = ConversationState(conversation: c, readSeq: readSeq, unreadCount: unread, mentionCount: mentioned, lastMessage: last)
        state.notifications = notifications
        try receipts(db, into: &state, viewer: user, listMax: receiptsListMax)
        return state
    }

    /// The members' positions (small conversations) and the counts (§6.3), as `ReceiptPolicy.detail` says.
    static func receipts(_ db: Database, into state: inout ConversationState, viewer: UserID, listMax: Int) throws {
        let id = state.conversation.id
        let through = state.lastMessage?.seq
        switch ReceiptPolicy.detail(memberCount: state.conversation.memberCount, listMax: listMax) {
        case .list:
            let rows = try Row.fetchAllCached(db,
                sql: "SELECT user_id, delivered_seq, read_seq FROM members WHERE conversation_id = ? ORDER BY user_id LIMIT ?",
                arguments: [id, listMax])
            state.memberPositions = rows.map { MemberPosition(userID: $0[0], deliveredSeq: $0[1], readSeq: $0[2]) }
            (state.deliveredCount, state.readCount) = ReceiptPolicy.counts(state.memberPositions, viewer: viewer, through: through)
        case .counts:
            guard let through else { return }
            let row = try Row.fetchOneCached(db,
                sql: """
                    SELECT coalesce(sum(delivered_seq >= ?1), 0), coalesce(sum(read_seq >= ?1), 0)
                    FROM members WHERE conversation_id = ?2 AND user_id != ?3
                    """, arguments: [through, id, viewer])
            state.deliveredCount = row?[0] ?? 0
            state.readCount = row?[1] ?? 0
        case .none:
            break
        }
    }

    public func conversationStates(
        memberOf user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int, receiptsListMax: Int
    ) async throws -> PageResult<ConversationState> {
        try await read { db in
            let page = try Self.listConversations(db, user: user, before: before, kind: kind, limit: limit)
            return PageResult(
                items: try page.items.map { try Self.state(db, $0, user: user, receiptsListMax: receiptsListMax) }, hasMore: page.hasMore)
        }
    }

    public func sync(
        user: UserID, after accountSeq: Seq, limit: Int, includeConversations: Bool, maxConversations: Int,
        receiptsListMax: Int
    ) async throws -> SyncResult {
        try await read { db in
            let head = try Int64.fetchOneCached(db, sql: "SELECT account_seq FROM users WHERE id = ?", arguments: [user]) ?? 0
            try MessagePolicy.checkSyncPosition(accountSeq, head: head)
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
                states = try page.items.map { try Self.state(db, $0, user: user, receiptsListMax: receiptsListMax) }
            }
            return SyncResult(
                accountEvents: Array(events), hasMore: rows.count > limit, accountHeadSeq: head, conversations: states,
                conversationsTruncated: truncated)
        }
    }
}
