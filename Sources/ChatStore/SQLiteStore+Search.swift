import ChatCore
import GRDB

extension SQLiteStore {
    /// Waits until the search index has taken in every batch committed
    /// before the call (`SearchIndexer.caughtUp`).
    public func searchIndexCaughtUp() async throws {
        try await searchIndex.caughtUp()
    }

    /// Waits for the search index for as long as it makes progress, a
    /// rebuild included (`SearchIndexer.caughtUpWhileProgressing`);
    /// `waiting` is told the indexer's rounds so far while it is behind.
    public func searchIndexCaughtUpWhileProgressing(waiting: (Int) -> Void) async throws {
        try await searchIndex.caughtUpWhileProgressing(waiting: waiting)
    }

    /// Full-text search over `message_search`, whose rowids are `search_docs`
    /// ids (following the messages' times, so newest first is descending
    /// rowid order, which FTS5 walks without sorting). The index is kept off the
    /// writer (`SearchIndexer`): a search first waits for it to take in
    /// every batch committed before the request.
    ///
    /// Each request examines at most `SearchCursor.maxCandidates` matching
    /// messages server-wide, newest first from the cursor, and keeps those
    /// in the viewer's conversations: a common word on a big server costs
    /// the same bounded work whoever searches. A page can therefore be short
    /// (even empty) with a `next` cursor. Snippets are built afterwards for
    /// the page's rows only.
    public func searchMessages(_ r: SearchRequest) async throws -> (hits: [SearchHit], next: SearchCursor?) {
        try await searchIndexCaughtUp()
        return try await read { db in
            // Purged events' documents are gone too: the purge announces its
            // conversation to the indexer, whose round this search waited for
            // (in the instant before that, the page query below leaves out a
            // document whose event is gone).
            var visible = "d.conversation_id IN (SELECT conversation_id FROM members WHERE user_id = ?)"
            var visibleArguments: [any DatabaseValueConvertible] = [r.viewer]
            if let c = r.conversation {
                visible += " AND d.conversation_id = ?"
                visibleArguments.append(c)
            }
            var page: [Int64] = []
            var next: SearchCursor?
            do {
                switch r.order {
                case .newest:
                    var before = Int64.max
                    if case .before(let key) = r.cursor { before = key }
                    // Candidates in growing batches: most searches find their
                    // page in the first one.
                    var examined = 0
                    var batch = max(64, 4 * (r.limit + 1))
                    scan: while examined < SearchCursor.maxCandidates {
                        let take = min(batch, SearchCursor.maxCandidates - examined)
                        let rows = try Row.fetchAll(db,
                            sql: """
                                SELECT c.id, \(visible) FROM
                                  (SELECT rowid AS id FROM search.message_search WHERE message_search MATCH ? AND rowid < ?
                                   ORDER BY rowid DESC LIMIT ?) c
                                JOIN search.search_docs d ON d.id = c.id ORDER BY c.id DESC
                                """,
                            arguments: StatementArguments(visibleArguments + [r.query.match, before, take]))
                        for row in rows {
                            let id: Int64 = row[0]
                            // NULL (a damaged document row) is not visible.
                            if (row[1] as Bool?) == true {
                                if page.count == r.limit {
                                    next = .before(key: page[page.count - 1])
                                    break scan
                                }
                                page.append(id)
                            }
                            before = id
                        }
                        examined += rows.count
                        if rows.count < take { break }  // no more matches
                        if examined >= SearchCursor.maxCandidates { next = .before(key: before) }
                        batch *= 4
                    }
                case .rank:
                    var offset = 0
                    if case .offset(let n) = r.cursor { offset = n }
                    let ids = try Int64.fetchAll(db,
                        sql: """
                            SELECT c.id FROM
                              (SELECT rowid AS id, rank AS score FROM search.message_search WHERE message_search MATCH ?
                               ORDER BY rowid DESC LIMIT ?) c
                            JOIN search.search_docs d ON d.id = c.id
                            WHERE \(visible) ORDER BY c.score, c.id DESC LIMIT ? OFFSET ?
                            """,
                        arguments: StatementArguments(
                            [r.query.match, SearchCursor.maxCandidates] + visibleArguments + [r.limit + 1, offset]))
                    page = Array(ids.prefix(r.limit))
                    if ids.count > r.limit { next = .offset(offset + r.limit) }
                }
            } catch let error as DatabaseError where (error.message ?? "").contains("fts5") {
                throw ChatFailure.invalid("query", "the query cannot be searched: \(error.message ?? "")")
            }
            guard !page.isEmpty else { return ([], next) }
            let placeholders = Array(repeating: "?", count: page.count).joined(separator: ",")
            let rows = try Row.fetchAll(db,
                sql: """
                    SELECT message_search.rowid, snippet(message_search, 0, char(2), char(3), '…', 16),
                      d.conversation_id, d.seq, e.sender_id, e.created_at, e.message_type
                    FROM search.message_search
                    JOIN search.search_docs d ON d.id = message_search.rowid
                    JOIN events e ON e.conversation_id = d.conversation_id AND e.seq = d.seq
                    WHERE message_search MATCH ? AND message_search.rowid IN (\(placeholders))
                    """, arguments: StatementArguments([r.query.match] + page.map { $0 as any DatabaseValueConvertible }))
            var byID: [Int64: Row] = [:]
            for row in rows { byID[row[0]] = row }
            let hits = page.compactMap { id -> SearchHit? in
                guard let row = byID[id] else { return nil }
                let type: String? = row[6]
                return SearchHit(
                    conversationID: row[2], seq: row[3], senderID: row[4], createdAt: row[5],
                    messageType: type.flatMap(MessageType.init(rawValue:)), snippet: row[1] ?? "")
            }
            return (hits, next)
        }
    }
}
