import ChatCore

/// The `Store` operations outside transactions: SQLiteStore's statements,
/// in PostgreSQL's dialect.
extension PostgresStore {
    // MARK: Users

    public func account(id: UserID) async throws -> UserAccount? {
        try await read { s in try s.row("SELECT \(Self.userColumns) FROM users u WHERE u.id = ?", [id]).map(Self.account) }
    }

    public func account(usernameKey: String) async throws -> UserAccount? {
        try await read { s in
            try s.row("SELECT \(Self.userColumns) FROM users u WHERE u.username_key = ?", [usernameKey]).map(Self.account)
        }
    }

    public func setDisabled(user: UserID, _ disabled: Bool) async throws {
        try await updateUser(user, "disabled = ?", disabled)
    }

    public func setRole(user: UserID, _ role: ServerRole) async throws {
        try await updateUser(user, "role = ?", role.rawValue)
    }

    private func updateUser(_ user: UserID, _ assignment: String, _ value: any PGBindable) async throws {
        try await write { s in
            try s.execute("UPDATE users SET \(assignment) WHERE id = ?", [value, user])
            if s.changesCount == 0 { throw ChatFailure(.notFound, "no such user") }
        }
    }

    public func listUsers(_ filter: UserFilter) async throws -> PageResult<UserAccount> {
        try await read { s in
            var sql = "SELECT \(Self.userColumns) FROM users u WHERE u.id > ?"
            var args: [any PGBindable] = [filter.page.after]
            if !filter.usernamePrefix.isEmpty {
                sql += " AND starts_with(u.username_key, ?)"
                args.append(Validate.usernameKey(filter.usernamePrefix))
            }
            if filter.onlyDisabled { sql += " AND u.disabled" }
            if let role = filter.role {
                sql += " AND u.role = ?"
                args.append(role.rawValue)
            }
            sql += " ORDER BY u.id LIMIT ?"
            args.append(filter.page.limit + 1)
            return Self.page(try s.rows(sql, args).map(Self.account), limit: filter.page.limit)
        }
    }

    static func page<Item>(_ rows: [Item], limit: Int) -> PageResult<Item> {
        PageResult(items: Array(rows.prefix(limit)), hasMore: rows.count > limit)
    }

    // MARK: Devices

    public func device(tokenHash: [UInt8]) async throws -> (Device, UserAccount)? {
        try await read { s in
            guard
                let row = try s.row(
                    """
                    SELECT \(Self.deviceColumns), \(Self.userColumns)
                    FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?
                    """, [tokenHash])
            else { return nil }
            return (Self.device(row), Self.account(row))
        }
    }

    public func device(user: UserID, deviceID: String) async throws -> Device? {
        try await read { s in
            try s.row("SELECT \(Self.deviceColumns) FROM devices d WHERE d.user_id = ? AND d.device_id = ?", [user, deviceID])
                .map(Self.device)
        }
    }

    public func devices(user: UserID?, includeRevoked: Bool, limit: Int) async throws -> [Device] {
        try await read { s in
            var sql = "SELECT \(Self.deviceColumns) FROM devices d WHERE true"
            var args: [any PGBindable] = []
            if let user {
                sql += " AND d.user_id = ?"
                args.append(user)
            }
            if !includeRevoked { sql += " AND d.revoked_at IS NULL" }
            sql += " ORDER BY d.user_id, d.id LIMIT ?"
            args.append(limit)
            return try s.rows(sql, args).map(Self.device)
        }
    }

    public func touchDevice(_ device: DeviceRowID, now: Millis, address: String) async throws {
        try await write { s in
            try s.execute("UPDATE devices SET last_seen_at = ?, last_address = ? WHERE id = ?", [now, address, device])
        }
    }

    public func setToken(device: DeviceRowID, hash: [UInt8]?, expiresAt: Millis?) async throws {
        try await write { s in
            try s.execute("UPDATE devices SET token_hash = ?, token_expires_at = ? WHERE id = ?", [hash, expiresAt, device])
        }
    }

    public func replaceToken(device: DeviceRowID, from old: [UInt8], to hash: [UInt8], expiresAt: Millis) async throws -> Bool {
        try await write { s in
            try s.execute(
                "UPDATE devices SET token_hash = ?, token_expires_at = ? WHERE id = ? AND token_hash = ? AND revoked_at IS NULL",
                [hash, expiresAt, device, old])
            return s.changesCount == 1
        }
    }

    // MARK: Conversations

    public func conversation(id: ConversationID, viewer: UserID?) async throws -> Conversation? {
        try await read { s in try Self.fetchConversation(s, id: id, viewer: viewer) }
    }

    public func room(nameKey: String, viewer: UserID?) async throws -> Conversation? {
        try await read { s in
            try s.row(Self.conversationSelect(viewer: viewer) + " WHERE c.name_key = ?", [nameKey]).map(Self.conversation)
        }
    }

    public func listRooms(visibility: Visibility?, page: Page, viewer: UserID?) async throws -> PageResult<Conversation> {
        try await read { s in
            var sql = Self.conversationSelect(viewer: viewer) + " WHERE c.kind != 'direct' AND c.id > ?"
            var args: [any PGBindable] = [page.after]
            if let visibility {
                sql += " AND c.visibility = ? AND c.kind = 'room'"
                args.append(visibility.rawValue)
            }
            sql += " ORDER BY c.id LIMIT ?"
            args.append(page.limit + 1)
            return Self.page(try s.rows(sql, args).map(Self.conversation), limit: page.limit)
        }
    }

    public func listConversations(
        memberOf user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int
    ) async throws -> PageResult<Conversation> {
        let before = before.map { [$0.0, $0.1] }
        return try await read { s in
            try Self.listConversations(s, user: user, before: before.map { ($0[0], $0[1]) }, kind: kind, limit: limit)
        }
    }

    static func listConversations(
        _ s: PGSession, user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int
    ) throws -> PageResult<Conversation> {
        var sql = conversationSelect(viewer: user) + " JOIN members mm ON mm.conversation_id = c.id AND mm.user_id = ?"
        var args: [any PGBindable] = [user]
        var conditions: [String] = []
        if let (activity, id) = before {
            conditions.append("(c.last_activity_at < ? OR (c.last_activity_at = ? AND c.id < ?))")
            args += [activity, activity, id]
        }
        if let kind {
            conditions.append("c.kind = ?")
            args.append(kind.rawValue)
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?"
        args.append(limit + 1)
        return page(try s.rows(sql, args).map(conversation), limit: limit)
    }

    public func conversationStates(
        memberOf user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int, receiptsListMax: Int
    ) async throws -> PageResult<ConversationState> {
        let before = before.map { [$0.0, $0.1] }
        return try await snapshotRead { s in
            let page = try Self.listConversations(s, user: user, before: before.map { ($0[0], $0[1]) }, kind: kind, limit: limit)
            return PageResult(
                items: try page.items.map { try Self.state(s, $0, user: user, receiptsListMax: receiptsListMax) }, hasMore: page.hasMore)
        }
    }

    public func membership(conversation: ConversationID, user: UserID) async throws -> Membership? {
        try await read { s in
            try s.row(
                "SELECT role, read_seq, muted_until, delivered_seq FROM members WHERE conversation_id = ? AND user_id = ?",
                [conversation, user]
            ).map {
                Membership(
                    role: MemberRole(rawValue: $0[0].text) ?? .member, readSeq: $0[1].int, mutedUntil: $0[2].intOrNil,
                    deliveredSeq: $0[3].int)
            }
        }
    }

    public func isBanned(conversation: ConversationID, user: UserID) async throws -> Bool {
        try await read { s in try s.exists("SELECT 1 FROM bans WHERE conversation_id = ? AND user_id = ?", [conversation, user]) }
    }

    /// Events one transaction of a conversation deletion removes at most.
    static let deleteBatch = 2000

    public func deleteHistory(of conversation: ConversationID) async throws {
        while try await deleteOldestEvents(conversation, limit: Self.deleteBatch) >= Self.deleteBatch {}
    }

    /// Removes the conversation's oldest `limit` events, raising purged_seq.
    func deleteOldestEvents(_ conversation: ConversationID, limit: Int) async throws -> Int {
        try await write { s -> Int in
            // FOR UPDATE: a purge by another node at the same time waits
            // and then starts from where this one ends, so purged_seq only rises.
            guard let purged = try s.int("SELECT purged_seq FROM conversations WHERE id = ? FOR UPDATE", [conversation]),
                let last = try s.int(
                    "SELECT max(seq) FROM (SELECT seq FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?) oldest",
                    [conversation, purged, limit])
            else { return 0 }
            try s.execute("DELETE FROM events WHERE conversation_id = ? AND seq > ? AND seq <= ?", [conversation, purged, last])
            let removed = s.changesCount
            try s.execute("UPDATE conversations SET purged_seq = ? WHERE id = ?", [last, conversation])
            return removed
        }
    }

    public func members(conversation: ConversationID, page: Page) async throws -> PageResult<Member> {
        try await read { s in
            let members = try s.rows(
                """
                SELECT \(Self.userColumns), m.role AS member_role, m.joined_at, m.read_seq, m.muted_until, m.delivered_seq
                FROM members m JOIN users u ON u.id = m.user_id
                WHERE m.conversation_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?
                """, [conversation, page.after, page.limit + 1]
            ).map { row in
                Member(
                    user: Self.user(row), role: MemberRole(rawValue: row["member_role"].text) ?? .member,
                    joinedAt: row["joined_at"].int, readSeq: row["read_seq"].int, mutedUntil: row["muted_until"].intOrNil,
                    deliveredSeq: row["delivered_seq"].int)
            }
            return Self.page(members, limit: page.limit)
        }
    }

    public func allMemberships() async throws -> [(ConversationID, UserID)] {
        let pairs = try await read { s in try s.rows("SELECT conversation_id, user_id FROM members").map { [$0[0].int, $0[1].int] } }
        return pairs.map { ($0[0], $0[1]) }
    }

    /// Nodes starting at once with the same `rooms.default` create each room
    /// once: the INSERT of a name another node is creating waits for that
    /// commit, then does nothing, and the room is read again (READ
    /// COMMITTED: the next statement sees the other node's commit). A plain
    /// INSERT failed the later node's start with `conflict`.
    public func ensureRooms(names: [String], now: Millis) async throws -> [ConversationID] {
        try await write { s, changes in
            var ids: [ConversationID] = []
            for name in names {
                let key = Validate.roomNameKey(name)
                func existing() throws -> ConversationID? {
                    guard let row = try s.row("SELECT id, visibility FROM conversations WHERE name_key = ?", [key]) else { return nil }
                    try ConversationPolicy.checkDefaultRoom(name, visibility: Visibility(rawValue: row[1].text) ?? .private)
                    return row[0].int
                }
                if let id = try existing() {
                    ids.append(id)
                    continue
                }
                guard
                    let id = try s.int(
                        """
                        INSERT INTO conversations (kind, name, name_key, visibility, created_at, last_activity_at)
                        VALUES ('room', ?, ?, 'public', ?, ?) ON CONFLICT (name_key) DO NOTHING RETURNING id
                        """, [name, key, now, now])
                else {
                    guard let id = try existing() else { throw ChatFailure(.internal, "room \(name) neither created nor found") }
                    ids.append(id)
                    continue
                }
                _ = try Self.appendEvent(s, &changes, Event(conversationID: id, seq: 0, kind: .roomCreated, senderID: 0, createdAt: now))
                ids.append(id)
            }
            return ids
        }
    }

    // MARK: Operator

    /// Accounts one transaction of a notice to everyone reaches at most.
    static let noticeBatch = 1000

    public func appendSystemNotice(text: String, now: Millis) async throws -> Int {
        var after: Int64 = 0
        var total = 0
        while true {
            let from = after
            let (count, last) = try await write { s, changes -> (Int, Int64) in
                let users = try s.ints("SELECT id FROM users WHERE NOT disabled AND id > ? ORDER BY id LIMIT ?", [from, Self.noticeBatch])
                for user in users {
                    try Self.appendAccountEvent(s, &changes, AccountEvent(userID: user, kind: .systemNotice, reason: text, createdAt: now))
                }
                return (users.count, users.last ?? from)
            }
            total += count
            after = last
            if count < Self.noticeBatch { return total }
        }
    }

    public func auditRecords(_ filter: AuditFilter) async throws -> PageResult<AuditRecord> {
        try await read { s in
            var sql = """
                SELECT a.id, a.at, a.action, a.actor, a.user_id, u.username, a.address, a.detail
                FROM audit a LEFT JOIN users u ON u.id = a.user_id WHERE true
                """
            var args: [any PGBindable] = []
            func add(_ clause: String, _ value: any PGBindable) {
                sql += " AND \(clause)"
                args.append(value)
            }
            if let user = filter.user { add("a.user_id = ?", user) }
            if let action = filter.action { add("a.action = ?", action.rawValue) }
            if let since = filter.since { add("a.at >= ?", since) }
            if let until = filter.until { add("a.at < ?", until) }
            if let before = filter.beforeID { add("a.id < ?", before) }
            sql += " ORDER BY a.id DESC LIMIT ?"
            args.append(filter.limit + 1)
            let rows = try s.rows(sql, args).map { row in
                AuditRecord(
                    id: row[0].int, at: row[1].int, action: row[2].text, actor: row[3].text, userID: row[4].intOrNil,
                    username: row[5].textOrNil, address: row[6].text, detail: row[7].text)
            }
            return Self.page(rows, limit: filter.limit)
        }
    }

    // MARK: Messages

    public func history(conversation: ConversationID, anchor: HistoryAnchor, limit: Int, viewer: UserID) async throws -> HistoryPage {
        try await snapshotRead { s in
            try ConversationPolicy.authorize(.history, Self.standing(s, of: viewer, in: conversation, lock: false))
            let heads = try s.row("SELECT last_seq, purged_seq FROM conversations WHERE id = ?", [conversation])
            let base = "SELECT \(Self.eventColumns) FROM events WHERE conversation_id = ?"
            var events: [Event]
            let more: Bool
            switch anchor {
            case .after(let seq):
                let rows = try s.rows(base + " AND seq > ? ORDER BY seq LIMIT ?", [conversation, seq, limit + 1])
                more = rows.count > limit
                events = rows.prefix(limit).map(Self.event)
            case .before(let seq):
                let rows = try s.rows(base + " AND seq < ? ORDER BY seq DESC LIMIT ?", [conversation, seq, limit + 1])
                more = rows.count > limit
                events = rows.prefix(limit).reversed().map(Self.event)
            case .newest:
                let rows = try s.rows(base + " ORDER BY seq DESC LIMIT ?", [conversation, limit + 1])
                more = rows.count > limit
                events = rows.prefix(limit).reversed().map(Self.event)
            }
            if let first = events.first?.seq, let last = events.last?.seq {
                let rows = try s.rows(
                    """
                    SELECT seq, emoji, count(*) AS n, bool_or(user_id = ?) AS mine FROM reactions
                    WHERE conversation_id = ? AND seq BETWEEN ? AND ? GROUP BY seq, emoji ORDER BY seq, min(created_at)
                    """, [viewer, conversation, first, last])
                var bySeq: [Seq: [ReactionSummary]] = [:]
                for row in rows {
                    bySeq[row[0].int, default: []].append(ReactionSummary(emoji: row[1].text, count: Int(row[2].int), mine: row[3].bool))
                }
                for i in events.indices where events[i].kind == .message {
                    events[i].reactions = bySeq[events[i].seq] ?? []
                }
            }
            var page = HistoryPage(events: events, hasMore: more, headSeq: heads?[0].int ?? 0)
            page.purgedThroughSeq = heads?[1].int ?? 0
            return page
        }
    }

    /// One member's view of a conversation (as SQLiteStore.state).
    static func state(_ s: PGSession, _ c: Conversation, user: UserID, receiptsListMax: Int) throws -> ConversationState {
        let member = try s.row(
            "SELECT read_seq, notify_level, notify_muted_until FROM members WHERE conversation_id = ? AND user_id = ?", [c.id, user])
        let readSeq = member?[0].int ?? 0
        let notifications = NotificationSettings(
            level: member?[1].textOrNil.flatMap(NotifyLevel.init(rawValue:)) ?? .all, mutedUntil: member?[2].intOrNil)
        let unread = try s.int(
            """
            SELECT count(*) FROM events WHERE conversation_id = ? AND seq > ? AND kind = 'message'
            AND sender_id != ? AND NOT deleted
            """, [c.id, readSeq, user]) ?? 0
        let mentioned = try s.int(
            """
            SELECT count(*) FROM mentions m JOIN events e ON e.conversation_id = m.conversation_id AND e.seq = m.seq
            WHERE m.conversation_id = ? AND m.user_id = ? AND m.seq > ? AND e.sender_id != ?
            """, [c.id, user, readSeq, user]) ?? 0
        let last = try s.row(
            "SELECT \(eventColumns) FROM events WHERE conversation_id = ? AND kind = 'message' ORDER BY seq DESC LIMIT 1", [c.id]
        ).map(event)
        var state = ConversationState(
            conversation: c, readSeq: readSeq, unreadCount: Int(unread), mentionCount: Int(mentioned), lastMessage: last)
        state.notifications = notifications
        try receipts(s, into: &state, viewer: user, listMax: receiptsListMax)
        return state
    }

    /// The members' positions (small conversations) and the counts (§6.3), as `ReceiptPolicy.detail` says.
    static func receipts(_ s: PGSession, into state: inout ConversationState, viewer: UserID, listMax: Int) throws {
        let id = state.conversation.id
        let through = state.lastMessage?.seq
        switch ReceiptPolicy.detail(memberCount: state.conversation.memberCount, listMax: listMax) {
        case .list:
            let rows = try s.rows(
                "SELECT user_id, delivered_seq, read_seq FROM members WHERE conversation_id = ? ORDER BY user_id LIMIT ?",
                [id, Int64(listMax)])
            state.memberPositions = rows.map { MemberPosition(userID: $0[0].int, deliveredSeq: $0[1].int, readSeq: $0[2].int) }
            (state.deliveredCount, state.readCount) = ReceiptPolicy.counts(state.memberPositions, viewer: viewer, through: through)
        case .counts:
            guard let through else { return }
            let row = try s.row(
                """
                SELECT count(*) FILTER (WHERE delivered_seq >= ?1), count(*) FILTER (WHERE read_seq >= ?1)
                FROM members WHERE conversation_id = ?2 AND user_id != ?3
                """, [through, id, viewer])
            state.deliveredCount = Int(row?[0].int ?? 0)
            state.readCount = Int(row?[1].int ?? 0)
        case .none:
            break
        }
    }

    public func sync(
        user: UserID, after accountSeq: Seq, limit: Int, includeConversations: Bool, maxConversations: Int,
        receiptsListMax: Int
    ) async throws -> SyncResult {
        try await snapshotRead { s in
            let head = try s.int("SELECT account_seq FROM users WHERE id = ?", [user]) ?? 0
            try MessagePolicy.checkSyncPosition(accountSeq, head: head)
            let rows = try s.rows(
                """
                SELECT seq, kind, conversation_id, other_user_id, device_id, reason, created_at FROM account_events
                WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?
                """, [user, accountSeq, limit + 1])
            let events = rows.prefix(limit).compactMap { row -> AccountEvent? in
                guard let kind = AccountEventKind(rawValue: row[1].text) else { return nil }
                return AccountEvent(
                    userID: user, seq: row[0].int, kind: kind, conversationID: row[2].intOrNil, otherUserID: row[3].intOrNil,
                    deviceID: row[4].textOrNil, reason: row[5].textOrNil, createdAt: row[6].int)
            }
            var states: [ConversationState] = []
            var truncated = false
            if includeConversations {
                let page = try Self.listConversations(s, user: user, before: nil, kind: nil, limit: maxConversations)
                truncated = page.hasMore
                states = try page.items.map { try Self.state(s, $0, user: user, receiptsListMax: receiptsListMax) }
            }
            return SyncResult(
                accountEvents: Array(events), hasMore: rows.count > limit, accountHeadSeq: head, conversations: states,
                conversationsTruncated: truncated)
        }
    }

    // MARK: Friends, blocks, users

    public func friendPage(user: UserID, _ list: FriendList, after: FriendCursor, limit: Int) async throws -> PageResult<FriendEntry> {
        let select = "SELECT \(Self.userColumns), u.last_seen_at, f.created_at AS since FROM friendships f"
        let sql: String
        let args: [any PGBindable]
        switch list {
        case .friends:
            var key = ""
            if case .afterUsername(let k) = after { key = k }
            sql = "\(select) JOIN users u ON u.id = f.other_id WHERE f.user_id = ? AND f.state = 'accepted' AND u.username_key > ? ORDER BY u.username_key LIMIT ?"
            args = [user, key, limit + 1]
        case .incoming, .outgoing:
            var (at, id): (Millis, UserID) = (.min, .min)
            if case .afterRequest(let a, let u) = after { (at, id) = (a, u) }
            let (me, them) = list == .incoming ? ("f.other_id", "f.user_id") : ("f.user_id", "f.other_id")
            sql = """
                \(select) JOIN users u ON u.id = \(them) WHERE \(me) = ? AND f.state = 'pending' AND (f.created_at, \(them)) > (?, ?)
                ORDER BY f.created_at, \(them) LIMIT ?
                """
            args = [user, at, id, limit + 1]
        }
        return try await read { s in
            let entries = try s.rows(sql, args).map {
                FriendEntry(user: Self.user($0), since: $0["since"].int, lastSeenAt: $0["last_seen_at"].int)
            }
            return Self.page(entries, limit: limit)
        }
    }

    public func blockedUsers(user: UserID, after: UserID, limit: Int) async throws -> PageResult<User> {
        try await read { s in
            let users = try s.rows(
                "SELECT \(Self.userColumns) FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ? AND u.id > ? ORDER BY u.id LIMIT ?",
                [user, after, limit + 1]
            ).map(Self.user)
            return Self.page(users, limit: limit)
        }
    }

    public func blocked(between a: UserID, and b: UserID) async throws -> Bool {
        try await read { s in try Self.isBlocked(s, a, b) }
    }

    public func searchUsers(query: String, after: UserID, limit: Int) async throws -> PageResult<User> {
        try await read { s in
            let rows = try s.rows(
                """
                SELECT \(Self.userColumns) FROM users u
                WHERE NOT u.disabled AND u.id > ?1
                  AND (starts_with(u.username_key, ?2) OR starts_with(u.display_name_key, ?2))
                ORDER BY u.id LIMIT ?3
                """, [after, query.lowercased(), limit + 1])
            return Self.page(rows.map(Self.user), limit: limit)
        }
    }

    public func allContacts() async throws -> [(UserID, UserID)] {
        let pairs = try await read { s in
            try s.rows(
                """
                SELECT user_id AS a, other_id AS b FROM friendships WHERE state = 'accepted' AND user_id < other_id
                UNION ALL
                SELECT min(m.user_id) AS a, max(m.user_id) AS b FROM members m
                JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'direct' GROUP BY m.conversation_id
                """
            ).map { [$0[0].int, $0[1].int] }
        }
        return pairs.map { ($0[0], $0[1]) }
    }

    public func setLastSeen(user: UserID, at: Millis) async throws {
        try await write { s in try s.execute("UPDATE users SET last_seen_at = ? WHERE id = ?", [at, user]) }
    }

    // MARK: Audit and stats

    public func audit(_ entry: AuditEntry) async throws {
        try await write { s in
            try s.execute(
                "INSERT INTO audit (at, action, actor, user_id, address, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [entry.at, entry.action.rawValue, entry.actor, entry.userID, entry.address, entry.detail])
        }
    }

    public func auditEntries(user: UserID?, limit: Int) async throws -> [AuditEntry] {
        try await read { s in
            let rows =
                if let user {
                    try s.rows("SELECT at, action, actor, user_id, address, detail FROM audit WHERE user_id = ? ORDER BY id DESC LIMIT ?", [user, limit])
                } else {
                    try s.rows("SELECT at, action, actor, user_id, address, detail FROM audit ORDER BY id DESC LIMIT ?", [limit])
                }
            return rows.compactMap { row in
                guard let action = AuditEntry.Action(rawValue: row[1].text) else { return nil }
                return AuditEntry(
                    at: row[0].int, action: action, actor: row[2].text, userID: row[3].intOrNil, address: row[4].text, detail: row[5].text)
            }
        }
    }

    public func pruneAudit(before: Millis, batch: Int) async throws -> Int {
        try await write { s in
            try s.execute("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT ?)", [before, batch])
            return s.changesCount
        }
    }

    public func counts() async throws -> StoreCounts {
        try await read { s in
            StoreCounts(
                users: try s.int("SELECT count(*) FROM users") ?? 0,
                rooms: try s.int("SELECT count(*) FROM conversations WHERE kind != 'direct'") ?? 0,
                messages: try s.int("SELECT count(*) FROM events WHERE kind = 'message'") ?? 0,
                databaseBytes: try s.int("SELECT pg_database_size(current_database())") ?? 0)
        }
    }

    // MARK: Retention

    public func setRetention(conversation: ConversationID, days: Int?) async throws -> Conversation {
        try await write { s in
            try s.execute("UPDATE conversations SET retention_days = ? WHERE id = ?", [days.map { Int64($0) }, conversation])
            guard s.changesCount == 1, let c = try Self.fetchConversation(s, id: conversation, viewer: nil) else {
                throw ChatFailure(.notFound, "no such conversation")
            }
            return c
        }
    }

    /// As SQLiteStore.purgeExpired: oldest first, at most `batch` events per
    /// transaction, purged_seq rising so what remains is one unbroken range.
    public func purgeExpired(defaultDays: Int, now: Millis, batch: Int) async throws -> PurgeReport {
        let candidates = try await read { s in
            try s.rows(
                """
                SELECT id, coalesce(retention_days, ?1) AS days FROM conversations
                WHERE coalesce(retention_days, ?1) > 0 AND last_seq > purged_seq ORDER BY id
                """, [Int64(defaultDays)]
            ).map { [$0[0].int, $0[1].int] }
        }
        var report = PurgeReport()
        for c in candidates {
            let (id, days) = (c[0], c[1])
            let cutoff = now - days * 24 * 3600 * 1000
            var touched = false
            while true {
                let (events, messages) = try await write { s -> (Int, Int) in
                    // FOR UPDATE, as in deleteOldestEvents: purged_seq only rises.
                    guard let purged = try s.int("SELECT purged_seq FROM conversations WHERE id = ? FOR UPDATE", [id]) else {
                        return (0, 0)
                    }
                    let rows = try s.rows(
                        "SELECT seq, created_at, kind FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                        [id, purged, batch])
                    var last: Int64 = purged
                    var messages = 0
                    for row in rows {
                        guard row[1].int < cutoff else { break }
                        last = row[0].int
                        if row[2].text == EventKind.message.rawValue { messages += 1 }
                    }
                    guard last > purged else { return (0, 0) }
                    try s.execute("DELETE FROM events WHERE conversation_id = ? AND seq > ? AND seq <= ?", [id, purged, last])
                    let removed = s.changesCount
                    try s.execute("UPDATE conversations SET purged_seq = ? WHERE id = ?", [last, id])
                    return (removed, messages)
                }
                report.events += events
                report.messages += messages
                if events > 0 { touched = true }
                if events < batch { break }
            }
            if touched { report.conversations += 1 }
        }
        return report
    }
}
