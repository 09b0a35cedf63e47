import ChatCore
import GRDB

extension SQLiteStore {
    /// Full-text search over `message_search` (rowid = conversation_id * 2^32 + seq),
    /// limited to the viewer's conversations by a membership subquery.
    public func searchMessages(_ r: SearchRequest) async throws -> (hits: [SearchHit], hasMore: Bool) {
        try await read { db in
            var sql = """
                SELECT message_search.rowid, snippet(message_search, 0, char(2), char(3), '…', 16),
                  e.sender_id, e.created_at, e.message_type
                FROM message_search
                JOIN events e ON e.conversation_id = (message_search.rowid >> 32) AND e.seq = (message_search.rowid & 4294967295)
                WHERE message_search MATCH ?
                  AND (message_search.rowid >> 32) IN (SELECT conversation_id FROM members WHERE user_id = ?)
                """
            var arguments: [any DatabaseValueConvertible] = [r.query.match, r.viewer]
            if let c = r.conversation {
                sql += " AND message_search.rowid BETWEEN ? AND ?"
                arguments += [c << 32, c << 32 | 0xFFFF_FFFF]
            }
            var offset = 0
            switch (r.order, r.cursor) {
            case (.newest, .before(let at, let key)):
                sql += " AND (e.created_at < ? OR (e.created_at = ? AND message_search.rowid < ?))"
                arguments += [at, at, key]
            case (.rank, .offset(let n)):
                offset = n
            default:
                break
            }
            sql += r.order == .newest ? " ORDER BY e.created_at DESC, message_search.rowid DESC" : " ORDER BY rank, message_search.rowid DESC"
            sql += " LIMIT ? OFFSET ?"
            arguments += [r.limit + 1, offset]
            let rows: [Row]
            do {
                rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
            } catch let error as DatabaseError where (error.message ?? "").contains("fts5") {
                throw ChatFailure.invalid("query", "the query cannot be searched: \(error.message ?? "")")
            }
            var hits: [SearchHit] = []
            for (i, row) in rows.prefix(r.limit).enumerated() {
                let key: Int64 = row[0]
                let at: Int64 = row[3]
                let type: String? = row[4]
                hits.append(
                    SearchHit(
                        conversationID: key >> 32, seq: key & 0xFFFF_FFFF, senderID: row[2], createdAt: at,
                        messageType: type.flatMap(MessageType.init(rawValue:)), snippet: row[1] ?? "",
                        cursor: r.order == .newest ? .before(createdAt: at, key: key) : .offset(offset + i + 1)))
            }
            return (hits, rows.count > r.limit)
        }
    }
}
