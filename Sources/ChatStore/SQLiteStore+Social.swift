import ChatCore
import Foundation
import GRDB

extension SQLiteStore {
    static func isBlocked(_ db: Database, _ a: UserID, _ b: UserID) throws -> Bool {
        // On every send to a direct chat: through the statement cache.
        try Bool.fetchOneCached(
            db,
            sql: "SELECT 1 FROM blocks WHERE (user_id = ? AND blocked_id = ?) OR (user_id = ? AND blocked_id = ?)",
            arguments: [a, b, b, a]) == true
    }

    public func friendPage(user: UserID, _ list: FriendList, after: FriendCursor, limit: Int) async throws -> PageResult<FriendEntry> {
        try await read { db in
            let (sql, arguments) = Self.friendPageQuery(user: user, list, after: after, limit: limit)
            let entries = try Row.decodeAll(db.makeStatement(sql: sql), arguments: arguments) {
                FriendEntry(user: Self.user($0), since: $0["since"], lastSeenAt: $0["last_seen_at"])
            }
            return PageResult(items: Array(entries.prefix(limit)), hasMore: entries.count > limit)
        }
    }

    /// ListFriends' three orders (§7.2), one more row than the page to tell whether more follow.
    static func friendPageQuery(user: UserID, _ list: FriendList, after: FriendCursor, limit: Int) -> (String, StatementArguments) {
        let select = "SELECT \(userColumns), u.last_seen_at, f.created_at AS since FROM friendships f"
        switch (list, after) {
        case (.friends, _):
            var key = ""
            if case .afterUsername(let k) = after { key = k }
            return (
                "\(select) JOIN users u ON u.id = f.other_id WHERE f.user_id = ? AND f.state = 'accepted' AND u.username_key > ? ORDER BY u.username_key LIMIT ?",
                [user, key, limit + 1]
            )
        case (.incoming, _), (.outgoing, _):
            var (at, id): (Millis, UserID) = (.min, .min)
            if case .afterRequest(let a, let u) = after { (at, id) = (a, u) }
            let (me, them) = list == .incoming ? ("f.other_id", "f.user_id") : ("f.user_id", "f.other_id")
            return (
                """
                \(select) JOIN users u ON u.id = \(them) WHERE \(me) = ? AND f.state = 'pending' AND (f.created_at, \(them)) > (?, ?)
                ORDER BY f.created_at, \(them) LIMIT ?
                """,
                [user, at, id, limit + 1]
            )
        }
    }

    public func blockedUsers(user: UserID, after: UserID, limit: Int) async throws -> PageResult<User> {
        try await read { db in
            let users = try Row.decodeAll(
                db.cachedStatement(
                    sql: "SELECT \(Self.userColumns) FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ? AND u.id > ? ORDER BY u.id LIMIT ?"),
                arguments: [user, after, limit + 1], Self.user)
            return PageResult(items: Array(users.prefix(limit)), hasMore: users.count > limit)
        }
    }

    public func blocked(between a: UserID, and b: UserID) async throws -> Bool {
        try await read { db in try Self.isBlocked(db, a, b) }
    }

    public func searchUsers(query: String, after: UserID, limit: Int) async throws -> PageResult<User> {
        try await read { db in
            let key = query.lowercased()
            let users = try Row.decodeAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.userColumns) FROM users u
                        WHERE u.disabled = 0 AND u.id > ?1
                          AND (substr(u.username_key, 1, length(?2)) = ?2 OR substr(u.display_name_key, 1, length(?2)) = ?2)
                        ORDER BY u.id LIMIT ?3
                        """), arguments: [after, key, limit + 1], Self.user)
            return PageResult(items: Array(users.prefix(limit)), hasMore: users.count > limit)
        }
    }

    public func allContacts() async throws -> [(UserID, UserID)] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT user_id AS a, other_id AS b FROM friendships WHERE state = 'accepted' AND user_id < other_id
                    UNION ALL
                    SELECT min(m.user_id) AS a, max(m.user_id) AS b FROM members m
                    JOIN conversations c ON c.id = m.conversation_id AND c.kind = 'direct' GROUP BY m.conversation_id
                    """
            ).map { ($0["a"], $0["b"]) }
        }
    }

    public func setLastSeen(user: UserID, at: Millis) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE users SET last_seen_at = ? WHERE id = ?", arguments: [at, user])
        }
    }
}
