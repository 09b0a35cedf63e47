import ChatCore
import Dispatch
import Foundation
import GRDB

/// Writes only an operator makes (chatctl, spec/PROTOCOL.md §11).
extension SQLiteStore {
    public func appendSystemMessage(
        conversation: RoomID, text: String, clientMsgID: String, now: Millis
    ) async throws -> AppendResult {
        let server = ConversationService.serverSender
        return try await write { db, changes in
            guard let kind = try String.fetchOne(db, sql: "SELECT kind FROM conversations WHERE id = ?", arguments: [conversation])
            else { throw ChatFailure(.notFound, "no such conversation") }
            guard kind != ConversationKind.direct.rawValue else {
                throw ChatFailure(.forbidden, "broadcasts go to rooms and groups, not direct chats")
            }
            if let prior = try Self.priorEvent(db, sender: server, clientMsgID: clientMsgID) {
                guard prior.kind == .message, prior.conversationID == conversation else {
                    throw ChatFailure(.conflict, "client_msg_id was already used for something else")
                }
                return AppendResult(event: prior, duplicate: true)
            }
            let event = try Self.appendEvent(
                db, &changes,
                Event(
                    conversationID: conversation, seq: 0, kind: .message, senderID: server, clientMsgID: clientMsgID,
                    text: text, createdAt: now, messageType: .system))
            return AppendResult(event: event, duplicate: false)
        }
    }

    /// Accounts one transaction of a notice to everyone reaches at most.
    static let noticeBatch = 1000

    /// Gives every enabled account the notice, in transactions of at most
    /// `noticeBatch` accounts, so a big server's writer is never held long.
    public func appendSystemNotice(text: String, now: Millis) async throws -> Int {
        var after: Int64 = 0
        var total = 0
        while true {
            let from = after
            let (count, last) = try await write { db, changes -> (Int, Int64) in
                let users = try Int64.fetchAll(
                    db, sql: "SELECT id FROM users WHERE disabled = 0 AND id > ? ORDER BY id LIMIT ?", arguments: [from, Self.noticeBatch])
                for user in users {
                    try Self.appendAccountEvent(
                        db, &changes, AccountEvent(userID: user, kind: .systemNotice, reason: text, createdAt: now))
                }
                return (users.count, users.last ?? from)
            }
            total += count
            after = last
            if count < Self.noticeBatch { return total }
        }
    }
}

extension SQLiteStore {
    public func auditRecords(_ filter: AuditFilter) async throws -> PageResult<AuditRecord> {
        try await read { db in
            var sql = """
                SELECT a.id, a.at, a.action, a.actor, a.user_id, u.username, a.address, a.detail
                FROM audit a LEFT JOIN users u ON u.id = a.user_id WHERE 1
                """
            var args: StatementArguments = []
            func add(_ clause: String, _ value: some DatabaseValueConvertible) {
                sql += " AND \(clause)"
                _ = args.append(contentsOf: [value])
            }
            if let user = filter.user { add("a.user_id = ?", user) }
            if let action = filter.action { add("a.action = ?", action.rawValue) }
            if let since = filter.since { add("a.at >= ?", since) }
            if let until = filter.until { add("a.at < ?", until) }
            if let before = filter.beforeID { add("a.id < ?", before) }
            sql += " ORDER BY a.id DESC LIMIT ?"
            _ = args.append(contentsOf: [filter.limit + 1])
            let rows = try Row.fetchAll(db, sql: sql, arguments: args).map { row in
                AuditRecord(
                    id: row[0], at: row[1], action: row[2], actor: row[3], userID: row[4], username: row[5],
                    address: row[6], detail: row[7])
            }
            return PageResult(items: Array(rows.prefix(filter.limit)), hasMore: rows.count > filter.limit)
        }
    }
}

extension SQLiteStore {
    /// Copies the database, as one consistent snapshot, into a new file at
    /// `path` while writes go on (SQLite's online backup from a reader: the
    /// writer is never blocked). Runs on a dispatch thread, not on the
    /// caller's. Returns the size of the copy.
    ///
    /// The copy is left in rollback-journal mode (the page copy brings the
    /// source's WAL flag along), so that it can be opened read-only without
    /// creating `-wal` and `-shm` files beside it; chatd puts it back in WAL
    /// mode when it opens it after a restore.
    public func backup(toFile path: String) async throws -> Int64 {
        let source = writer
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let destination = try DatabaseQueue(path: path)
                    try source.backup(to: destination)
                    try destination.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = DELETE") }
                    try destination.close()
                    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
                    continuation.resume(returning: size ?? 0)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// `PRAGMA integrity_check`: "ok", or SQLite's list of problems.
    public func integrityCheck() async throws -> String {
        try await read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n")
        }
    }
}

extension SQLiteStore {
    public func deleteMessages(sender: UserID, after: String, limit: Int, now: Millis) async throws -> (count: Int, last: String?) {
        try await write { db, changes in
            // Messages always carry a client_msg_id: paging by it walks events_client_msg
            // once over the whole deletion (erased messages keep their key).
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT conversation_id, seq, client_msg_id FROM events
                    WHERE sender_id = ? AND client_msg_id > ? AND kind = 'message' AND deleted = 0
                    ORDER BY client_msg_id LIMIT ?
                    """, arguments: [sender, after, limit])
            for row in rows {
                let conversation: RoomID = row[0]
                let seq: Seq = row[1]
                try Self.eraseMessage(db, conversation: conversation, seq: seq)
                _ = try Self.appendEvent(
                    db, &changes,
                    Event(
                        conversationID: conversation, seq: 0, kind: .messageDeleted, senderID: ConversationService.serverSender,
                        subjectUserID: sender, createdAt: now, targetSeq: seq))
            }
            return (rows.count, rows.last?[2])
        }
    }

    public func tombstoneUser(_ user: UserID, username tombstone: String, now: Millis) async throws {
        try await write { db, changes in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [user]) == true else {
                throw ChatFailure(.notFound, "no such user")
            }
            let rooms = try Int64.fetchAll(
                db,
                sql: """
                    SELECT m.conversation_id FROM members m JOIN conversations c ON c.id = m.conversation_id
                    WHERE m.user_id = ? AND c.kind != 'direct' ORDER BY m.conversation_id
                    """, arguments: [user])
            for room in rooms {
                _ = try Self.removeMember(db, &changes, conversation: room, user: user, by: user, kind: .memberLeft, now: now)
            }
            let others = try Int64.fetchAll(
                db,
                sql: """
                    SELECT other_id FROM friendships WHERE user_id = ?
                    UNION SELECT user_id FROM friendships WHERE other_id = ?
                    """, arguments: [user, user])
            for other in others {
                _ = try Self.unfriend(db, &changes, user, other, now: now)
                try Self.cancelPendingRequests(db, &changes, user, other, now: now)
            }
            try db.execute(sql: "DELETE FROM devices WHERE user_id = ?", arguments: [user])
            try db.execute(
                sql: """
                    UPDATE users SET username = ?, username_key = ?, email = '', display_name = 'Deleted user',
                      display_name_key = 'deleted user', avatar_url = '', status_text = '', password_hash = '',
                      role = 'user', disabled = 1, updated_at = ?
                    WHERE id = ?
                    """, arguments: [tombstone, tombstone, now, user])
        }
    }
}
