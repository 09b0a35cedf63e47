import ChatCore
import Dispatch
import Foundation
import GRDB

/// Writes only an operator makes (chatctl, spec/PROTOCOL.md §11).
extension SQLiteStore {
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
