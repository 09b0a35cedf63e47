import ChatCore
import GRDB

extension SQLiteStore {
    public func setRetention(conversation: ConversationID, days: Int?) async throws -> Conversation {
        try await write { db in
            try db.execute(sql: "UPDATE conversations SET retention_days = ? WHERE id = ?", arguments: [days, conversation])
            guard db.changesCount == 1, let c = try Self.fetchConversation(db, id: conversation, viewer: nil) else {
                throw ChatFailure(.notFound, "no such conversation")
            }
            return c
        }
    }

    /// Removes events older than each conversation's retention (its own, or
    /// `defaultDays`; 0 keeps everything), oldest first, at most `batch`
    /// events per transaction so the writer is never held long. Events go
    /// from the bottom of the sequence only: the conversation's
    /// `purged_seq` rises to the last removed seq, so what remains is always
    /// one unbroken range. Triggers and cascades remove search entries,
    /// mentions, reactions and file references with them.
    public func purgeExpired(defaultDays: Int, now: Millis, batch: Int) async throws -> PurgeReport {
        let candidates = try await read { db in
            try Row.fetchAll(db,
                sql: """
                    SELECT id, coalesce(retention_days, ?) AS days FROM conversations
                    WHERE coalesce(retention_days, ?) > 0 AND last_seq > purged_seq ORDER BY id
                    """, arguments: [defaultDays, defaultDays]
            ).map { (id: $0["id"] as Int64, days: $0["days"] as Int64) }
        }
        var report = PurgeReport()
        for c in candidates {
            let cutoff = now - c.days * 24 * 3600 * 1000
            var touched = false
            while true {
                let (events, messages) = try await write(.freesSpace) { db -> (Int, Int) in
                    guard let purged = try Int64.fetchOne(db, sql: "SELECT purged_seq FROM conversations WHERE id = ?", arguments: [c.id])
                    else { return (0, 0) }
                    // The oldest events, up to the first one inside the retention
                    // window (seqs follow time; a clock step back stops early).
                    let rows = try Row.fetchAll(db,
                        sql: "SELECT seq, created_at, kind FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                        arguments: [c.id, purged, batch])
                    var last: Int64 = purged
                    var messages = 0
                    for row in rows {
                        guard (row["created_at"] as Int64) < cutoff else { break }
                        last = row["seq"]
                        if (row["kind"] as String) == EventKind.message.rawValue { messages += 1 }
                    }
                    guard last > purged else { return (0, 0) }
                    try db.execute(sql: "DELETE FROM events WHERE conversation_id = ? AND seq > ? AND seq <= ?", arguments: [c.id, purged, last])
                    let removed = db.changesCount
                    try db.execute(sql: "UPDATE conversations SET purged_seq = ? WHERE id = ?", arguments: [last, c.id])
                    return (removed, messages)
                }
                report.events += events
                report.messages += messages
                if events > 0 { touched = true }
                if events < batch { break }
            }
            if touched {
                report.conversations += 1
                searchIndex.touched([c.id])
            }
        }
        return report
    }
}
