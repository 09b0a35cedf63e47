import ChatCore
import Foundation
import GRDB

extension SQLiteStore {
    /// Runs `body` in a write of the group-commit writer: one savepoint of
    /// the batch's transaction, published after the batch commits.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await write { db, changes in
            let tx = SQLiteTransaction(db)
            let result = try body(tx)
            changes = tx.changes
            return result
        }
    }
}

/// `StoreTransaction` over one GRDB write: statements and row mapping only.
/// Hot statements go through the connection's statement cache.
final class SQLiteTransaction: StoreTransaction {
    let db: Database
    /// What the body appended, to publish after commit.
    var changes = CommittedChanges()

    init(_ db: Database) { self.db = db }

    // MARK: Snapshots

    func standing(of user: UserID, in conversation: ConversationID) throws -> Standing {
        try SQLiteStore.standing(db, of: user, in: conversation)
    }

    func account(_ user: UserID) throws -> AccountSnapshot? {
        try Row.fetchOneCached(db, sql: "SELECT username, disabled, role FROM users WHERE id = ?", arguments: [user]).map {
            AccountSnapshot(id: user, username: $0[0], disabled: $0[1], serverRole: ServerRole(rawValue: $0[2]) ?? .user)
        }
    }

    func userID(usernameKey: String) throws -> UserID? {
        try Int64.fetchOneCached(db, sql: "SELECT id FROM users WHERE username_key = ?", arguments: [usernameKey])
    }

    func conversation(_ id: ConversationID, viewer: UserID?) throws -> Conversation? {
        try SQLiteStore.fetchConversation(db, id: id, viewer: viewer)
    }

    func directConversation(between a: UserID, and b: UserID) throws -> Conversation? {
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM conversations WHERE direct_key = ?", arguments: [Self.directKey(a, b)])
        else { return nil }
        return try conversation(id, viewer: a)
    }

    /// The unique key of a pair's direct chat, whoever opened it.
    static func directKey(_ a: UserID, _ b: UserID) -> String { "\(min(a, b)):\(max(a, b))" }

    func roomsAndGroups(of user: UserID) throws -> [ConversationID] {
        try Int64.fetchAll(db,
            sql: """
                SELECT m.conversation_id FROM members m JOIN conversations c ON c.id = m.conversation_id
                WHERE m.user_id = ? AND c.kind != 'direct' ORDER BY m.conversation_id
                """, arguments: [user])
    }

    func isBanned(_ user: UserID, from conversation: ConversationID) throws -> Bool {
        try Bool.fetchOneCached(db, sql: "SELECT 1 FROM bans WHERE conversation_id = ? AND user_id = ?", arguments: [conversation, user]) == true
    }

    func longestServing(in conversation: ConversationID, role: MemberRole?) throws -> UserID? {
        try Int64.fetchOne(db,
            sql: """
                SELECT user_id FROM members WHERE conversation_id = ?1 AND (?2 IS NULL OR role = ?2)
                ORDER BY joined_at, user_id LIMIT 1
                """, arguments: [conversation, role?.rawValue])
    }

    func members(of conversation: ConversationID, role: MemberRole?) throws -> [UserID] {
        try Int64.fetchAll(db,
            sql: "SELECT user_id FROM members WHERE conversation_id = ?1 AND (?2 IS NULL OR role = ?2) ORDER BY user_id",
            arguments: [conversation, role?.rawValue])
    }

    func peer(inDirect conversation: ConversationID, of user: UserID) throws -> UserID? {
        try Int64.fetchOneCached(db, sql: "SELECT user_id FROM members WHERE conversation_id = ? AND user_id != ?",
            arguments: [conversation, user])
    }

    func isBlocked(_ a: UserID, _ b: UserID) throws -> Bool { try SQLiteStore.isBlocked(db, a, b) }

    func blocksWithPeer(inDirect conversation: ConversationID, of user: UserID) throws -> Bool {
        try db.directValue(Bool.self, Self.peerBlockSQL, conversation, user) == true
    }

    /// `blocksWithPeer`'s statement (user ?2, conversation ?1); no row when
    /// there is no other member. Two primary-key probes: one EXISTS over
    /// the two directions' OR made SQLite de-duplicate them in a temporary
    /// b-tree, opened and closed on every send.
    static let peerBlockSQL = """
        SELECT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = ?2 AND b.blocked_id = p.user_id)
            OR EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = p.user_id AND b.blocked_id = ?2)
        FROM members p
        WHERE p.conversation_id = ?1 AND p.user_id != ?2
        LIMIT 1
        """

    func blocks(_ user: UserID, _ target: UserID) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?", arguments: [user, target]) == true
    }

    func link(from user: UserID, to other: UserID) throws -> FriendPolicy.Link? {
        try String.fetchOne(db, sql: "SELECT state FROM friendships WHERE user_id = ? AND other_id = ?", arguments: [user, other])
            .flatMap(FriendPolicy.Link.init(rawValue:))
    }

    func friends(of user: UserID) throws -> [UserID] {
        try Int64.fetchAll(db, sql: "SELECT other_id FROM friendships WHERE user_id = ? AND state = 'accepted'", arguments: [user])
    }

    func device(_ device: DeviceRowID) throws -> Device? {
        try Row.decodeOne(
            db.cachedStatement(sql: "SELECT \(SQLiteStore.deviceColumns) FROM devices d WHERE d.id = ?"), arguments: [device],
            SQLiteStore.device)
    }

    func friendshipPartners(of user: UserID) throws -> [UserID] {
        try Int64.fetchAll(db,
            sql: """
                SELECT other_id FROM friendships WHERE user_id = ?
                UNION SELECT user_id FROM friendships WHERE other_id = ?
                """, arguments: [user, user])
    }

    func event(conversation: ConversationID, seq: Seq) throws -> Event? {
        try SQLiteStore.fetchEvent(db, conversation: conversation, seq: seq)
    }

    func priorEvent(sender: UserID, clientMsgID: String) throws -> Event? {
        try db.directRow(SQLiteStore.eventByClientMsgIDSQL, sender, clientMsgID, map: SQLiteStore.event)
    }

    func deletion(conversation: ConversationID, of seq: Seq) throws -> Event? {
        try db.directRow(
            "SELECT \(SQLiteStore.eventColumns) FROM events WHERE conversation_id = ? AND kind = 'message_deleted' AND target_seq = ?",
            conversation, seq, map: SQLiteStore.event)
    }

    func members(conversation: ConversationID, usernameKeys: [String]) throws -> [UserID] {
        guard !usernameKeys.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: usernameKeys.count).joined(separator: ",")
        return try Int64.fetchAllCached(db,
            sql: """
                SELECT u.id FROM users u JOIN members mm ON mm.user_id = u.id AND mm.conversation_id = ?
                WHERE u.username_key IN (\(placeholders)) ORDER BY u.id
                """, arguments: StatementArguments([conversation] + usernameKeys.map { $0 as any DatabaseValueConvertible }))
    }

    func undeletedMessages(sender: UserID, after: String, limit: Int) throws -> [Event] {
        // Messages always carry a client_msg_id: paging by it walks events_client_msg
        // once over the whole deletion (erased messages keep their key).
        try db.directRows(
            """
            SELECT \(SQLiteStore.eventColumns) FROM events
            WHERE sender_id = ? AND client_msg_id > ? AND kind = 'message' AND deleted = 0
            ORDER BY client_msg_id LIMIT ?
            """, sender, after, limit, map: SQLiteStore.event)
    }

    func reaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String) throws -> Seq? {
        try Int64.fetchOneCached(db,
            sql: "SELECT event_seq FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ? AND emoji = ?",
            arguments: [conversation, seq, user, emoji])
    }

    func reactionCount(conversation: ConversationID, seq: Seq, user: UserID) throws -> Int {
        try Int.fetchOneCached(db, sql: "SELECT count(*) FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ?",
            arguments: [conversation, seq, user]) ?? 0
    }

    func file(id: String) throws -> StoredFile? { try SQLiteStore.file(db, id: id) }

    func isFileShared(_ id: String, withMember user: UserID) throws -> Bool {
        try SQLiteStore.isFileShared(db, id: id, withMember: user)
    }

    // MARK: Writes

    func append(_ event: Event) throws -> Event { try SQLiteStore.appendEvent(db, &changes, event) }

    func append(_ event: AccountEvent) throws { try SQLiteStore.appendAccountEvent(db, &changes, event) }

    func setMessageText(conversation: ConversationID, seq: Seq, text: String, editedAt: Millis, mentions: [UserID]) throws {
        try db.cachedExecute(sql: "UPDATE events SET text = ?, edited_at = ?, mentions = ? WHERE conversation_id = ? AND seq = ?",
            arguments: [
                text, editedAt, mentions.isEmpty ? nil : mentions.map(String.init).joined(separator: ","), conversation, seq,
            ])
        try db.cachedExecute(sql: "DELETE FROM mentions WHERE conversation_id = ? AND seq = ?", arguments: [conversation, seq])
        for user in mentions {
            try db.cachedExecute(sql: "INSERT INTO mentions (conversation_id, seq, user_id) VALUES (?, ?, ?)",
                arguments: [conversation, seq, user])
        }
    }

    func eraseMessage(conversation: ConversationID, seq: Seq) throws {
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

    func insertReaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String, eventSeq: Seq, at: Millis) throws {
        try db.cachedExecute(sql: "INSERT INTO reactions (conversation_id, seq, user_id, emoji, event_seq, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [conversation, seq, user, emoji, eventSeq, at])
    }

    func deleteReaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String) throws {
        try db.cachedExecute(sql: "DELETE FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ? AND emoji = ?",
            arguments: [conversation, seq, user, emoji])
    }

    func setReadSeq(conversation: ConversationID, user: UserID, seq: Seq) throws {
        try db.cachedExecute(
            sql: "UPDATE members SET read_seq = ?1, delivered_seq = max(delivered_seq, ?1) WHERE conversation_id = ?2 AND user_id = ?3",
            arguments: [seq, conversation, user])
    }

    func setNotifications(conversation: ConversationID, user: UserID, _ settings: NotificationSettings) throws {
        try db.cachedExecute(
            sql: "UPDATE members SET notify_level = ?, notify_muted_until = ? WHERE conversation_id = ? AND user_id = ?",
            arguments: [settings.level.rawValue, settings.mutedUntil, conversation, user])
    }

    func pushTarget(device: DeviceRowID) throws -> PushTarget? {
        try Row.decodeOne(
            db.cachedStatement(
                sql: "SELECT \(SQLiteStore.pushTargetColumns) FROM push_targets p JOIN devices d ON d.id = p.device_id WHERE p.device_id = ?"),
            arguments: [device], SQLiteStore.pushTarget)
    }

    func savePushTarget(_ t: PushTarget) throws {
        try db.cachedExecute(
            sql: """
                INSERT INTO push_targets (device_id, user_id, kind, endpoint, pushkey, app_id, platform, created_at, p256dh, auth)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (device_id) DO UPDATE SET kind = excluded.kind, endpoint = excluded.endpoint,
                  pushkey = excluded.pushkey, app_id = excluded.app_id, platform = excluded.platform, created_at = excluded.created_at,
                  p256dh = excluded.p256dh, auth = excluded.auth
                """,
            arguments: [t.device, t.userID, t.kind.rawValue, t.endpoint, t.pushkey, t.appID, t.platform, t.createdAt, Data(t.p256dh), Data(t.auth)])
    }

    func deletePushTarget(device: DeviceRowID) throws {
        try db.cachedExecute(sql: "DELETE FROM push_targets WHERE device_id = ?", arguments: [device])
    }

    func setDeliveredSeq(conversation: ConversationID, user: UserID, seq: Seq) throws {
        try db.cachedExecute(sql: "UPDATE members SET delivered_seq = ? WHERE conversation_id = ? AND user_id = ?",
            arguments: [seq, conversation, user])
    }

    func bindDevice(user: UserID, _ b: DeviceBinding) throws -> Device {
        try db.execute(
            sql: """
                INSERT INTO devices (user_id, device_id, name, platform, public_key, token_hash, token_expires_at,
                                     created_at, last_seen_at, last_address, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
                ON CONFLICT (user_id, device_id) DO UPDATE SET
                  name = excluded.name, platform = excluded.platform, public_key = excluded.public_key,
                  token_hash = excluded.token_hash, token_expires_at = excluded.token_expires_at,
                  last_seen_at = excluded.last_seen_at, last_address = excluded.last_address, revoked_at = NULL
                """,
            arguments: [
                user, b.deviceID, b.name, b.platform, b.publicKey.map { Data($0) }, Data(b.tokenHash), b.tokenExpiresAt,
                b.now, b.now, b.address,
            ])
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT \(SQLiteStore.deviceColumns) FROM devices d WHERE d.user_id = ? AND d.device_id = ?",
                arguments: [user, b.deviceID])
        else { throw ChatFailure(.internal, "device row vanished") }
        return SQLiteStore.device(row)
    }

    func passwordHash(_ user: UserID) throws -> String? {
        try String.fetchOne(db, sql: "SELECT password_hash FROM users WHERE id = ?", arguments: [user])
    }

    func setPasswordHash(user: UserID, hash: String) throws {
        try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [hash, user])
        if db.changesCount == 0 { throw ChatFailure(.notFound, "no such user") }
    }

    func endTokens(user: UserID, except: DeviceRowID?) throws -> [DeviceRowID] {
        let ids = try DeviceRowID.fetchAll(
            db,
            sql: "SELECT id FROM devices WHERE user_id = ? AND token_hash IS NOT NULL AND id IS NOT ? AND revoked_at IS NULL",
            arguments: [user, except])
        try db.execute(
            sql: """
                UPDATE devices SET token_hash = NULL, token_expires_at = NULL
                WHERE user_id = ? AND id IS NOT ? AND revoked_at IS NULL
                """,
            arguments: [user, except])
        return ids
    }

    func setProfile(user: UserID, _ change: ProfileChange, at: Millis) throws -> User? {
        var sets: [String] = []
        var args: StatementArguments = []
        if let v = change.displayName {
            sets.append("display_name = ?, display_name_key = ?")
            _ = args.append(contentsOf: [v, v.lowercased()])
        }
        if let v = change.avatarURL {
            sets.append("avatar_url = ?")
            _ = args.append(contentsOf: [v])
        }
        if let v = change.statusText {
            sets.append("status_text = ?")
            _ = args.append(contentsOf: [v])
        }
        if !sets.isEmpty {
            try db.execute(
                sql: "UPDATE users SET \(sets.joined(separator: ", ")), updated_at = ? WHERE id = ?", arguments: args + [at, user])
        }
        return try Row.fetchOne(db, sql: "SELECT \(SQLiteStore.userColumns) FROM users u WHERE u.id = ?", arguments: [user])
            .map(SQLiteStore.user)
    }

    func setRevoked(_ device: DeviceRowID, at: Millis) throws {
        try db.execute(sql: "UPDATE devices SET revoked_at = ? WHERE id = ?", arguments: [at, device])
    }

    func insertUser(_ new: NewUser) throws -> UserAccount {
        try db.execute(
            sql: """
                INSERT INTO users (username, username_key, email, display_name, display_name_key, password_hash, role,
                                   created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                new.username, new.usernameKey, new.email, new.displayName, new.displayName.lowercased(),
                new.passwordHash, new.role.rawValue, new.now, new.now,
            ])
        return UserAccount(
            user: User(
                id: db.lastInsertedRowID, username: new.username, displayName: new.displayName, avatarURL: "", statusText: "",
                role: new.role, createdAt: new.now),
            email: new.email, passwordHash: new.passwordHash, disabled: false)
    }

    func tombstone(_ user: UserID, username tombstone: String, now: Millis) throws {
        try db.execute(sql: "DELETE FROM devices WHERE user_id = ?", arguments: [user])
        try db.execute(
            sql: """
                UPDATE users SET username = ?, username_key = ?, email = '', display_name = 'Deleted user',
                  display_name_key = 'deleted user', avatar_url = '', status_text = '', password_hash = '',
                  role = 'user', disabled = 1, updated_at = ?
                WHERE id = ?
                """, arguments: [tombstone, tombstone, now, user])
    }

    func insertConversation(_ new: NewConversation) throws -> ConversationID {
        var directKey: String?
        if new.kind == .direct, let creator = new.creator, let peer = new.members.first {
            directKey = Self.directKey(creator, peer)
        }
        try db.execute(
            sql: """
                INSERT INTO conversations (kind, name, name_key, direct_key, description, visibility, created_by,
                                           created_at, last_activity_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                new.kind.rawValue, new.name, new.kind == .room ? new.nameKey : nil, directKey, new.description,
                new.visibility.rawValue, new.creator, new.now, new.now,
            ])
        return db.lastInsertedRowID
    }

    func insertMember(conversation: ConversationID, user: UserID, role: MemberRole, at: Millis) throws {
        // A new member has read (and so received) everything before joining.
        try db.cachedExecute(sql: """
                INSERT INTO members (conversation_id, user_id, role, joined_at, read_seq, delivered_seq)
                SELECT ?, ?, ?, ?, last_seq, last_seq FROM conversations WHERE id = ?
                """,
            arguments: [conversation, user, role.rawValue, at, conversation])
        try db.cachedExecute(sql: "UPDATE conversations SET member_count = member_count + 1 WHERE id = ?", arguments: [conversation])
    }

    func deleteMember(conversation: ConversationID, user: UserID) throws {
        try db.execute(sql: "DELETE FROM members WHERE conversation_id = ? AND user_id = ?", arguments: [conversation, user])
        try db.execute(sql: "UPDATE conversations SET member_count = member_count - 1 WHERE id = ?", arguments: [conversation])
    }

    func setRole(conversation: ConversationID, user: UserID, role: MemberRole) throws {
        try db.execute(sql: "UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?",
            arguments: [role.rawValue, conversation, user])
    }

    func setMute(conversation: ConversationID, user: UserID, until: Millis?) throws {
        try db.execute(sql: "UPDATE members SET muted_until = ? WHERE conversation_id = ? AND user_id = ?",
            arguments: [until, conversation, user])
    }

    func insertBan(conversation: ConversationID, user: UserID, by: UserID, at: Millis) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO bans (conversation_id, user_id, banned_by, banned_at) VALUES (?, ?, ?, ?)",
            arguments: [conversation, user, by, at])
    }

    func deleteBan(conversation: ConversationID, user: UserID) throws -> Bool {
        try db.execute(sql: "DELETE FROM bans WHERE conversation_id = ? AND user_id = ?", arguments: [conversation, user])
        return db.changesCount > 0
    }

    func updateConversation(
        _ conversation: ConversationID, name: String?, nameKey: String?, description: String?
    ) throws -> (name: String, description: String) {
        if let name {
            try db.execute(sql: "UPDATE conversations SET name = ?, name_key = CASE kind WHEN 'room' THEN ? END WHERE id = ?",
                arguments: [name, nameKey, conversation])
        }
        if let description {
            try db.execute(sql: "UPDATE conversations SET description = ? WHERE id = ?", arguments: [description, conversation])
        }
        guard let row = try Row.fetchOne(db, sql: "SELECT name, description FROM conversations WHERE id = ?", arguments: [conversation])
        else { throw ChatFailure(.notFound, "no such conversation") }
        return (row[0], row[1])
    }

    func contactsAdded(_ a: UserID, _ b: UserID) { changes.contactsAdded.append((a, b)) }

    func contactsRemoved(_ a: UserID, _ b: UserID) { changes.contactsRemoved.append((a, b)) }

    func deleteConversation(_ conversation: ConversationID) throws -> ConversationKind? {
        try String.fetchOne(db, sql: "DELETE FROM conversations WHERE id = ? RETURNING kind", arguments: [conversation])
            .map { ConversationKind(rawValue: $0) ?? .room }
    }

    func conversationDeleted(_ conversation: ConversationID, members: [UserID]) {
        changes.deletedConversations.append((conversation, members))
    }

    func setLink(_ link: FriendPolicy.Link, from user: UserID, to other: UserID, at: Millis) throws {
        try db.execute(
            sql: """
                INSERT INTO friendships (user_id, other_id, state, created_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id, other_id) DO UPDATE SET state = excluded.state, created_at = excluded.created_at
                """, arguments: [user, other, link.rawValue, at])
    }

    func deletePendingRequest(from: UserID, to: UserID) throws -> Bool {
        try db.execute(
            sql: "DELETE FROM friendships WHERE user_id = ? AND other_id = ? AND state = 'pending'", arguments: [from, to])
        return db.changesCount > 0
    }

    func deleteFriendship(_ a: UserID, _ b: UserID) throws {
        try db.execute(
            sql: """
                DELETE FROM friendships WHERE state = 'accepted' AND
                  ((user_id = ? AND other_id = ?) OR (user_id = ? AND other_id = ?))
                """, arguments: [a, b, b, a])
    }

    func insertBlock(_ user: UserID, _ target: UserID, at: Millis) throws {
        try db.execute(sql: "INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)", arguments: [user, target, at])
    }

    func deleteBlock(_ user: UserID, _ target: UserID) throws -> Bool {
        try db.execute(sql: "DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?", arguments: [user, target])
        return db.changesCount > 0
    }

    // MARK: Grants

    static let grantColumns =
        "id, kind, conversation_id, created_by, created_at, expires_at, max_uses, uses, revoked_at"

    static func grant(_ row: Row) -> Grant {
        Grant(
            id: row[0], kind: Grant.Kind(rawValue: row[1]) ?? .invite, conversationID: row[2], createdBy: row[3],
            createdAt: row[4], expiresAt: row[5], maxUses: row[6], uses: row[7], revokedAt: row[8])
    }

    func grant(tokenHash: [UInt8]) throws -> Grant? {
        try Row.fetchOne(db, sql: "SELECT \(Self.grantColumns) FROM grants WHERE token_hash = ?", arguments: [Data(tokenHash)])
            .map(Self.grant)
    }

    func grant(id: Int64) throws -> Grant? {
        try Row.fetchOne(db, sql: "SELECT \(Self.grantColumns) FROM grants WHERE id = ?", arguments: [id]).map(Self.grant)
    }

    func grants(kind: Grant.Kind, conversation: ConversationID?, liveAt: Millis?, limit: Int) throws -> [Grant] {
        try Row.fetchAll(db,
            sql: """
                SELECT \(Self.grantColumns) FROM grants
                WHERE conversation_id IS ?1 AND kind = ?2
                  AND (?3 IS NULL OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)
                                      AND (max_uses = 0 OR uses < max_uses)))
                ORDER BY id DESC LIMIT ?4
                """, arguments: [conversation, kind.rawValue, liveAt, limit]
        ).map(Self.grant)
    }

    func insertGrant(_ new: NewGrant) throws -> Grant {
        try db.execute(
            sql: """
                INSERT INTO grants (kind, conversation_id, created_by, token_hash, created_at, expires_at, max_uses)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                new.kind.rawValue, new.conversationID, new.createdBy, Data(new.tokenHash), new.createdAt, new.expiresAt, new.maxUses,
            ])
        return Grant(
            id: db.lastInsertedRowID, kind: new.kind, conversationID: new.conversationID, createdBy: new.createdBy,
            createdAt: new.createdAt, expiresAt: new.expiresAt, maxUses: new.maxUses, uses: 0, revokedAt: nil)
    }

    func addGrantUse(_ id: Int64) throws {
        try db.execute(sql: "UPDATE grants SET uses = uses + 1 WHERE id = ?", arguments: [id])
    }

    func setGrantRevoked(_ id: Int64, at: Millis) throws {
        try db.execute(sql: "UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [at, id])
    }

    func deleteDeadGrants(before: Millis, limit: Int) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM grants WHERE id IN (
                  SELECT id FROM grants
                  WHERE revoked_at < ?1 OR expires_at < ?1 OR (max_uses > 0 AND uses >= max_uses AND created_at < ?1)
                  ORDER BY id LIMIT ?2)
                """, arguments: [before, limit])
        return db.changesCount
    }
}
