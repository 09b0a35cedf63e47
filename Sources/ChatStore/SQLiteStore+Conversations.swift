import ChatCore
import Foundation
import GRDB

extension SQLiteStore {
    // MARK: Row mapping

    static func conversationSelect(viewer: UserID?) -> String {
        let v = viewer ?? 0
        return """
            SELECT c.id, c.kind, c.name, c.description, c.visibility, c.created_by, c.created_at, c.last_seq,
                   c.member_count, c.last_activity_at, c.purged_seq, c.retention_days,
                   (SELECT role FROM members WHERE conversation_id = c.id AND user_id = \(v)) AS my_role,
                   CASE c.kind WHEN 'direct' THEN
                     (SELECT user_id FROM members WHERE conversation_id = c.id AND user_id != \(v) LIMIT 1)
                   END AS peer_id
            FROM conversations c
            """
    }

    static func conversation(_ row: Row) -> Conversation {
        let role: String? = row["my_role"]
        var c = Conversation(
            id: row["id"], kind: ConversationKind(rawValue: row["kind"]) ?? .room, name: row["name"],
            description: row["description"], visibility: Visibility(rawValue: row["visibility"]) ?? .private,
            createdBy: row["created_by"], createdAt: row["created_at"], headSeq: row["last_seq"],
            memberCount: row["member_count"], myRole: role.flatMap(MemberRole.init(rawValue:)),
            lastActivityAt: row["last_activity_at"], peerUserID: row["peer_id"])
        c.purgedThroughSeq = row["purged_seq"]
        c.retentionDays = row["retention_days"]
        return c
    }

    static func fetchConversation(_ db: Database, id: ConversationID, viewer: UserID?) throws -> Conversation? {
        try Row.decodeOne(db.makeStatement(sql: conversationSelect(viewer: viewer) + " WHERE c.id = ?"), arguments: [id], conversation)
    }

    // MARK: Shared write steps

    // Statements of the send path, built once: they are looked up in the
    // statement cache by their text, and interpolating the column list on
    // every call cost an allocation of it per send.
    static let insertEventSQL = """
        INSERT INTO events (\(eventColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let eventBySeqSQL = "SELECT \(eventColumns) FROM events WHERE conversation_id = ? AND seq = ?"
    static let eventByClientMsgIDSQL = "SELECT \(eventColumns) FROM events WHERE sender_id = ? AND client_msg_id = ?"

    /// Gives `event` the conversation's next seq, stores it, and queues it for publishing.
    ///
    /// The seq is read, then written, rather than taken from an UPDATE ...
    /// RETURNING: SQLite gathers a RETURNING clause's rows in a temporary
    /// b-tree, which it opens and closes on every call (with the block
    /// check's, 7 % of the group-commit writer's samples in a paced direct
    /// benchmark: BENCHMARKS.md).
    static func appendEvent(_ db: Database, _ changes: inout CommittedChanges, _ event: Event) throws -> Event {
        guard let last = try db.directValue(Int64.self, "SELECT last_seq FROM conversations WHERE id = ?", event.conversationID)
        else { throw ChatFailure(.notFound, "no such conversation") }
        let seq = last + 1
        try db.directExecute("UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ?",
            seq, event.createdAt, event.conversationID)
        var stored = event
        stored.seq = seq
        let a = stored.attachment
        try db.directExecute(insertEventSQL,
            stored.conversationID, seq, stored.kind.rawValue, stored.senderID, stored.clientMsgID,
            stored.messageType?.rawValue, stored.text, stored.replyToSeq,
            stored.mentions.isEmpty ? nil : stored.mentions.map(String.init).joined(separator: ","),
            a?.fileID, a?.name, a?.size, a?.mimeType, a?.width, a?.height, stored.targetSeq, stored.emoji,
            stored.subjectUserID, stored.role?.rawValue, stored.name, stored.description, stored.mutedUntil,
            stored.editedAt, stored.deleted, stored.createdAt)
        for user in stored.mentions {
            try db.directExecute("INSERT OR IGNORE INTO mentions (conversation_id, seq, user_id) VALUES (?, ?, ?)",
                stored.conversationID, seq, user)
        }
        changes.events.append(stored)
        return stored
    }

    static func appendAccountEvent(_ db: Database, _ changes: inout CommittedChanges, _ event: AccountEvent) throws {
        // Read, then written, as in appendEvent (no RETURNING).
        guard let last = try db.directValue(Int64.self, "SELECT account_seq FROM users WHERE id = ?", event.userID) else { return }
        let seq = last + 1
        try db.directExecute("UPDATE users SET account_seq = ? WHERE id = ?", seq, event.userID)
        var stored = event
        stored.seq = seq
        try db.cachedExecute(sql: """
                INSERT INTO account_events (user_id, seq, kind, conversation_id, other_user_id, device_id, reason, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                stored.userID, seq, stored.kind.rawValue, stored.conversationID, stored.otherUserID, stored.deviceID,
                stored.reason, stored.createdAt,
            ])
        changes.accountEvents.append(stored)
    }

    // MARK: Conversations

    public func conversation(id: ConversationID, viewer: UserID?) async throws -> Conversation? {
        try await read { db in try Self.fetchConversation(db, id: id, viewer: viewer) }
    }

    public func room(nameKey: String, viewer: UserID?) async throws -> Conversation? {
        try await read { db in
            try Row.decodeOne(
                db.makeStatement(sql: Self.conversationSelect(viewer: viewer) + " WHERE c.name_key = ?"), arguments: [nameKey],
                Self.conversation)
        }
    }

    public func listRooms(visibility: Visibility?, page: Page, viewer: UserID?) async throws -> PageResult<Conversation> {
        try await read { db in
            var sql = Self.conversationSelect(viewer: viewer) + " WHERE c.kind != 'direct' AND c.id > ?"
            var args: StatementArguments = [page.after]
            if let visibility {
                sql += " AND c.visibility = ? AND c.kind = 'room'"
                _ = args.append(contentsOf: [visibility.rawValue])
            }
            sql += " ORDER BY c.id LIMIT ?"
            _ = args.append(contentsOf: [page.limit + 1])
            let rows = try Row.decodeAll(db.makeStatement(sql: sql), arguments: args, Self.conversation)
            return PageResult(items: Array(rows.prefix(page.limit)), hasMore: rows.count > page.limit)
        }
    }

    public func listConversations(
        memberOf user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int
    ) async throws -> PageResult<Conversation> {
        try await read { db in
            try Self.listConversations(db, user: user, before: before, kind: kind, limit: limit)
        }
    }

    static func listConversations(
        _ db: Database, user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int
    ) throws -> PageResult<Conversation> {
        var sql = conversationSelect(viewer: user) + " JOIN members mm ON mm.conversation_id = c.id AND mm.user_id = ?"
        var args: StatementArguments = [user]
        var conditions: [String] = []
        if let (activity, id) = before {
            conditions.append("(c.last_activity_at < ? OR (c.last_activity_at = ? AND c.id < ?))")
            _ = args.append(contentsOf: [activity, activity, id])
        }
        if let kind {
            conditions.append("c.kind = ?")
            _ = args.append(contentsOf: [kind.rawValue])
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?"
        _ = args.append(contentsOf: [limit + 1])
        let rows = try Row.decodeAll(db.makeStatement(sql: sql), arguments: args, conversation)
        return PageResult(items: Array(rows.prefix(limit)), hasMore: rows.count > limit)
    }

    public func membership(conversation: ConversationID, user: UserID) async throws -> Membership? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT role, read_seq, muted_until, delivered_seq FROM members WHERE conversation_id = ? AND user_id = ?",
                arguments: [conversation, user]
            ).map {
                Membership(
                    role: MemberRole(rawValue: $0["role"]) ?? .member, readSeq: $0["read_seq"], mutedUntil: $0["muted_until"],
                    deliveredSeq: $0["delivered_seq"])
            }
        }
    }

    public func isBanned(conversation: ConversationID, user: UserID) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM bans WHERE conversation_id = ? AND user_id = ?", arguments: [conversation, user]
            ) == true
        }
    }

    /// Events one transaction of a conversation deletion removes at most.
    static let deleteBatch = 2000

    public func deleteHistory(of conversation: ConversationID) async throws {
        // Oldest first, in bounded transactions (as a retention purge does),
        // so one deletion never holds the writer for long.
        while try await deleteOldestEvents(conversation, limit: Self.deleteBatch) >= Self.deleteBatch {}
        searchIndex.touched([conversation])
    }

    /// Removes the conversation's oldest `limit` events, raising purged_seq.
    func deleteOldestEvents(_ conversation: ConversationID, limit: Int) async throws -> Int {
        try await write { db -> Int in
            guard let purged = try Int64.fetchOne(db, sql: "SELECT purged_seq FROM conversations WHERE id = ?", arguments: [conversation]),
                let last = try Int64.fetchOne(db,
                    sql: "SELECT max(seq) FROM (SELECT seq FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?)",
                    arguments: [conversation, purged, limit])
            else { return 0 }
            try db.execute(sql: "DELETE FROM events WHERE conversation_id = ? AND seq > ? AND seq <= ?", arguments: [conversation, purged, last])
            let removed = db.changesCount
            try db.execute(sql: "UPDATE conversations SET purged_seq = ? WHERE id = ?", arguments: [last, conversation])
            return removed
        }
    }

    public func members(conversation: ConversationID, page: Page) async throws -> PageResult<Member> {
        try await read { db in
            let members = try Row.decodeAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.userColumns), m.role AS member_role, m.joined_at, m.read_seq, m.muted_until, m.delivered_seq
                        FROM members m JOIN users u ON u.id = m.user_id
                        WHERE m.conversation_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?
                        """), arguments: [conversation, page.after, page.limit + 1]
            ) { row in
                Member(
                    user: Self.user(row), role: MemberRole(rawValue: row["member_role"]) ?? .member,
                    joinedAt: row["joined_at"], readSeq: row["read_seq"], mutedUntil: row["muted_until"],
                    deliveredSeq: row["delivered_seq"])
            }
            return PageResult(items: Array(members.prefix(page.limit)), hasMore: members.count > page.limit)
        }
    }

    public func allMemberships() async throws -> [(ConversationID, UserID)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT conversation_id, user_id FROM members").map {
                ($0["conversation_id"], $0["user_id"])
            }
        }
    }

    public func ensureRooms(names: [String], now: Millis) async throws -> [ConversationID] {
        try await write { db, changes in
            var ids: [ConversationID] = []
            for name in names {
                let key = Validate.roomNameKey(name)
                if let row = try Row.fetchOne(
                    db, sql: "SELECT id, visibility FROM conversations WHERE name_key = ?", arguments: [key])
                {
                    try ConversationPolicy.checkDefaultRoom(name, visibility: Visibility(rawValue: row["visibility"]) ?? .private)
                    ids.append(row["id"])
                    continue
                }
                try db.execute(
                    sql: """
                        INSERT INTO conversations (kind, name, name_key, visibility, created_at, last_activity_at)
                        VALUES ('room', ?, ?, 'public', ?, ?)
                        """, arguments: [name, key, now, now])
                let id = db.lastInsertedRowID
                _ = try Self.appendEvent(
                    db, &changes, Event(conversationID: id, seq: 0, kind: .roomCreated, senderID: 0, createdAt: now))
                ids.append(id)
            }
            return ids
        }
    }
}
