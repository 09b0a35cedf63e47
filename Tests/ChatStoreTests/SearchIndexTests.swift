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

    /// The seqs of `viewer`'s search for `query` (in `conversation`, or everywhere), newest first.
    static func hits(
        _ store: SQLiteStore, _ query: String, viewer: UserID, in conversation: ConversationID?, limit: Int = 10
    ) async throws -> [Int64] {
        try await store.searchMessages(
            SearchRequest(
                viewer: viewer, query: try SearchQuery(query), conversation: conversation, order: .newest, cursor: .start,
                limit: limit)
        ).hits.map(\.seq)
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
        func search(_ q: String) async throws -> [Int64] { try await Self.hits(store, q, viewer: alice.userID, in: nil, limit: 100) }
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
        func search(_ q: String) async throws -> [Int64] { try await Self.hits(store, q, viewer: alice.userID, in: room.id) }
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

    /// The newest message's document deleted and a message sent in the
    /// same batch: the new message's document takes a fresh id (never the
    /// deleted one's, which is not above the batch's mark) and is indexed.
    @Test func aDocumentIdIsNeverReusedSoTheBatchIndexesItsNewMessages() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let first = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "alpha")).event.seq
        try await store.transaction { tx in
            let alpha = try #require(try tx.event(conversation: room.id, seq: first))
            _ = try tx.erase(alpha, by: alice.userID, clientMsgID: "d", now: 2)
            _ = try tx.append(
                Event(conversationID: room.id, seq: 0, kind: .message, senderID: alice.userID, clientMsgID: "f", text: "foxtrot",
                    createdAt: 3, messageType: .text))
        }
        #expect(try await Self.hits(store, "foxtrot", viewer: alice.userID, in: room.id) == [first + 2])
        #expect(try await Self.hits(store, "alpha", viewer: alice.userID, in: room.id).isEmpty)
    }

    /// Text given to a message without any (a caption added to a file) gets
    /// a document, text taken away removes it, and giving it again makes a
    /// new one, with a new id; an ordinary edit keeps the document.
    @Test func captionsComeAndGoWithTheirDocuments() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m", text: "golf"))
        // A message without text, as a file without a caption is stored.
        let bare = try await store.transaction { tx in
            try tx.append(
                Event(conversationID: room.id, seq: 0, kind: .message, senderID: alice.userID, clientMsgID: "bare", text: "",
                    createdAt: 5, messageType: .file)
            ).seq
        }
        func document() async throws -> Int64? {
            try await store.writer.read { db in
                try Int64.fetchOne(db, sql: "SELECT id FROM search_docs WHERE conversation_id = ? AND seq = ?", arguments: [room.id, bare])
            }
        }
        #expect(try await document() == nil, "no document without text")
        func hits(_ q: String) async throws -> [Int64] { try await Self.hits(store, q, viewer: alice.userID, in: room.id) }
        func caption(_ text: String) async throws {
            try await store.transaction { tx in
                try tx.setMessageText(conversation: room.id, seq: bare, text: text, editedAt: 6, mentions: [])
            }
        }
        try await caption("hotel")
        #expect(try await hits("hotel") == [bare])
        let first = try #require(try await document())
        try await caption("")
        #expect(try await hits("hotel").isEmpty)
        #expect(try await document() == nil)
        try await caption("india")
        #expect(try await hits("india") == [bare])
        let second = try #require(try await document())
        #expect(second > first, "a new document, never an old id")
        try await caption("juliet")
        #expect(try await hits("juliet") == [bare])
        #expect(try await hits("india").isEmpty)
        #expect(try await document() == second)
        let counts = try await store.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search_docs") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM message_search") ?? -1
            )
        }
        #expect(counts == (2, 2))
    }

    /// A database of the schema before v11: its documents keep their ids and
    /// are found, edited and deleted as before, and a new message's
    /// document is numbered past every id given so far.
    @Test func theMigrationKeepsEveryDocument() async throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue, upTo: "v10-unread-index")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO users (id, username, username_key, email, display_name, display_name_key, password_hash, role,
                                       created_at, updated_at)
                    VALUES (1, 'kilo', 'kilo', '', 'kilo', 'kilo', '', 'user', 0, 0);
                    INSERT INTO conversations (id, kind, name, name_key, description, visibility, created_by, created_at,
                                               last_activity_at, last_seq)
                    VALUES (1, 'room', 'r', 'r', '', 'public', 1, 0, 0, 4);
                    INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (1, 1, 'owner', 0);
                    INSERT INTO events (conversation_id, seq, kind, sender_id, client_msg_id, message_type, text, created_at)
                    VALUES (1, 1, 'message', 1, 'a', 'text', 'lima one', 1), (1, 2, 'message', 1, 'b', 'file', '', 2),
                           (1, 3, 'message', 1, 'c', 'text', 'lima three', 3), (1, 4, 'message', 1, 'd', 'text', 'lima four', 4);
                    INSERT INTO message_search (rowid, text)
                      SELECT d.id, e.text FROM search_docs d JOIN events e ON e.conversation_id = d.conversation_id AND e.seq = d.seq;
                    """)
        }
        let before = try queue.read { db in try Row.fetchAll(db, sql: "SELECT id, seq FROM search_docs ORDER BY id") }
        #expect(before.count == 3)
        let store = try SQLiteStore(writer: queue, path: nil)
        #expect(try queue.read { db in try Row.fetchAll(db, sql: "SELECT id, seq FROM search_docs ORDER BY id") } == before)
        func hits(_ q: String) async throws -> [Int64] { try await Self.hits(store, q, viewer: 1, in: 1) }
        #expect(try await hits("lima") == [4, 3, 1])
        try await store.transaction { tx in
            let four = try #require(try tx.event(conversation: 1, seq: 4))
            _ = try tx.erase(four, by: 1, clientMsgID: "e", now: 5)
            try tx.setMessageText(conversation: 1, seq: 1, text: "mike one", editedAt: 6, mentions: [])
            _ = try tx.append(
                Event(conversationID: 1, seq: 0, kind: .message, senderID: 1, clientMsgID: "f", text: "lima six", createdAt: 7,
                    messageType: .text))
        }
        #expect(try await hits("lima") == [6, 3])
        #expect(try await hits("mike") == [1])
        let six = try await queue.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM search_docs WHERE seq = 6") }
        // Above every id given so far (the edit's INSERT OR IGNORE may have used one up).
        #expect(six.map { $0 > 3 } == true, "the deleted message's id 3 is not given again")
        try store.close()
    }
}
