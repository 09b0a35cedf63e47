import ChatCore
import GRDB

extension SQLiteStore {
    /// Full-text search over `message_search`, whose rowids are `search_docs`
    /// ids (growing with insertion: newest first is descending rowid order,
    /// which FTS5 walks without sorting and stops at the page's end).
    ///
    /// Two steps: the page's rowids (matching, in the viewer's conversations,
    /// ordered, limited) without any auxiliary function; then snippets for
    /// those rows only. Computing snippets in the first step would build one
    /// for every match before sorting.
    public func searchMessages(_ r: SearchRequest) async throws -> (hits: [SearchHit], hasMore: Bool) {
        try await read { db in
            var sql = """
                SELECT message_search.rowid FROM message_search
                JOIN search_docs d ON d.id = message_search.rowid
                WHERE message_search MATCH ?
                  AND d.conversation_id IN (SELECT conversation_id FROM members WHERE user_id = ?)
                """
            var arguments: [any DatabaseValueConvertible] = [r.query.match, r.viewer]
            if let c = r.conversation {
                // Unary + keeps the planner from driving the query from this
                // conversation's documents (FTS5 would then test each one).
                sql += " AND +d.conversation_id = ?"
                arguments.append(c)
            }
            var offset = 0
            switch (r.order, r.cursor) {
            case (.newest, .before(let key)):
                sql += " AND message_search.rowid < ?"
                arguments.append(key)
            case (.rank, .offset(let n)):
                offset = n
            default:
                break
            }
            sql += r.order == .newest ? " ORDER BY message_search.rowid DESC" : " ORDER BY rank, message_search.rowid DESC"
            sql += " LIMIT ? OFFSET ?"
            arguments += [r.limit + 1, offset]
            let ids: [Int64]
            do {
                ids = try Int64.fetchAll(db, sql: sql, arguments: StatementArguments(arguments))
            } catch let error as DatabaseError where (error.message ?? "").contains("fts5") {
                throw ChatFailure.invalid("query", "the query cannot be searched: \(error.message ?? "")")
            }
            let page = Array(ids.prefix(r.limit))
            guard !page.isEmpty else { return ([], false) }
            let placeholders = Array(repeating: "?", count: page.count).joined(separator: ",")
            let rows = try Row.fetchAll(db,
                sql: """
                    SELECT message_search.rowid, snippet(message_search, 0, char(2), char(3), '…', 16),
                      d.conversation_id, d.seq, e.sender_id, e.created_at, e.message_type
                    FROM message_search
                    JOIN search_docs d ON d.id = message_search.rowid
                    JOIN events e ON e.conversation_id = d.conversation_id AND e.seq = d.seq
                    WHERE message_search MATCH ? AND message_search.rowid IN (\(placeholders))
                    """, arguments: StatementArguments([r.query.match] + page.map { $0 as any DatabaseValueConvertible }))
            var byID: [Int64: Row] = [:]
            for row in rows { byID[row[0]] = row }
            var hits: [SearchHit] = []
            for (i, id) in page.enumerated() {
                guard let row = byID[id] else { continue }
                let type: String? = row[6]
                hits.append(
                    SearchHit(
                        conversationID: row[2], seq: row[3], senderID: row[4], createdAt: row[5],
                        messageType: type.flatMap(MessageType.init(rawValue:)), snippet: row[1] ?? "",
                        cursor: r.order == .newest ? .before(key: id) : .offset(offset + i + 1)))
            }
            return (hits, ids.count > r.limit)
        }
    }
}
