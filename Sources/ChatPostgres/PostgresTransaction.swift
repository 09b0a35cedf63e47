import ChatCore

extension PostgresStore {
    /// Runs `body` in one PostgreSQL transaction, published after it commits.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await transaction(in: nil, body)
    }

    /// In the conversation's write lane (see `PostgresGroupCommit`).
    public func transaction<T: Sendable>(
        conversation: ConversationID, _ body: @escaping @Sendable (any StoreTransaction) throws -> T
    ) async throws -> T {
        try await transaction(in: conversation, body)
    }

    /// A send (`StoreTransaction.appendMessage`) in its conversation's
    /// lane, its snapshot read with those of the batch's other sends.
    public func appendMessage(_ message: NewMessage) async throws -> AppendResult {
        let key = PostgresGroupCommit.SendKey(conversation: message.conversation, sender: message.sender, clientMsgID: message.clientMsgID)
        return try await transaction(in: message.conversation, send: key) { tx in try tx.appendMessage(message) }
    }

    /// In the conversation's lane, its row locked at the batch's start;
    /// nil: lane 0.
    private func transaction<T: Sendable>(
        in conversation: ConversationID?, send: PostgresGroupCommit.SendKey? = nil,
        _ body: @escaping @Sendable (any StoreTransaction) throws -> T
    ) async throws -> T {
        try await write(lane: conversation.map(lane(of:)) ?? 0, conversation: conversation, send: send) { session, changes in
            let tx = PostgresTransaction(session)
            let result = try body(tx)
            changes = tx.changes
            return result
        }
    }
}

/// `StoreTransaction` over one PostgreSQL transaction: statements and row
/// mapping only (SQLiteTransaction's, in PostgreSQL's dialect).
final class PostgresTransaction: StoreTransaction {
    let s: PGSession
    /// What the body appended, to publish after commit.
    var changes = CommittedChanges()

    init(_ session: PGSession) { self.s = session }

    // MARK: Snapshots

    func standing(of user: UserID, in conversation: ConversationID) throws -> Standing {
        try PostgresStore.standing(s, of: user, in: conversation, lock: true)
    }

    func account(_ user: UserID) throws -> AccountSnapshot? {
        try s.row("SELECT username, disabled, role FROM users WHERE id = ?", [user]).map {
            AccountSnapshot(id: user, username: $0[0].text, disabled: $0[1].bool, serverRole: ServerRole(rawValue: $0[2].text) ?? .user)
        }
    }

    func userID(usernameKey: String) throws -> UserID? {
        try s.int("SELECT id FROM users WHERE username_key = ?", [usernameKey])
    }

    func conversation(_ id: ConversationID, viewer: UserID?) throws -> Conversation? {
        try PostgresStore.fetchConversation(s, id: id, viewer: viewer)
    }

    func directConversation(between a: UserID, and b: UserID) throws -> Conversation? {
        guard let id = try s.int("SELECT id FROM conversations WHERE direct_key = ?", [Self.directKey(a, b)]) else { return nil }
        return try conversation(id, viewer: a)
    }

    /// The unique key of a pair's direct chat, whoever opened it.
    static func directKey(_ a: UserID, _ b: UserID) -> String { "\(min(a, b)):\(max(a, b))" }

    func roomsAndGroups(of user: UserID) throws -> [ConversationID] {
        try s.ints(
            """
            SELECT m.conversation_id FROM members m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.user_id = ? AND c.kind != 'direct' ORDER BY m.conversation_id
            """, [user])
    }

    func isBanned(_ user: UserID, from conversation: ConversationID) throws -> Bool {
        try s.exists("SELECT 1 FROM bans WHERE conversation_id = ? AND user_id = ?", [conversation, user])
    }

    func longestServing(in conversation: ConversationID, role: MemberRole?) throws -> UserID? {
        try s.int(
            """
            SELECT user_id FROM members WHERE conversation_id = ?1 AND (?2::text IS NULL OR role = ?2::text)
            ORDER BY joined_at, user_id LIMIT 1
            """, [conversation, role?.rawValue])
    }

    func members(of conversation: ConversationID, role: MemberRole?) throws -> [UserID] {
        try s.ints(
            "SELECT user_id FROM members WHERE conversation_id = ?1 AND (?2::text IS NULL OR role = ?2::text) ORDER BY user_id",
            [conversation, role?.rawValue])
    }

    func peer(inDirect conversation: ConversationID, of user: UserID) throws -> UserID? {
        try s.int(Self.peerSQL, [conversation, user])
    }

    static let peerSQL = PGStatement("SELECT user_id FROM members WHERE conversation_id = ? AND user_id != ?")

    func isBlocked(_ a: UserID, _ b: UserID) throws -> Bool { try PostgresStore.isBlocked(s, a, b) }

    func blocks(_ user: UserID, _ target: UserID) throws -> Bool {
        try s.exists("SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?", [user, target])
    }

    func link(from user: UserID, to other: UserID) throws -> FriendPolicy.Link? {
        try s.row("SELECT state FROM friendships WHERE user_id = ? AND other_id = ?", [user, other])
            .flatMap { FriendPolicy.Link(rawValue: $0[0].text) }
    }

    func friends(of user: UserID) throws -> [UserID] {
        try s.ints("SELECT other_id FROM friendships WHERE user_id = ? AND state = 'accepted'", [user])
    }

    func device(_ device: DeviceRowID) throws -> Device? {
        try s.row("SELECT \(PostgresStore.deviceColumns) FROM devices d WHERE d.id = ?", [device]).map(PostgresStore.device)
    }

    func friendshipPartners(of user: UserID) throws -> [UserID] {
        try s.ints(
            "SELECT other_id FROM friendships WHERE user_id = ? UNION SELECT user_id FROM friendships WHERE other_id = ?",
            [user, user])
    }

    func event(conversation: ConversationID, seq: Seq) throws -> Event? {
        try PostgresStore.fetchEvent(s, conversation: conversation, seq: seq)
    }

    func priorEvent(sender: UserID, clientMsgID: String) throws -> Event? {
        try s.row(PostgresStore.eventByClientMsgIDSQL, [sender, clientMsgID]).map(PostgresStore.event)
    }

    /// A send's reads in one statement, one round trip
    /// (`PostgresStore.sendSnapshotSQL`): the standing (locking the
    /// conversation's row), the prior event, and whether the sender and the
    /// conversation's other member block each other, which counts only where
    /// `MessagePolicy.blocksApply`.
    func sendSnapshot(sender: UserID, in conversation: ConversationID, clientMsgID: String) throws -> SendSnapshot {
        guard
            let row = try s.takeSnapshot(conversation: conversation, sender: sender, clientMsgID: clientMsgID)
                ?? s.row(PostgresStore.sendSnapshotSQL, [conversation, sender, clientMsgID])
        else {
            throw ChatFailure(.internal, "a send's snapshot returned no row")
        }
        let standing = PostgresStore.standing(row[0].isNull ? nil : row, of: sender, in: conversation)
        let prior = PostgresStore.sendSnapshotPriorEvent(row)
        let blocked = standing.conversation.map { MessagePolicy.blocksApply(in: $0.kind) } == true && row[11].bool
        return SendSnapshot(standing: standing, prior: prior, blocked: blocked)
    }

    func blocksWithPeer(inDirect conversation: ConversationID, of user: UserID) throws -> Bool {
        try s.row(Self.peerBlockSQL, [conversation, user])?[0].bool == true
    }

    /// `blocksWithPeer`'s statement (user ?2, conversation ?1); no row when
    /// there is no other member.
    static let peerBlockSQL = PGStatement(
        """
        SELECT EXISTS (
          SELECT 1 FROM blocks b WHERE (b.user_id = ?2 AND b.blocked_id = p.user_id) OR (b.user_id = p.user_id AND b.blocked_id = ?2))
        FROM members p
        WHERE p.conversation_id = ?1 AND p.user_id != ?2
        LIMIT 1
        """)

    func deletion(conversation: ConversationID, of seq: Seq) throws -> Event? {
        try s.row(
            "SELECT \(PostgresStore.eventColumns) FROM events WHERE conversation_id = ? AND kind = 'message_deleted' AND target_seq = ?",
            [conversation, seq]
        ).map(PostgresStore.event)
    }

    func members(conversation: ConversationID, usernameKeys: [String]) throws -> [UserID] {
        guard !usernameKeys.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: usernameKeys.count).joined(separator: ",")
        return try s.ints(
            """
            SELECT u.id FROM users u JOIN members mm ON mm.user_id = u.id AND mm.conversation_id = ?
            WHERE u.username_key IN (\(placeholders)) ORDER BY u.id
            """, [conversation] + usernameKeys.map { $0 as any PGBindable })
    }

    func undeletedMessages(sender: UserID, after: String, limit: Int) throws -> [Event] {
        try s.rows(
            """
            SELECT \(PostgresStore.eventColumns) FROM events
            WHERE sender_id = ? AND client_msg_id > ? AND kind = 'message' AND NOT deleted
            ORDER BY client_msg_id LIMIT ?
            """, [sender, after, limit]
        ).map(PostgresStore.event)
    }

    func reaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String) throws -> Seq? {
        try s.int(
            "SELECT event_seq FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ? AND emoji = ?",
            [conversation, seq, user, emoji])
    }

    func reactionCount(conversation: ConversationID, seq: Seq, user: UserID) throws -> Int {
        Int(try s.int("SELECT count(*) FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ?", [conversation, seq, user]) ?? 0)
    }

    func file(id: String) throws -> StoredFile? { try PostgresStore.file(s, id: id) }

    func isFileShared(_ id: String, withMember user: UserID) throws -> Bool {
        try PostgresStore.isFileShared(s, id: id, withMember: user)
    }

    // MARK: Writes

    func append(_ event: Event) throws -> Event { try PostgresStore.appendEvent(s, &changes, event) }

    func append(_ event: AccountEvent) throws { try PostgresStore.appendAccountEvent(s, &changes, event) }

    func setMessageText(conversation: ConversationID, seq: Seq, text: String, editedAt: Millis, mentions: [UserID]) throws {
        try s.execute(
            "UPDATE events SET text = ?, edited_at = ?, mentions = ? WHERE conversation_id = ? AND seq = ?",
            [text, editedAt, mentions.isEmpty ? nil : mentions.map(String.init).joined(separator: ","), conversation, seq])
        try s.execute("DELETE FROM mentions WHERE conversation_id = ? AND seq = ?", [conversation, seq])
        for user in mentions {
            try s.execute("INSERT INTO mentions (conversation_id, seq, user_id) VALUES (?, ?, ?)", [conversation, seq, user])
        }
    }

    func eraseMessage(conversation: ConversationID, seq: Seq) throws {
        try s.execute(
            """
            UPDATE events SET text = NULL, mentions = NULL, file_id = NULL, file_name = NULL, file_size = NULL,
              file_mime = NULL, file_width = NULL, file_height = NULL, deleted = true
            WHERE conversation_id = ? AND seq = ?
            """, [conversation, seq])
        // Earlier edits carried the text too: it goes with the message.
        try s.execute(
            "UPDATE events SET text = NULL WHERE conversation_id = ? AND kind = 'message_edited' AND target_seq = ?",
            [conversation, seq])
        try s.execute("DELETE FROM mentions WHERE conversation_id = ? AND seq = ?", [conversation, seq])
        try s.execute("DELETE FROM reactions WHERE conversation_id = ? AND seq = ?", [conversation, seq])
    }

    func insertReaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String, eventSeq: Seq, at: Millis) throws {
        try s.execute(
            "INSERT INTO reactions (conversation_id, seq, user_id, emoji, event_seq, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [conversation, seq, user, emoji, eventSeq, at])
    }

    func deleteReaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String) throws {
        try s.execute(
            "DELETE FROM reactions WHERE conversation_id = ? AND seq = ? AND user_id = ? AND emoji = ?",
            [conversation, seq, user, emoji])
    }

    func setReadSeq(conversation: ConversationID, user: UserID, seq: Seq) throws {
        try s.execute(Self.setReadSeqSQL, [seq, conversation, user])
        s.positionsChanged(conversation: conversation, user: user)
    }

    /// Bookkept (`positionsChanged`): a client's read and delivered
    /// positions come between its sends, and must not make the batch forget
    /// what it knows of everyone else's.
    static let setReadSeqSQL = PGStatement(
        "UPDATE members SET read_seq = ?1, delivered_seq = GREATEST(delivered_seq, ?1) WHERE conversation_id = ?2 AND user_id = ?3",
        bookkept: true)

    func setNotifications(conversation: ConversationID, user: UserID, _ settings: NotificationSettings) throws {
        try s.execute(
            "UPDATE members SET notify_level = ?, notify_muted_until = ? WHERE conversation_id = ? AND user_id = ?",
            [settings.level.rawValue, settings.mutedUntil, conversation, user])
    }

    func pushTarget(device: DeviceRowID) throws -> PushTarget? {
        try s.row(
            "SELECT \(PostgresStore.pushTargetColumns) FROM push_targets p JOIN devices d ON d.id = p.device_id WHERE p.device_id = ?",
            [device]
        ).map(PostgresStore.pushTarget)
    }

    func savePushTarget(_ t: PushTarget) throws {
        try s.execute(
            """
            INSERT INTO push_targets (device_id, user_id, kind, endpoint, pushkey, app_id, platform, created_at, p256dh, auth)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (device_id) DO UPDATE SET kind = excluded.kind, endpoint = excluded.endpoint,
              pushkey = excluded.pushkey, app_id = excluded.app_id, platform = excluded.platform, created_at = excluded.created_at,
              p256dh = excluded.p256dh, auth = excluded.auth
            """,
            [t.device, t.userID, t.kind.rawValue, t.endpoint, t.pushkey, t.appID, t.platform, t.createdAt, t.p256dh, t.auth])
    }

    func deletePushTarget(device: DeviceRowID) throws {
        try s.execute("DELETE FROM push_targets WHERE device_id = ?", [device])
    }

    func setDeliveredSeq(conversation: ConversationID, user: UserID, seq: Seq) throws {
        try s.execute(Self.setDeliveredSeqSQL, [seq, conversation, user])
        s.positionsChanged(conversation: conversation, user: user)
    }

    static let setDeliveredSeqSQL = PGStatement(
        "UPDATE members SET delivered_seq = ? WHERE conversation_id = ? AND user_id = ?", bookkept: true)

    func bindDevice(user: UserID, _ b: DeviceBinding) throws -> Device {
        try s.execute(
            """
            INSERT INTO devices (user_id, device_id, name, platform, public_key, token_hash, token_expires_at,
                                 created_at, last_seen_at, last_address, revoked_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
            ON CONFLICT (user_id, device_id) DO UPDATE SET
              name = excluded.name, platform = excluded.platform, public_key = excluded.public_key,
              token_hash = excluded.token_hash, token_expires_at = excluded.token_expires_at,
              last_seen_at = excluded.last_seen_at, last_address = excluded.last_address, revoked_at = NULL
            """,
            [user, b.deviceID, b.name, b.platform, b.publicKey, b.tokenHash, b.tokenExpiresAt, b.now, b.now, b.address])
        guard
            let row = try s.row(
                "SELECT \(PostgresStore.deviceColumns) FROM devices d WHERE d.user_id = ? AND d.device_id = ?", [user, b.deviceID])
        else { throw ChatFailure(.internal, "device row vanished") }
        return PostgresStore.device(row)
    }

    func passwordHash(_ user: UserID) throws -> String? {
        // Locked until the commit: a login binding its device (which checks
        // that the password it verified is still the stored one) and a
        // password change on another node (which ends the devices' tokens)
        // then run one after the other, whichever comes first.
        try s.row("SELECT password_hash FROM users WHERE id = ? FOR SHARE", [user]).map { $0[0].text }
    }

    func setPasswordHash(user: UserID, hash: String) throws {
        try s.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hash, user])
        if s.changesCount == 0 { throw ChatFailure(.notFound, "no such user") }
    }

    func endTokens(user: UserID, except: DeviceRowID?) throws -> [DeviceRowID] {
        let ids = try s.ints(
            """
            SELECT id FROM devices WHERE user_id = ? AND token_hash IS NOT NULL AND id IS DISTINCT FROM ?::bigint
            AND revoked_at IS NULL ORDER BY id FOR UPDATE
            """, [user, except])
        try s.execute(
            """
            UPDATE devices SET token_hash = NULL, token_expires_at = NULL
            WHERE user_id = ? AND id IS DISTINCT FROM ?::bigint AND revoked_at IS NULL
            """, [user, except])
        return ids
    }

    func setProfile(user: UserID, _ change: ProfileChange, at: Millis) throws -> User? {
        var sets: [String] = []
        var args: [any PGBindable] = []
        if let v = change.displayName {
            sets.append("display_name = ?, display_name_key = ?")
            args += [v, v.lowercased()]
        }
        if let v = change.avatarURL {
            sets.append("avatar_url = ?")
            args.append(v)
        }
        if let v = change.statusText {
            sets.append("status_text = ?")
            args.append(v)
        }
        if !sets.isEmpty {
            try s.execute("UPDATE users SET \(sets.joined(separator: ", ")), updated_at = ? WHERE id = ?", args + [at, user])
        }
        return try s.row("SELECT \(PostgresStore.userColumns) FROM users u WHERE u.id = ?", [user]).map(PostgresStore.user)
    }

    func setRevoked(_ device: DeviceRowID, at: Millis) throws {
        try s.execute("UPDATE devices SET revoked_at = ? WHERE id = ?", [at, device])
    }

    func insertUser(_ new: NewUser) throws -> UserAccount {
        guard
            let id = try s.int(
                """
                INSERT INTO users (username, username_key, email, display_name, display_name_key, password_hash, role,
                                   created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [
                    new.username, new.usernameKey, new.email, new.displayName, new.displayName.lowercased(), new.passwordHash,
                    new.role.rawValue, new.now, new.now,
                ])
        else { throw ChatFailure(.internal, "the new user has no id") }
        return UserAccount(
            user: User(
                id: id, username: new.username, displayName: new.displayName, avatarURL: "", statusText: "", role: new.role,
                createdAt: new.now),
            email: new.email, passwordHash: new.passwordHash, disabled: false)
    }

    func tombstone(_ user: UserID, username tombstone: String, now: Millis) throws {
        try s.execute("DELETE FROM devices WHERE user_id = ?", [user])
        try s.execute(
            """
            UPDATE users SET username = ?, username_key = ?, email = '', display_name = 'Deleted user',
              display_name_key = 'deleted user', avatar_url = '', status_text = '', password_hash = '',
              role = 'user', disabled = true, updated_at = ?
            WHERE id = ?
            """, [tombstone, tombstone, now, user])
    }

    func insertConversation(_ new: NewConversation) throws -> ConversationID {
        var directKey: String?
        if new.kind == .direct, let creator = new.creator, let peer = new.members.first {
            directKey = Self.directKey(creator, peer)
        }
        guard
            let id = try s.int(
                """
                INSERT INTO conversations (kind, name, name_key, direct_key, description, visibility, created_by,
                                           created_at, last_activity_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [
                    new.kind.rawValue, new.name, new.kind == .room ? new.nameKey : nil, directKey, new.description,
                    new.visibility.rawValue, new.creator, new.now, new.now,
                ])
        else { throw ChatFailure(.internal, "the new conversation has no id") }
        return id
    }

    func insertMember(conversation: ConversationID, user: UserID, role: MemberRole, at: Millis) throws {
        // A new member has read (and so received) everything before joining.
        try s.execute(
            """
            INSERT INTO members (conversation_id, user_id, role, joined_at, read_seq, delivered_seq)
            SELECT ?, ?, ?, ?, last_seq, last_seq FROM conversations WHERE id = ?
            """, [conversation, user, role.rawValue, at, conversation])
        try s.execute("UPDATE conversations SET member_count = member_count + 1 WHERE id = ?", [conversation])
    }

    func deleteMember(conversation: ConversationID, user: UserID) throws {
        try s.execute("DELETE FROM members WHERE conversation_id = ? AND user_id = ?", [conversation, user])
        try s.execute("UPDATE conversations SET member_count = member_count - 1 WHERE id = ?", [conversation])
    }

    func setRole(conversation: ConversationID, user: UserID, role: MemberRole) throws {
        try s.execute("UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?", [role.rawValue, conversation, user])
    }

    func setMute(conversation: ConversationID, user: UserID, until: Millis?) throws {
        try s.execute("UPDATE members SET muted_until = ? WHERE conversation_id = ? AND user_id = ?", [until, conversation, user])
    }

    func insertBan(conversation: ConversationID, user: UserID, by: UserID, at: Millis) throws {
        try s.execute(
            "INSERT INTO bans (conversation_id, user_id, banned_by, banned_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [conversation, user, by, at])
    }

    func deleteBan(conversation: ConversationID, user: UserID) throws -> Bool {
        try s.execute("DELETE FROM bans WHERE conversation_id = ? AND user_id = ?", [conversation, user])
        return s.changesCount > 0
    }

    func updateConversation(
        _ conversation: ConversationID, name: String?, nameKey: String?, description: String?
    ) throws -> (name: String, description: String) {
        if let name {
            try s.execute(
                "UPDATE conversations SET name = ?, name_key = CASE kind WHEN 'room' THEN ?::text END WHERE id = ?",
                [name, nameKey, conversation])
        }
        if let description {
            try s.execute("UPDATE conversations SET description = ? WHERE id = ?", [description, conversation])
        }
        guard let row = try s.row("SELECT name, description FROM conversations WHERE id = ?", [conversation])
        else { throw ChatFailure(.notFound, "no such conversation") }
        return (row[0].text, row[1].text)
    }

    func contactsAdded(_ a: UserID, _ b: UserID) { changes.contactsAdded.append((a, b)) }

    func contactsRemoved(_ a: UserID, _ b: UserID) { changes.contactsRemoved.append((a, b)) }

    func deleteConversation(_ conversation: ConversationID) throws -> ConversationKind? {
        try s.row("DELETE FROM conversations WHERE id = ? RETURNING kind", [conversation])
            .map { ConversationKind(rawValue: $0[0].text) ?? .room }
    }

    func conversationDeleted(_ conversation: ConversationID, members: [UserID]) {
        changes.deletedConversations.append((conversation, members))
    }

    func setLink(_ link: FriendPolicy.Link, from user: UserID, to other: UserID, at: Millis) throws {
        try s.execute(
            """
            INSERT INTO friendships (user_id, other_id, state, created_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (user_id, other_id) DO UPDATE SET state = excluded.state, created_at = excluded.created_at
            """, [user, other, link.rawValue, at])
    }

    func deletePendingRequest(from: UserID, to: UserID) throws -> Bool {
        try s.execute("DELETE FROM friendships WHERE user_id = ? AND other_id = ? AND state = 'pending'", [from, to])
        return s.changesCount > 0
    }

    func deleteFriendship(_ a: UserID, _ b: UserID) throws {
        try s.execute(
            """
            DELETE FROM friendships WHERE state = 'accepted' AND
              ((user_id = ? AND other_id = ?) OR (user_id = ? AND other_id = ?))
            """, [a, b, b, a])
    }

    func insertBlock(_ user: UserID, _ target: UserID, at: Millis) throws {
        try s.execute("INSERT INTO blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)", [user, target, at])
    }

    func deleteBlock(_ user: UserID, _ target: UserID) throws -> Bool {
        try s.execute("DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?", [user, target])
        return s.changesCount > 0
    }

    // MARK: Grants

    static let grantColumns =
        "id, kind, conversation_id, created_by, created_at, expires_at, max_uses, uses, revoked_at"

    static func grant(_ row: PGRow) -> Grant {
        Grant(
            id: row[0].int, kind: Grant.Kind(rawValue: row[1].text) ?? .invite, conversationID: row[2].intOrNil,
            createdBy: row[3].intOrNil, createdAt: row[4].int, expiresAt: row[5].intOrNil, maxUses: Int(row[6].int),
            uses: Int(row[7].int), revokedAt: row[8].intOrNil)
    }

    // FOR UPDATE: a concurrent redemption of the same grant waits for this
    // transaction and then reads the use it counted.
    func grant(tokenHash: [UInt8]) throws -> Grant? {
        try s.row("SELECT \(Self.grantColumns) FROM grants WHERE token_hash = ? FOR UPDATE", [tokenHash]).map(Self.grant)
    }

    func grant(id: Int64) throws -> Grant? {
        try s.row("SELECT \(Self.grantColumns) FROM grants WHERE id = ? FOR UPDATE", [id]).map(Self.grant)
    }

    func grants(kind: Grant.Kind, conversation: ConversationID?, liveAt: Millis?, limit: Int) throws -> [Grant] {
        // "= ?" and "IS NULL" rather than IS NOT DISTINCT FROM, which no index serves.
        let scope = conversation == nil ? "conversation_id IS NULL AND ?::bigint IS NULL" : "conversation_id = ?"
        return try s.rows(
            """
            SELECT \(Self.grantColumns) FROM grants
            WHERE \(scope) AND kind = ?
              AND (?::bigint IS NULL OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?::bigint)
                                         AND (max_uses = 0 OR uses < max_uses)))
            ORDER BY id DESC LIMIT ?
            """, [conversation, kind.rawValue, liveAt, liveAt, limit]
        ).map(Self.grant)
    }

    func insertGrant(_ new: NewGrant) throws -> Grant {
        guard
            let id = try s.int(
                """
                INSERT INTO grants (kind, conversation_id, created_by, token_hash, created_at, expires_at, max_uses)
                VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
                """,
                [new.kind.rawValue, new.conversationID, new.createdBy, new.tokenHash, new.createdAt, new.expiresAt, new.maxUses])
        else { throw ChatFailure(.internal, "grant insert returned no id") }
        return Grant(
            id: id, kind: new.kind, conversationID: new.conversationID, createdBy: new.createdBy, createdAt: new.createdAt,
            expiresAt: new.expiresAt, maxUses: new.maxUses, uses: 0, revokedAt: nil)
    }

    func addGrantUse(_ id: Int64) throws {
        try s.execute("UPDATE grants SET uses = uses + 1 WHERE id = ?", [id])
    }

    func setGrantRevoked(_ id: Int64, at: Millis) throws {
        try s.execute("UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, id])
    }

    func deleteDeadGrants(before: Millis, limit: Int) throws -> Int {
        try s.execute(
            """
            DELETE FROM grants WHERE id IN (
              SELECT id FROM grants
              WHERE revoked_at < ?1 OR expires_at < ?1 OR (max_uses > 0 AND uses >= max_uses AND created_at < ?1)
              ORDER BY id LIMIT ?2)
            """, [before, limit])
        return s.changesCount
    }
}

