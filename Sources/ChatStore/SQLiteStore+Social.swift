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

    public func friendLists(user: UserID) async throws -> FriendLists {
        try await read { db in
            let friends = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.userColumns), u.last_seen_at, f.created_at AS since FROM friendships f
                    JOIN users u ON u.id = f.other_id WHERE f.user_id = ? AND f.state = 'accepted' ORDER BY u.username_key
                    """, arguments: [user]
            ).map { FriendEntry(user: Self.user($0), since: $0["since"], lastSeenAt: $0["last_seen_at"]) }
            let incoming = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.userColumns) FROM friendships f JOIN users u ON u.id = f.user_id
                    WHERE f.other_id = ? AND f.state = 'pending' ORDER BY f.created_at
                    """, arguments: [user]
            ).map(Self.user)
            let outgoing = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.userColumns) FROM friendships f JOIN users u ON u.id = f.other_id
                    WHERE f.user_id = ? AND f.state = 'pending' ORDER BY f.created_at
                    """, arguments: [user]
            ).map(Self.user)
            return FriendLists(friends: friends, incoming: incoming, outgoing: outgoing)
        }
    }

    public func blockedUsers(user: UserID) async throws -> [User] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.userColumns) FROM blocks b JOIN users u ON u.id = b.blocked_id WHERE b.user_id = ? ORDER BY u.id",
                arguments: [user]
            ).map(Self.user)
        }
    }

    public func blocked(between a: UserID, and b: UserID) async throws -> Bool {
        try await read { db in try Self.isBlocked(db, a, b) }
    }

    public func searchUsers(query: String, after: UserID, limit: Int) async throws -> PageResult<User> {
        try await read { db in
            let key = query.lowercased()
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.userColumns) FROM users u
                    WHERE u.disabled = 0 AND u.id > ?1
                      AND (substr(u.username_key, 1, length(?2)) = ?2 OR substr(u.display_name_key, 1, length(?2)) = ?2)
                    ORDER BY u.id LIMIT ?3
                    """, arguments: [after, key, limit + 1])
            let users = rows.map(Self.user)
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
