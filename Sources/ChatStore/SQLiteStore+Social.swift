import ChatCore
import Foundation
import GRDB

extension SQLiteStore {
    static func requireActiveUser(_ db: Database, _ id: UserID) throws {
        guard try Bool.fetchOne(db, sql: "SELECT disabled = 0 FROM users WHERE id = ?", arguments: [id]) == true else {
            throw ChatFailure(.notFound, "no such user")
        }
    }

    static func friendState(_ db: Database, from: UserID, to: UserID) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT state FROM friendships WHERE user_id = ? AND other_id = ?", arguments: [from, to])
    }

    static func isBlocked(_ db: Database, _ a: UserID, _ b: UserID) throws -> Bool {
        // On every send to a direct chat: through the statement cache.
        try Bool.fetchOneCached(
            db,
            sql: "SELECT 1 FROM blocks WHERE (user_id = ? AND blocked_id = ?) OR (user_id = ? AND blocked_id = ?)",
            arguments: [a, b, b, a]) == true
    }

    /// Makes two users friends (one accepted row each way) and tells both.
    static func befriend(_ db: Database, _ changes: inout CommittedChanges, _ a: UserID, _ b: UserID, now: Millis) throws {
        for (x, y) in [(a, b), (b, a)] {
            try db.execute(
                sql: """
                    INSERT INTO friendships (user_id, other_id, state, created_at) VALUES (?, ?, 'accepted', ?)
                    ON CONFLICT (user_id, other_id) DO UPDATE SET state = 'accepted', created_at = excluded.created_at
                    """, arguments: [x, y, now])
            try appendAccountEvent(db, &changes, AccountEvent(userID: x, kind: .friendAdded, otherUserID: y, createdAt: now))
        }
        changes.contactsAdded.append((a, b))
    }

    public func requestFriend(from: UserID, to: UserID, now: Millis) async throws -> Bool {
        try await write { db, changes in
            guard from != to else { throw ChatFailure.invalid("user_id", "you cannot befriend yourself") }
            guard try Bool.fetchOne(db, sql: "SELECT disabled = 0 FROM users WHERE id = ?", arguments: [from]) == true else {
                throw ChatFailure(.accountDisabled, "the account was disabled")
            }
            try Self.requireActiveUser(db, to)
            if try Self.isBlocked(db, from, to) {
                throw ChatFailure(.forbidden, "friend requests between these users are blocked")
            }
            if try Self.friendState(db, from: from, to: to) == "accepted" {
                throw ChatFailure(.conflict, "already friends")
            }
            if try Self.friendState(db, from: from, to: to) == "pending" {
                throw ChatFailure(.conflict, "a friend request is already pending")
            }
            if try Self.friendState(db, from: to, to: from) == "pending" {
                // They asked first: this request accepts theirs.
                try Self.befriend(db, &changes, from, to, now: now)
                return true
            }
            try db.execute(
                sql: "INSERT INTO friendships (user_id, other_id, state, created_at) VALUES (?, ?, 'pending', ?)",
                arguments: [from, to, now])
            try Self.appendAccountEvent(db, &changes, AccountEvent(userID: to, kind: .friendRequestReceived, otherUserID: from, createdAt: now))
            try Self.appendAccountEvent(db, &changes, AccountEvent(userID: from, kind: .friendRequestSent, otherUserID: to, createdAt: now))
            return false
        }
    }

    public func acceptFriend(user: UserID, requester: UserID, now: Millis) async throws {
        try await write { db, changes in
            guard try Self.friendState(db, from: requester, to: user) == "pending" else {
                throw ChatFailure(.notFound, "no friend request from this user")
            }
            try Self.befriend(db, &changes, user, requester, now: now)
        }
    }

    public func declineFriend(user: UserID, requester: UserID, now: Millis) async throws {
        try await endRequest(from: requester, to: user, kind: .friendRequestDeclined, now: now)
    }

    public func cancelFriendRequest(user: UserID, addressee: UserID, now: Millis) async throws {
        try await endRequest(from: user, to: addressee, kind: .friendRequestCanceled, now: now)
    }

    private func endRequest(from: UserID, to: UserID, kind: AccountEventKind, now: Millis) async throws {
        try await write { db, changes in
            try db.execute(
                sql: "DELETE FROM friendships WHERE user_id = ? AND other_id = ? AND state = 'pending'", arguments: [from, to])
            guard db.changesCount > 0 else { throw ChatFailure(.notFound, "no such friend request") }
            try Self.appendAccountEvent(db, &changes, AccountEvent(userID: from, kind: kind, otherUserID: to, createdAt: now))
            try Self.appendAccountEvent(db, &changes, AccountEvent(userID: to, kind: kind, otherUserID: from, createdAt: now))
        }
    }

    /// Ends a friendship (both rows); returns whether there was one.
    static func unfriend(_ db: Database, _ changes: inout CommittedChanges, _ a: UserID, _ b: UserID, now: Millis) throws -> Bool {
        try db.execute(
            sql: """
                DELETE FROM friendships WHERE state = 'accepted' AND
                  ((user_id = ? AND other_id = ?) OR (user_id = ? AND other_id = ?))
                """, arguments: [a, b, b, a])
        guard db.changesCount > 0 else { return false }
        try appendAccountEvent(db, &changes, AccountEvent(userID: a, kind: .friendRemoved, otherUserID: b, createdAt: now))
        try appendAccountEvent(db, &changes, AccountEvent(userID: b, kind: .friendRemoved, otherUserID: a, createdAt: now))
        changes.contactsRemoved.append((a, b))
        return true
    }

    /// Withdraws pending friend requests between two users, either way, telling both.
    static func cancelPendingRequests(
        _ db: Database, _ changes: inout CommittedChanges, _ a: UserID, _ b: UserID, now: Millis
    ) throws {
        for (from, to) in [(a, b), (b, a)] {
            try db.execute(
                sql: "DELETE FROM friendships WHERE user_id = ? AND other_id = ? AND state = 'pending'", arguments: [from, to])
            if db.changesCount > 0 {
                try appendAccountEvent(
                    db, &changes, AccountEvent(userID: from, kind: .friendRequestCanceled, otherUserID: to, createdAt: now))
                try appendAccountEvent(
                    db, &changes, AccountEvent(userID: to, kind: .friendRequestCanceled, otherUserID: from, createdAt: now))
            }
        }
    }

    public func removeFriend(user: UserID, friend: UserID, now: Millis) async throws {
        try await write { db, changes in
            guard try Self.unfriend(db, &changes, user, friend, now: now) else {
                throw ChatFailure(.notFound, "not friends with this user")
            }
        }
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

    public func block(user: UserID, target: UserID, now: Millis) async throws {
        try await write { db, changes in
            guard user != target else { throw ChatFailure.invalid("user_id", "you cannot block yourself") }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [target]) == true else {
                throw ChatFailure(.notFound, "no such user")
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)",
                arguments: [user, target, now])
            guard db.changesCount > 0 else { return }
            _ = try Self.unfriend(db, &changes, user, target, now: now)
            try Self.cancelPendingRequests(db, &changes, user, target, now: now)
            try Self.appendAccountEvent(
                db, &changes, AccountEvent(userID: user, kind: .blockedChanged, otherUserID: target, reason: "blocked", createdAt: now))
        }
    }

    public func unblock(user: UserID, target: UserID, now: Millis) async throws {
        try await write { db, changes in
            try db.execute(sql: "DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?", arguments: [user, target])
            guard db.changesCount > 0 else { throw ChatFailure(.notFound, "this user is not blocked") }
            try Self.appendAccountEvent(
                db, &changes, AccountEvent(userID: user, kind: .blockedChanged, otherUserID: target, reason: "unblocked", createdAt: now))
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
