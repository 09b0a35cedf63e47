import ChatCore
import PostgresNIO

/// Row mapping and the write steps shared by transactions and the store's
/// own writes; the column lists and statements are SQLiteStore's.
extension PostgresStore {
    static let userColumns =
        "u.id, u.username, u.display_name, u.avatar_url, u.status_text, u.role, u.created_at, u.email, u.password_hash, u.disabled"

    static func account(_ row: PGRow) -> UserAccount {
        UserAccount(user: user(row), email: row["email"].text, passwordHash: row["password_hash"].text, disabled: row["disabled"].bool)
    }

    static func user(_ row: PGRow) -> User {
        User(
            id: row["id"].int, username: row["username"].text, displayName: row["display_name"].text,
            avatarURL: row["avatar_url"].text, statusText: row["status_text"].text,
            role: ServerRole(rawValue: row["role"].text) ?? .user, createdAt: row["created_at"].int)
    }

    static let deviceColumns =
        "d.id AS row_id, d.user_id, d.device_id, d.name, d.platform, d.public_key, d.created_at AS d_created_at, d.last_seen_at, d.last_address, d.revoked_at, d.token_expires_at,\n        (SELECT p.kind FROM push_targets p WHERE p.device_id = d.id) AS push_kind"

    static func device(_ row: PGRow) -> Device {
        var device = Device(
            rowID: row["row_id"].int, userID: row["user_id"].int, deviceID: row["device_id"].text, name: row["name"].text,
            platform: row["platform"].text, publicKey: row["public_key"].bytesOrNil, createdAt: row["d_created_at"].int,
            lastSeenAt: row["last_seen_at"].int, lastAddress: row["last_address"].text, revokedAt: row["revoked_at"].intOrNil,
            tokenExpiresAt: row["token_expires_at"].intOrNil)
        device.push = row["push_kind"].textOrNil.flatMap(PushKind.init(rawValue:))
        return device
    }

    static let eventColumns = """
        conversation_id, seq, kind, sender_id, client_msg_id, message_type, text, reply_to_seq, mentions, file_id,
        file_name, file_size, file_mime, file_width, file_height, target_seq, emoji, subject_user_id, role, name,
        description, muted_until, edited_at, deleted, created_at
        """

    /// Maps a row selected with `eventColumns`, by position.
    static func event(_ row: PGRow) -> Event {
        Event(
            conversationID: row[0].int, seq: row[1].int, kind: EventKind(rawValue: row[2].text) ?? .message,
            senderID: row[3].int, clientMsgID: row[4].textOrNil, text: row[6].textOrNil, subjectUserID: row[17].intOrNil,
            role: row[18].textOrNil.flatMap(MemberRole.init(rawValue:)), createdAt: row[24].int,
            messageType: row[5].textOrNil.flatMap(MessageType.init(rawValue:)), replyToSeq: row[7].intOrNil,
            mentions: row[8].textOrNil?.split(separator: ",").compactMap { Int64($0) } ?? [],
            attachment: row[9].textOrNil.map {
                Attachment(
                    fileID: $0, name: row[10].text, size: row[11].int, mimeType: row[12].text, width: Int(row[13].int),
                    height: Int(row[14].int))
            },
            targetSeq: row[15].intOrNil, emoji: row[16].textOrNil, editedAt: row[22].intOrNil, deleted: row[23].bool,
            name: row[19].textOrNil, description: row[20].textOrNil, mutedUntil: row[21].intOrNil)
    }

    /// Takes the conversation's next seq and stores the event at it, in one
    /// statement (one round trip): ?1 the activity time, ?2 the
    /// conversation, ?3... the event's columns after `seq`.
    static let appendEventSQL = PGStatement(
        """
        WITH next AS (
          UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = ?1 WHERE id = ?2 RETURNING last_seq)
        INSERT INTO events (\(eventColumns))
        VALUES (?2, (SELECT last_seq FROM next), \((3...25).map { "?\($0)" }.joined(separator: ", ")))
        RETURNING seq
        """, bookkept: true)
    /// A user's standing (?2) in a conversation (?1), one row; its columns
    /// have distinct names, so it can be a subquery (`sendSnapshotSQL`).
    private static let standingSelect = standingSelect(conversation: "?1", user: "?2")

    private static func standingSelect(conversation: String, user: String) -> String {
        """
        SELECT c.kind, c.visibility, c.last_seq, m.role, m.read_seq, m.muted_until, u.disabled, u.role AS user_role,
          m.delivered_seq, m.notify_level, m.notify_muted_until
        FROM conversations c
        LEFT JOIN members m ON m.conversation_id = c.id AND m.user_id = \(user)
        LEFT JOIN users u ON u.id = \(user)
        WHERE c.id = \(conversation)
        """
    }
    static let standingSQL = PGStatement(standingSelect)
    static let standingForUpdateSQL = PGStatement(standingSelect + " FOR UPDATE OF c")
    /// A send's three reads as one row (`PostgresTransaction.sendSnapshot`),
    /// ?1 the conversation, ?2 the sender, ?3 the client_msg_id: columns
    /// 0–10 are `standingSQL`'s (NULL when there is no such conversation;
    /// its row locked), 11 whether ?2 and another member of ?1 block each
    /// other either way (meaningful in a direct chat, which has one other
    /// member), 12–36 the event ?2 stored under ?3 (`eventColumns`; NULL
    /// when none).
    static let sendSnapshotSQL = PGStatement(
        """
        SELECT \(sendSnapshotColumns(conversation: "?1", sender: "?2"))
        FROM (SELECT 1) one
        LEFT JOIN LATERAL (\(standingSelect) FOR UPDATE OF c) s ON true
        LEFT JOIN events e ON e.sender_id = ?2 AND e.client_msg_id = ?3
        """)

    private static func sendSnapshotColumns(conversation: String, sender: String) -> String {
        """
        s.*,
          coalesce((SELECT EXISTS (
              SELECT 1 FROM blocks b
              WHERE (b.user_id = \(sender) AND b.blocked_id = p.user_id) OR (b.user_id = p.user_id AND b.blocked_id = \(sender)))
            FROM members p WHERE p.conversation_id = \(conversation) AND p.user_id != \(sender) LIMIT 1), false),
          \(eventColumns.split(separator: ",").map { "e." + $0.split(whereSeparator: \.isWhitespace).joined() }.joined(separator: ", "))
        """
    }

    /// `sendSnapshotSQL` for many sends at once (?1 conversations, ?2
    /// senders, ?3 client_msg_ids: arrays of one element per send), a row
    /// each, its send's three parameters after `sendSnapshotSQL`'s columns
    /// (`batchSendSnapshotKey`). The conversations' rows are locked already
    /// (a group-commit batch locks them first). Each send's prior event is
    /// a lateral lookup (its LIMIT keeps it one), so the plan is an index
    /// lookup per send whatever PostgreSQL estimates; joined, it was at
    /// times a hash join over the whole of `events`.
    static let batchSendSnapshotSQL = PGStatement(
        """
        SELECT \(sendSnapshotColumns(conversation: "k.conversation", sender: "k.sender")), k.conversation, k.sender, k.client_msg_id
        FROM unnest(?1::bigint[], ?2::bigint[], ?3::text[]) AS k(conversation, sender, client_msg_id)
        LEFT JOIN LATERAL (\(standingSelect(conversation: "k.conversation", user: "k.sender"))) s ON true
        LEFT JOIN LATERAL (
          SELECT * FROM events WHERE sender_id = k.sender AND client_msg_id = k.client_msg_id COLLATE "C" LIMIT 1) e ON true
        """, plannedEachCall: true)

    static func batchSendSnapshotKey(_ row: PGRow) -> PostgresGroupCommit.SendKey {
        let n = row.values.count
        return PostgresGroupCommit.SendKey(conversation: row[n - 3].int, sender: row[n - 2].int, clientMsgID: row[n - 1].text)
    }

    /// The prior event of a `sendSnapshotSQL` row (nil: none).
    static func sendSnapshotPriorEvent(_ row: PGRow) -> Event? {
        guard row.values.count > 12, !row[12].isNull else { return nil }
        return event(PGRow(values: Array(row.values[12...]), names: []))
    }

    static let eventBySeqSQL = "SELECT \(eventColumns) FROM events WHERE conversation_id = ? AND seq = ?"
    static let eventByClientMsgIDSQL = PGStatement("SELECT \(eventColumns) FROM events WHERE sender_id = ? AND client_msg_id = ?")

    static func fetchEvent(_ s: PGSession, conversation: ConversationID, seq: Seq) throws -> Event? {
        try s.row(eventBySeqSQL, [conversation, seq]).map(event)
    }

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

    static func conversation(_ row: PGRow) -> Conversation {
        var c = Conversation(
            id: row["id"].int, kind: ConversationKind(rawValue: row["kind"].text) ?? .room, name: row["name"].text,
            description: row["description"].text, visibility: Visibility(rawValue: row["visibility"].text) ?? .private,
            createdBy: row["created_by"].intOrNil, createdAt: row["created_at"].int, headSeq: row["last_seq"].int,
            memberCount: Int(row["member_count"].int), myRole: row["my_role"].textOrNil.flatMap(MemberRole.init(rawValue:)),
            lastActivityAt: row["last_activity_at"].int, peerUserID: row["peer_id"].intOrNil)
        c.purgedThroughSeq = row["purged_seq"].int
        c.retentionDays = row["retention_days"].intOrNil.map { Int($0) }
        return c
    }

    static func fetchConversation(_ s: PGSession, id: ConversationID, viewer: UserID?) throws -> Conversation? {
        try s.row(conversationSelect(viewer: viewer) + " WHERE c.id = ?", [id]).map(conversation)
    }

    /// A user's standing in a conversation, in one statement. In a write,
    /// `lock` takes the conversation's row lock first, so the check and the
    /// write it guards see the same rows whatever other nodes do (SQLite
    /// gets that from its single writer).
    static func standing(_ s: PGSession, of user: UserID, in conversation: ConversationID, lock: Bool) throws -> Standing {
        standing(try s.row(lock ? standingForUpdateSQL : standingSQL, [conversation, user]), of: user, in: conversation)
    }

    /// The standing of `user` from a row of `standingSQL` (nil: no such conversation).
    static func standing(_ row: PGRow?, of user: UserID, in conversation: ConversationID) -> Standing {
        guard let row else { return Standing(conversation: nil, membership: nil, account: nil) }
        return Standing(
            conversation: ConversationSnapshot(
                id: conversation, kind: ConversationKind(rawValue: row[0].text) ?? .room,
                visibility: Visibility(rawValue: row[1].text) ?? .private, headSeq: row[2].int),
            membership: row[3].textOrNil.map {
                Membership(
                    role: MemberRole(rawValue: $0) ?? .member, readSeq: row[4].int, mutedUntil: row[5].intOrNil, deliveredSeq: row[8].int,
                    notifications: NotificationSettings(
                        level: row[9].textOrNil.flatMap(NotifyLevel.init(rawValue:)) ?? .all, mutedUntil: row[10].intOrNil))
            },
            account: row[6].boolOrNil.map {
                AccountSnapshot(id: user, disabled: $0, serverRole: row[7].textOrNil.flatMap(ServerRole.init(rawValue:)) ?? .user)
            })
    }

    /// Gives `event` the conversation's next seq (the row lock of the
    /// UPDATE orders concurrent writers), stores it, and queues it for publishing.
    static func appendEvent(_ s: PGSession, _ changes: inout CommittedChanges, _ event: Event) throws -> Event {
        let a = event.attachment
        let args: [any PGBindable] = [
            event.createdAt, event.conversationID, event.kind.rawValue, event.senderID, event.clientMsgID,
            event.messageType?.rawValue, event.text, event.replyToSeq,
            event.mentions.isEmpty ? nil : event.mentions.map(String.init).joined(separator: ","),
            a?.fileID, a?.name, a?.size, a?.mimeType, a.map { Int64($0.width) }, a.map { Int64($0.height) }, event.targetSeq,
            event.emoji, event.subjectUserID, event.role?.rawValue, event.name, event.description, event.mutedUntil,
            event.editedAt, event.deleted, event.createdAt,
        ]
        if let seq = s.deferAppend(event) {
            var stored = event
            stored.seq = seq
            changes.events.append(stored)
            return stored
        }
        let seq: Int64?
        do {
            seq = try s.int(appendEventSQL, args)
        } catch where PGServerError(error).map({ $0.sqlState == "23502" && $0.columnName == "seq" }) == true {
            seq = nil  // no conversation row, so no seq
        }
        guard let seq else { throw ChatFailure(.notFound, "no such conversation") }
        var stored = event
        stored.seq = seq
        s.appended(stored)
        for user in stored.mentions {
            try s.execute(insertMentionSQL, [stored.conversationID, seq, user])
        }
        changes.events.append(stored)
        return stored
    }

    static let insertMentionSQL = PGStatement(
        "INSERT INTO mentions (conversation_id, seq, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", bookkept: true)

    /// Stores a batch's deferred appends (`PGSession.deferAppend`): the
    /// events (?1–?25, a column each), their mentions (?26–?28) and each
    /// conversation's last seq and activity time (?29–?31), and NOTIFYs on
    /// channel ?32 the payloads ?33 (in order; none when the batch goes on),
    /// in one statement. Prepared, like `lockConversationsSQL`: the only
    /// table it joins is `conversations` (the heads, by id).
    static let insertEventsSQL = PGStatement(
        """
        WITH e AS (
          INSERT INTO events (\(eventColumns))
          SELECT * FROM unnest(
            ?1::bigint[], ?2::bigint[], ?3::text[], ?4::bigint[], ?5::text[], ?6::text[], ?7::text[], ?8::bigint[],
            ?9::text[], ?10::text[], ?11::text[], ?12::bigint[], ?13::text[], ?14::bigint[], ?15::bigint[], ?16::bigint[],
            ?17::text[], ?18::bigint[], ?19::text[], ?20::text[], ?21::text[], ?22::bigint[], ?23::bigint[], ?24::boolean[],
            ?25::bigint[])),
        m AS (
          INSERT INTO mentions (conversation_id, seq, user_id)
          SELECT * FROM unnest(?26::bigint[], ?27::bigint[], ?28::bigint[]) ON CONFLICT DO NOTHING),
        h AS (
          UPDATE conversations c SET last_seq = u.seq, last_activity_at = u.at
          FROM unnest(?29::bigint[], ?30::bigint[], ?31::bigint[]) AS u(id, seq, at)
          WHERE c.id = u.id)
        SELECT pg_notify(?32::text, n.payload) FROM unnest(?33::text[]) WITH ORDINALITY AS n(payload, i) ORDER BY n.i
        """, bookkept: true)

    static func insertEventsArgs(_ events: [Event], notifying payloads: [String], on channel: String) -> [any PGBindable] {
        func column(_ value: (Event) -> Int64?) -> PGArray { PGArray(events.map(value)) }
        func column(_ value: (Event) -> String?) -> PGArray { PGArray(events.map(value)) }
        var mentions: ([Int64?], [Int64?], [Int64?]) = ([], [], [])
        var heads: [ConversationID: (seq: Seq, at: Millis)] = [:]
        for event in events {
            for user in event.mentions {
                mentions.0.append(event.conversationID)
                mentions.1.append(event.seq)
                mentions.2.append(user)
            }
            if heads[event.conversationID].map({ $0.seq < event.seq }) ?? true {
                heads[event.conversationID] = (event.seq, event.createdAt)
            }
        }
        let ids = heads.keys.sorted()
        return [
            column { $0.conversationID }, column { $0.seq }, column { $0.kind.rawValue }, column { $0.senderID },
            column { $0.clientMsgID }, column { $0.messageType?.rawValue }, column { $0.text }, column { $0.replyToSeq },
            column { $0.mentions.isEmpty ? nil : $0.mentions.map(String.init).joined(separator: ",") },
            column { $0.attachment?.fileID }, column { $0.attachment?.name }, column { $0.attachment?.size },
            column { $0.attachment?.mimeType }, column { $0.attachment.map { Int64($0.width) } },
            column { $0.attachment.map { Int64($0.height) } }, column { $0.targetSeq }, column { $0.emoji },
            column { $0.subjectUserID }, column { $0.role?.rawValue }, column { $0.name }, column { $0.description },
            column { $0.mutedUntil }, column { $0.editedAt }, PGArray(events.map { Optional($0.deleted) }),
            column { $0.createdAt },
            PGArray(mentions.0), PGArray(mentions.1), PGArray(mentions.2),
            PGArray(ids.map { Optional($0) }), PGArray(ids.map { heads[$0]?.seq }), PGArray(ids.map { heads[$0]?.at }),
            channel, PGArray(payloads.map { Optional($0) }),
        ]
    }

    static func appendAccountEvent(_ s: PGSession, _ changes: inout CommittedChanges, _ event: AccountEvent) throws {
        guard let seq = try s.int("UPDATE users SET account_seq = account_seq + 1 WHERE id = ? RETURNING account_seq", [event.userID])
        else { return }
        var stored = event
        stored.seq = seq
        try s.execute(
            """
            INSERT INTO account_events (user_id, seq, kind, conversation_id, other_user_id, device_id, reason, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                stored.userID, seq, stored.kind.rawValue, stored.conversationID, stored.otherUserID, stored.deviceID,
                stored.reason, stored.createdAt,
            ])
        changes.accountEvents.append(stored)
    }

    static let isBlockedSQL = PGStatement(
        "SELECT 1 FROM blocks WHERE (user_id = ?1 AND blocked_id = ?2) OR (user_id = ?2 AND blocked_id = ?1)")

    static func isBlocked(_ s: PGSession, _ a: UserID, _ b: UserID) throws -> Bool {
        try s.exists(isBlockedSQL, [a, b])
    }

    static let fileColumns = "f.id, f.owner_id, f.name, f.mime, f.size, f.hash, f.created_at"

    static func storedFile(_ row: PGRow) -> StoredFile {
        StoredFile(
            id: row[0].text, ownerID: row[1].intOrNil, name: row[2].text, mimeType: row[3].text, size: row[4].int,
            hash: row[5].bytesOrNil ?? [], createdAt: row[6].int)
    }

    static func file(_ s: PGSession, id: String) throws -> StoredFile? {
        try s.row("SELECT \(fileColumns) FROM files f WHERE f.id = ?", [id]).map(storedFile)
    }

    static func isFileShared(_ s: PGSession, id: String, withMember user: UserID) throws -> Bool {
        try s.exists(
            """
            SELECT 1 FROM file_refs r JOIN members m ON m.conversation_id = r.conversation_id AND m.user_id = ?
            WHERE r.file_id = ? LIMIT 1
            """, [user, id])
    }
}
