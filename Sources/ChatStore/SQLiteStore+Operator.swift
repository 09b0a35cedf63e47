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

    public func appendSystemNotice(text: String, now: Millis) async throws -> Int {
        try await write { db, changes in
            let users = try Int64.fetchAll(db, sql: "SELECT id FROM users WHERE disabled = 0 ORDER BY id")
            for user in users {
                try Self.appendAccountEvent(
                    db, &changes, AccountEvent(userID: user, kind: .systemNotice, reason: text, createdAt: now))
            }
            return users.count
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
    public func backup(toFile path: String) async throws -> Int64 {
        let source = writer
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let destination = try DatabaseQueue(path: path)
                    try source.backup(to: destination)
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
