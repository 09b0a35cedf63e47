import GRDB

/// Fills the full-text index once per group-commit batch.
///
/// A sent message gets its `search_docs` row from a trigger as it is
/// inserted; its text enters `message_search` at the end of the batch, in
/// one statement for the batch's messages. Indexed from the trigger, inside
/// each write's savepoint, FTS5 flushed its pending terms to disk at every
/// statement: a new index segment per message, then the merging of them,
/// about 30 µs of the writer's time per message. Edits and deletes still
/// update the index from their triggers.
///
/// Every commit leaves all of `search_docs` indexed, and no id is given
/// twice (AUTOINCREMENT), so the docs of a batch are those with an id above
/// the largest before its writes (`mark`). A doc whose message was edited
/// later in the same batch is already in the index, put there by the edit's
/// trigger: REPLACE indexes it again, with the text the message has now.
enum SearchIndex {
    @Sendable static func mark(_ db: Database) throws -> Int64 {
        try Int64.fetchOneCached(db, sql: "SELECT coalesce(max(id), 0) FROM search_docs") ?? 0
    }

    @Sendable static func fill(_ db: Database, after mark: Int64) throws {
        try db.cachedExecute(
            sql: """
                INSERT OR REPLACE INTO message_search (rowid, text)
                  SELECT d.id, e.text FROM search_docs d
                  JOIN events e ON e.conversation_id = d.conversation_id AND e.seq = d.seq
                  WHERE d.id > ?
                """,
            arguments: [mark])
    }
}
