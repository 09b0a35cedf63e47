import ChatCore
import Foundation
import GRDB
import Testing

@testable import ChatStore

/// SQLite fills the full-text index once per group-commit batch
/// (`SearchIndex`): every committed message is found, nothing of a failed
/// write is, and edits and deletions inside a batch leave the index right.
struct SearchIndexTests {
    static func aliceAndHerRoom(_ store: SQLiteStore) async throws -> (ConversationService, Session, Conversation) {
        let f = try Fixture(store: store)
        let alice = try await f.accounts().register(
            username: "alice", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
        let rooms = f.rooms()
        return (rooms, alice, try await rooms.createRoom(alice, name: "search", description: "", visibility: .public))
    }

    /// Batches of up to 256 writes with a failing write every tenth: each
    /// message that was stored is found by its word, the failed ones are not,
    /// and the index holds exactly the docs.
    @Test func everyMessageOfABatchIsIndexedAndNothingOfAFailedWrite() async throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite3"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore.open(path: path, synchronous: .normal)
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let before = store.groupCommitStatistics
        let stored = await withTaskGroup(of: (Int, Int64?).self) { group in
            for i in 0..<300 {
                group.addTask {
                    let reply: Int64? = i % 10 == 0 ? 999_999 : nil
                    let r = try? await rooms.send(
                        alice, conversation: room.id, toUser: 0,
                        .init(clientMsgID: "s\(i)", text: "common word\(i)", replyTo: reply))
                    return (i, r?.event.seq)
                }
            }
            var out: [Int: Int64] = [:]
            for await (i, seq) in group { if let seq { out[i] = seq } }
            return out
        }
        #expect(stored.count == 270)
        #expect(store.groupCommitStatistics.batches - before.batches < 300, "writes were grouped")
        func search(_ q: String) async throws -> [Int64] {
            try await store.searchMessages(
                SearchRequest(
                    viewer: alice.userID, query: try SearchQuery(q), conversation: nil, order: .newest, cursor: .start,
                    limit: 100)
            ).hits.map(\.seq)
        }
        for i in [0, 1, 9, 10, 11, 150, 299] {
            #expect(try await search("word\(i)") == (stored[i].map { [$0] } ?? []), "word\(i)")
        }
        let counts = try await store.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search_docs") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM message_search") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM message_search WHERE message_search MATCH 'common'") ?? -1
            )
        }
        #expect(counts == (270, 270, 270))
        try store.close()
    }

    /// A message edited, and another deleted, in the batch that stored them
    /// (the edit's trigger indexes the doc before the batch's fill does).
    @Test func editsAndDeletesInTheSameBatchLeaveTheIndexRight() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let first = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "alpha")).event.seq
        // One batch, in this order: two new messages (docs above the batch's
        // mark), the first of them edited, the second deleted, a third added.
        try await store.groupCommit.write { db -> (Void, CommittedChanges?) in
            func insert(_ seq: Int64, _ text: String) throws {
                try db.execute(
                    sql: """
                        INSERT INTO events (conversation_id, seq, kind, sender_id, message_type, text, created_at)
                        SELECT conversation_id, ?, 'message', sender_id, 'text', ?, created_at + 1
                        FROM events WHERE conversation_id = ? AND seq = ?
                        """, arguments: [seq, text, room.id, first])
            }
            try insert(first + 1, "bravo")
            try insert(first + 2, "charlie")
            try db.execute(
                sql: "UPDATE events SET text = 'delta' WHERE conversation_id = ? AND seq = ?", arguments: [room.id, first + 1])
            try db.execute(
                sql: "UPDATE events SET deleted = 1, text = NULL WHERE conversation_id = ? AND seq = ?",
                arguments: [room.id, first + 2])
            try insert(first + 3, "echo")
            return ((), nil)
        }
        func search(_ q: String) async throws -> [Int64] {
            try await store.searchMessages(
                SearchRequest(
                    viewer: alice.userID, query: try SearchQuery(q), conversation: room.id, order: .newest, cursor: .start,
                    limit: 10)
            ).hits.map(\.seq)
        }
        #expect(try await search("alpha") == [first])
        #expect(try await search("bravo").isEmpty)
        #expect(try await search("delta") == [first + 1])
        #expect(try await search("charlie").isEmpty)
        #expect(try await search("echo") == [first + 3])
        let counts = try await store.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search_docs") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM message_search") ?? -1
            )
        }
        #expect(counts == (3, 3))
    }
}
