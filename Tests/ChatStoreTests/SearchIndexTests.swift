import ChatCore
import Foundation
import GRDB
import Testing

@testable import ChatStore

/// SQLite's full-text index, kept off the writer by `SearchIndexer`: every
/// committed message is found, nothing of a failed write is, edits,
/// deletions and purges leave the index right, and it catches up, or is
/// rebuilt, at open when it missed something or cannot be trusted.
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
        defer { Self.remove(path) }
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
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search.search_docs") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search.message_search") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search.message_search WHERE message_search MATCH 'common'") ?? -1
            )
        }
        #expect(counts == (270, 270, 270))
        try store.close()
    }

    /// Sends, an edit and a deletion of messages stored in the same
    /// transaction, and of one indexed in an earlier round: the index holds
    /// the text each message has now.
    @Test func editsAndDeletesLeaveTheIndexRight() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let first = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "alpha")).event.seq
        #expect(try await Self.hits(store, "alpha", viewer: alice.userID, in: room.id) == [first])
        let me = alice.userID
        try await store.transaction { tx in
            func send(_ text: String) throws -> Int64 {
                try tx.append(
                    Event(conversationID: room.id, seq: 0, kind: .message, senderID: me, clientMsgID: text, text: text,
                        createdAt: 2, messageType: .text)
                ).seq
            }
            let bravo = try send("bravo")
            let charlie = try send("charlie")
            _ = try tx.editMessage(
                conversation: room.id, seq: bravo, editor: me, text: "delta", clientMsgID: "e1", mentionKeys: [], now: 3)
            _ = try tx.deleteMessage(conversation: room.id, seq: charlie, by: me, asModerator: false, clientMsgID: "d1", now: 3)
            _ = try tx.editMessage(
                conversation: room.id, seq: first, editor: me, text: "alpha golf", clientMsgID: "e2", mentionKeys: [], now: 3)
            _ = try send("echo")
        }
        func search(_ q: String) async throws -> [Int64] { try await Self.hits(store, q, viewer: alice.userID, in: room.id) }
        #expect(try await search("alpha") == [first])
        #expect(try await search("golf") == [first])
        #expect(try await search("bravo").isEmpty)
        #expect(try await search("delta") == [first + 1])
        #expect(try await search("charlie").isEmpty)
        #expect(try await search("echo") == [first + 6])
        #expect(try await Self.documents(store) == 3)
    }

    /// (documents, FTS rows) of the index; they must agree.
    static func documents(_ store: SQLiteStore) async throws -> Int {
        try await store.searchIndexCaughtUp()
        let (documents, rows) = try await store.writer.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search.search_docs") ?? -1,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search.message_search") ?? -1
            )
        }
        #expect(documents == rows, "one FTS row per document")
        return documents
    }

    /// The newest message's document deleted and a message sent in the
    /// same batch: the deleted one is no longer found, the new one is.
    @Test func aMessageDeletedAndOneSentInTheSameBatchLeaveTheIndexRight() async throws {
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
    /// new one, whose id follows the message's time as the first's did; an
    /// ordinary edit keeps the document.
    @Test func captionsComeAndGoWithTheirDocuments() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let me = alice.userID
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
                try Int64.fetchOne(
                    db, sql: "SELECT id FROM search.search_docs WHERE conversation_id = ? AND seq = ?", arguments: [room.id, bare])
            }
        }
        #expect(try await document() == nil, "no document without text")
        func hits(_ q: String) async throws -> [Int64] { try await Self.hits(store, q, viewer: alice.userID, in: room.id) }
        func caption(_ text: String) async throws {
            // As editMessage does, without its checks (a caption may not be emptied).
            try await store.transaction { tx in
                try tx.setMessageText(conversation: room.id, seq: bare, text: text, editedAt: 6, mentions: [])
                _ = try tx.append(
                    Event(conversationID: room.id, seq: 0, kind: .messageEdited, senderID: me, clientMsgID: "c\(text)",
                        text: text, createdAt: 6, targetSeq: bare, editedAt: 6))
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
        #expect(second == first, "its id follows its time: created_at's second × 2^24 + its place in that second")
        #expect(first == 1 * SearchIndexer.idShift, "5 ms: second 0, kept at 1")
        try await caption("juliet")
        #expect(try await hits("juliet") == [bare])
        #expect(try await hits("india").isEmpty)
        #expect(try await document() == second)
        #expect(try await Self.documents(store) == 2)
    }

    /// A database of the schema before v12 (its index in the database,
    /// kept by triggers): the migration drops that index, and the indexer
    /// rebuilds it from the messages, newest first by time, so edits and
    /// deletions find their documents as before.
    @Test func theMigrationRebuildsTheIndexFromTheMessages() async throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue, upTo: "v11-search-ids-never-reused")
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
        let store = try SQLiteStore(writer: queue, path: nil)
        #expect(try await queue.read { db in try db.tableExists("search_docs", in: "main") } == false)
        func hits(_ q: String) async throws -> [Int64] { try await Self.hits(store, q, viewer: 1, in: 1) }
        #expect(try await hits("lima") == [4, 3, 1])
        try await store.transaction { tx in
            _ = try tx.deleteMessage(conversation: 1, seq: 4, by: 1, asModerator: false, clientMsgID: "e", now: 5)
            _ = try tx.editMessage(conversation: 1, seq: 1, editor: 1, text: "mike one", clientMsgID: "m", mentionKeys: [], now: 6)
            _ = try tx.append(
                Event(conversationID: 1, seq: 0, kind: .message, senderID: 1, clientMsgID: "f", text: "lima eight", createdAt: 7,
                    messageType: .text))
        }
        #expect(try await hits("lima") == [7, 3])
        #expect(try await hits("mike") == [1])
        #expect(try await Self.documents(store) == 3)
    }

    static func remove(_ path: String) {
        let search = SearchIndexer.searchPath(for: path)
        for file in [path, search] {
            for suffix in ["", "-wal", "-shm", ".rebuild"] { try? FileManager.default.removeItem(atPath: file + suffix) }
        }
    }

    /// A file store's index is kept across a clean close and a crash, and
    /// what it never took in (here written behind chatd's back, as a crash
    /// between a commit and the indexer's round leaves it) is caught up at
    /// the next open.
    @Test func theNextOpenCatchesUpWhatTheIndexMissed() async throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite3"
        defer { Self.remove(path) }
        var store = try SQLiteStore.open(path: path, synchronous: .normal)
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let first = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "november")).event.seq
        try await store.searchIndexCaughtUp()
        try store.checkpoint()
        try store.close()
        let plain = try DatabaseQueue(path: path)
        try await plain.write { db in
            try db.execute(
                sql: """
                    INSERT INTO events (conversation_id, seq, kind, sender_id, client_msg_id, message_type, text, created_at)
                    SELECT conversation_id, ?, 'message', sender_id, 'b', 'text', 'november oscar', created_at + 1
                    FROM events WHERE conversation_id = ? AND seq = ?;
                    UPDATE conversations SET last_seq = ? WHERE id = ?;
                    """,
                arguments: [first + 1, room.id, first, first + 1, room.id])
        }
        try plain.close()
        store = try SQLiteStore.open(path: path, synchronous: .normal)
        #expect(try await Self.hits(store, "november", viewer: alice.userID, in: nil) == [first + 1, first])
        #expect(try await Self.hits(store, "oscar", viewer: alice.userID, in: nil) == [first + 1])
        try store.close()
    }

    /// Operators see how the index stands (`chatctl stats`): "current" once
    /// it follows the messages, "failing: <why>" while its rounds fail
    /// (another process holds the search file's write lock here), and
    /// "current" again once a retry succeeds; a search waiting meanwhile is
    /// answered then.
    @Test func aFailingIndexSaysSoAndRecovers() async throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite3"
        defer { Self.remove(path) }
        let store = try SQLiteStore.open(path: path, synchronous: .normal)
        defer { try? store.close() }
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "quebec"))
        try await store.searchIndexCaughtUp()
        #expect(store.searchIndexStatus == .current)
        #expect(store.searchIndexFileBytes > 0)

        // Another connection takes the file's write lock and holds it,
        // inside one access (GRDB ends none with a transaction open).
        let other = try DatabaseQueue(path: SearchIndexer.searchPath(for: path))
        defer { try? other.close() }
        let release = DispatchSemaphore(value: 0)
        await withCheckedContinuation { (locked: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                try? other.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    locked.resume()
                    release.wait()
                    try db.execute(sql: "ROLLBACK")
                }
            }
        }
        _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "b", text: "quebec romeo"))
        // A round waits 1 s for the lock before it fails (busy_timeout); in a
        // full suite run the round itself can wait seconds for a thread.
        let deadline = ContinuousClock.now + .seconds(15)
        while !store.searchIndexStatus.description.hasPrefix("failing: "), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(store.searchIndexStatus.description.hasPrefix("failing: "), "\(store.searchIndexStatus)")
        #expect(store.searchIndexStatus == .failing("SQLite error 5: database is locked"), "why, in a line")
        // A wait for as long as the index makes progress ends too: a
        // failing index makes none.
        await #expect(throws: ChatFailure.self) {
            try await store.searchIndex.caughtUpWhileProgressing(patience: .milliseconds(100))
        }

        async let waiting = Self.hits(store, "quebec", viewer: alice.userID, in: room.id)
        try await Task.sleep(for: .milliseconds(200))
        release.signal()
        #expect(try await waiting.count == 2, "answered once a retry (a second later) took the message in")
        #expect(store.searchIndexStatus == .current)
    }

    /// A search file damaged on disk fails its rounds with SQLite's
    /// "malformed", says it will be rebuilt, and the next start rebuilds it
    /// (the clean flag notwithstanding); so is a file of another layout.
    @Test func aDamagedFileIsRebuiltAtTheNextStart() async throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite3"
        let searchPath = SearchIndexer.searchPath(for: path)
        defer { Self.remove(path) }
        var store = try SQLiteStore.open(path: path, synchronous: .normal)
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "tango"))
        try await store.searchIndexCaughtUp()
        try store.close()

        // search_docs' root page overwritten: the file still opens, and its
        // search_meta says clean.
        let (root, pageSize) = try await DatabaseQueue(path: searchPath).read { db in
            (
                try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'search_docs'") ?? 0,
                try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            )
        }
        #expect(root > 1)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: searchPath))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: pageSize))
        try handle.close()

        store = try SQLiteStore.open(path: path, synchronous: .normal)
        _ = try await Fixture(store: store).rooms().send(
            alice, conversation: room.id, toUser: 0, .init(clientMsgID: "b", text: "tango uniform"))
        let deadline = ContinuousClock.now + .seconds(3)
        while !store.searchIndexStatus.description.hasPrefix("failing: "), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(store.searchIndexStatus.description.hasPrefix("failing: SQLite error 11"), "\(store.searchIndexStatus)")
        #expect(store.searchIndexStatus.description.hasSuffix("; rebuilt from the messages at the next start"))
        #expect(FileManager.default.fileExists(atPath: SearchIndexer.rebuildMarker(searchPath)))
        try store.close()

        store = try SQLiteStore.open(path: path, synchronous: .normal)
        #expect(try await Self.hits(store, "tango", viewer: alice.userID, in: room.id).count == 2)
        #expect(store.searchIndexStatus == .current)
        #expect(!FileManager.default.fileExists(atPath: SearchIndexer.rebuildMarker(searchPath)))
        try store.close()

        // A later chatd's layout, and an earlier one's (1: ids in the order
        // messages were indexed): rebuilt too (the marker document goes).
        for layout in ["3", "1"] {
            let file = try DatabaseQueue(path: searchPath)
            try await file.write { db in
                try db.execute(sql: "INSERT INTO search_docs (conversation_id, seq) VALUES (999, 1)")
                try db.execute(sql: "UPDATE search_meta SET value = ? WHERE key = 'format'", arguments: [layout])
            }
            try file.close()
            store = try SQLiteStore.open(path: path, synchronous: .normal)
            #expect(try await Self.hits(store, "tango", viewer: alice.userID, in: room.id).count == 2)
            let stray = try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search.search_docs WHERE conversation_id = 999") ?? -1
            }
            #expect(stray == 0, "layout \(layout)")
            try store.close()
        }
    }

    /// A close calls the file clean only once all of it is on disk: not
    /// when a reader (another process here) kept the checkpoint from
    /// finishing; then it is trusted on this boot only.
    @Test func aCloseWhoseCheckpointCannotFinishIsNotClean() async throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite3"
        defer { Self.remove(path) }
        func clean() throws -> String? {
            let file = try DatabaseQueue(path: SearchIndexer.searchPath(for: path))
            defer { try? file.close() }
            return try file.read { db in try String.fetchOne(db, sql: "SELECT value FROM search_meta WHERE key = 'clean'") }
        }
        var store = try SQLiteStore.open(path: path, synchronous: .normal)
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "sierra"))
        try await store.searchIndexCaughtUp()

        let reader = try DatabaseQueue(path: SearchIndexer.searchPath(for: path))
        let release = DispatchSemaphore(value: 0)
        await withCheckedContinuation { (reading: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                try? reader.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN")
                    _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM search_docs")
                    reading.resume()
                    release.wait()
                    try db.execute(sql: "COMMIT")
                }
            }
        }
        try store.close()
        release.signal()
        try reader.close()
        #expect(try clean() == "0", "the checkpoint could not finish")

        store = try SQLiteStore.open(path: path, synchronous: .normal)
        #expect(try await Self.hits(store, "sierra", viewer: alice.userID, in: room.id).count == 1)
        try store.close()
        #expect(try clean() == "1")
    }

    /// The search file is written without syncs: one that was not closed
    /// cleanly and was opened before the machine last started may be torn,
    /// so it is rebuilt, while one from a crash of chatd alone (same boot)
    /// is kept.
    @Test func aFileOpenedBeforeTheMachineRestartedIsRebuilt() async throws {
        let path = NSTemporaryDirectory() + "search-\(UUID().uuidString).sqlite3"
        defer { Self.remove(path) }
        var store = try SQLiteStore.open(path: path, synchronous: .normal)
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "a", text: "papa"))
        #expect(try await Self.documents(store) == 1)
        try store.close()
        // A marker the rebuild would not keep: a document of no message.
        func mark(boot: String) throws {
            let file = try DatabaseQueue(path: SearchIndexer.searchPath(for: path))
            try file.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO search_docs (conversation_id, seq) VALUES (999, 1)")
                try db.execute(sql: "INSERT OR REPLACE INTO search_meta (key, value) VALUES ('clean', '0'), ('boot', ?)", arguments: [boot])
            }
            try file.close()
        }
        func markerKept() async throws -> Bool {
            store = try SQLiteStore.open(path: path, synchronous: .normal)
            defer { try? store.close() }
            let kept = try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM search.search_docs WHERE conversation_id = 999") ?? 0
            }
            #expect(try await Self.hits(store, "papa", viewer: alice.userID, in: room.id).count == 1)
            return kept > 0
        }
        try mark(boot: try #require(SearchIndexer.currentBootID()))
        #expect(try await markerKept(), "same boot: kept")
        try mark(boot: "an earlier boot")
        #expect(try await markerKept() == false, "another boot, not closed cleanly: rebuilt")
        try FileManager.default.removeItem(atPath: SearchIndexer.searchPath(for: path))
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: SearchIndexer.searchPath(for: path)))
        #expect(try await markerKept() == false, "unreadable: rebuilt")
    }

    /// Deleted history leaves the index: its messages are not found, and
    /// their documents go (the sweep compares the purge point too).
    @Test func purgedMessagesLeaveTheIndex() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        for i in 0..<3 {
            _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "q\(i)", text: "quebec \(i)"))
        }
        #expect(try await Self.hits(store, "quebec", viewer: alice.userID, in: room.id).count == 3)
        try await store.deleteHistory(of: room.id)
        #expect(try await Self.hits(store, "quebec", viewer: alice.userID, in: room.id).isEmpty)
        #expect(try await Self.documents(store) == 0)
    }

    /// A database restored from an older backup beside a newer index: a
    /// conversation the index took in further than the database now goes
    /// is indexed again from nothing.
    /// The comparison every 30 s goes over the conversations a slice at a
    /// time (by id), the last slice reaching past the last conversation
    /// (and dropping the documents of those gone there), then starting over.
    @Test func thePeriodicComparisonGoesASliceAtATime() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, first) = try await Self.aliceAndHerRoom(store)
        var conversations = [first.id]
        for name in ["second", "third"] {
            conversations.append(try await rooms.createRoom(alice, name: name, description: "", visibility: .public).id)
        }
        for c in conversations {
            _ = try await rooms.send(alice, conversation: c, toUser: 0, .init(clientMsgID: "w\(c)", text: "whiskey"))
        }
        try await store.searchIndexCaughtUp()
        // As if the index had missed them all, and kept a conversation that is gone.
        try await store.writer.write { db in
            try db.execute(
                sql: """
                    DELETE FROM search.message_search; DELETE FROM search.search_docs; DELETE FROM search.search_progress;
                    INSERT INTO search.search_progress VALUES (999999, 1, 1, 0);
                    INSERT INTO search.search_docs (conversation_id, seq) VALUES (999999, 1);
                    """)
        }
        /// Documents per conversation, in `conversations`' order, then the gone one's.
        let ids = conversations + [999999]
        func documents() async throws -> [Int] {
            try await store.writer.read { db in
                try ids.map { c in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM search.search_docs WHERE conversation_id = ?", arguments: [c]) ?? -1
                }
            }
        }
        let all = try await store.writer.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM conversations ORDER BY id") }
        #expect(all == conversations)
        let next = try await store.writer.write { db in try SearchIndexer.bringInStep(db, [], slice: (after: 0, count: 2)).next }
        #expect(next == conversations[1], "the slice ended at the second conversation")
        #expect(try await documents() == [1, 1, 0, 1], "the third and the gone one are in the next slice")

        let after = try await store.writer.write { db in
            try SearchIndexer.bringInStep(db, [], slice: (after: next ?? 0, count: 2)).next
        }
        #expect(after == 0, "the last slice: the next starts over")
        #expect(try await documents() == [1, 1, 1, 0], "gone, dropped by the last slice")
        #expect(try await Self.hits(store, "whiskey", viewer: alice.userID, in: nil).count == 3)
    }

    @Test func aConversationBehindItsIndexIsIndexedAgain() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let seq = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "r", text: "romeo")).event.seq
        #expect(try await Self.hits(store, "romeo", viewer: alice.userID, in: room.id) == [seq])
        // As if the index had taken in a later message the database lost.
        try await store.writer.write { db in
            try db.execute(sql: "UPDATE search.search_progress SET indexed_seq = indexed_seq + 5")
            try db.execute(
                sql: "INSERT INTO search.search_docs (conversation_id, seq) VALUES (?, ?)", arguments: [room.id, seq + 3])
        }
        try await store.searchIndex.sweepNow()
        #expect(try await Self.hits(store, "romeo", viewer: alice.userID, in: room.id) == [seq])
        #expect(try await Self.documents(store) == 1)
    }

    /// Each round leaves an FTS5 segment; once the index has been left
    /// alone for a second, `tidy` merges them (so queries read one), and
    /// every message is still found.
    @Test func aQuietIndexIsMergedIntoOneSegment() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        func segments() async throws -> Int {
            try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(DISTINCT segid) FROM search.message_search_idx") ?? -1
            }
        }
        for i in 0..<6 {
            _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "t\(i)", text: "tango \(i)"))
            try await store.searchIndexCaughtUp()  // a round per message
        }
        #expect(try await segments() > 1)
        let deadline = ContinuousClock.now + .seconds(10)
        while try await segments() > 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(try await segments() == 1)
        #expect(try await Self.hits(store, "tango", viewer: alice.userID, in: room.id).count == 6)
    }

    /// Two rooms whose messages alternate in time, stored in conversation
    /// order (as a rebuild, or a restored database, takes them in):
    /// newest first is by time across both rooms, a rebuild goes in rounds
    /// of at most the budget's messages and gives the same order, and a
    /// cursor from before it goes on at the same place.
    @Test func aRebuildGoesInBoundedRoundsAndKeepsNewestFirstByTime() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, first) = try await Self.aliceAndHerRoom(store)
        let second = try await rooms.createRoom(alice, name: "second", description: "", visibility: .public)
        let stored = try await store.transaction { tx -> [(conversation: ConversationID, seq: Int64, time: Int64)] in
            var out: [(conversation: ConversationID, seq: Int64, time: Int64)] = []
            for room in [first.id, second.id] {
                for i in 0..<15 {
                    let time: Int64 = (1_000 + 2 * Int64(i) + (room == first.id ? 0 : 1)) * 1_000
                    let e = try tx.append(
                        Event(conversationID: room, seq: 0, kind: .message, senderID: alice.userID, clientMsgID: "x\(room)-\(i)",
                            text: "xray \(time)", createdAt: time, messageType: .text))
                    out.append((e.conversationID, e.seq, time))
                }
            }
            return out
        }
        let byTime = stored.sorted { $0.time > $1.time }.map { "\($0.conversation):\($0.seq)" }
        func page(_ cursor: SearchCursor) async throws -> (hits: [String], next: SearchCursor?) {
            let r = try await store.searchMessages(
                SearchRequest(viewer: alice.userID, query: try SearchQuery("xray"), conversation: nil, order: .newest, cursor: cursor, limit: 10))
            return (r.hits.map { "\($0.conversationID):\($0.seq)" }, r.next)
        }
        let before = try await page(.start)
        #expect(before.hits == Array(byTime.prefix(10)), "newest first by time, across the rooms")
        let cursor = try #require(before.next)

        try await store.writer.write { db in
            try db.execute(sql: "DELETE FROM search.message_search; DELETE FROM search.search_docs; DELETE FROM search.search_progress")
        }
        store.searchIndex.setRoundBudget(4)
        let rounds = store.searchIndex.roundsDone
        try await store.searchIndex.sweepNow()
        #expect(store.searchIndex.roundsDone - rounds >= 30 / 4, "rounds of at most 4 messages")
        #expect(try await page(.start).hits == before.hits)
        #expect(try await page(cursor).hits == Array(byTime.dropFirst(10).prefix(10)), "the cursor goes on where it was")
        #expect(try await Self.documents(store) == 30)
    }

    /// `chatd migrate` waits for a rebuild however long it takes while its
    /// rounds go on (a search gives up after 5 s): here 5,000 rounds of one
    /// message each (about 2 s in a debug build alone, 24-53 s beside the
    /// rest of the suite), waited for in waits of 200 ms. In CI
    /// (2026-12-07) the test once saw no wait end, yet every round done: the
    /// wait's timer was then a task's sleep, which wakes late when the
    /// tasks' threads are busy; it is a Dispatch timer now.
    @Test func aWaitWhileProgressingOutlastsARebuild() async throws {
        let store = try SQLiteStore.inMemory()
        let (_, alice, room) = try await Self.aliceAndHerRoom(store)
        try await store.transaction { tx in
            for i in 0..<5_000 {
                _ = try tx.append(
                    Event(conversationID: room.id, seq: 0, kind: .message, senderID: alice.userID, clientMsgID: "w\(i)",
                        text: "whiskey \(i)", createdAt: 1_000_000 + Int64(i), messageType: .text))
            }
        }
        #expect(try await Self.documents(store) == 5_000)
        try await store.writer.write { db in
            try db.execute(sql: "DELETE FROM search.message_search; DELETE FROM search.search_docs; DELETE FROM search.search_progress")
        }
        store.searchIndex.setRoundBudget(1)
        let rounds = store.searchIndex.roundsDone
        store.searchIndex.requestSweep()
        var waits = 0
        try await store.searchIndex.caughtUpWhileProgressing(patience: .milliseconds(200)) { _ in waits += 1 }
        #expect(store.searchIndex.roundsDone - rounds >= 5_000, "rounds of one message")
        #expect(waits >= 1, "5,000 rounds take longer than a wait of 200 ms")
        #expect(store.searchIndexStatus == .current)
        #expect(try await Self.documents(store) == 5_000)
    }

    /// A round stops at its budget inside a conversation: the conversation's
    /// progress says how far it got, the next slice starts with it, and the
    /// announced conversations after it are left to the next round.
    @Test func aRoundStopsAtItsBudget() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let other = try await rooms.createRoom(alice, name: "other", description: "", visibility: .public)
        for i in 0..<6 {
            for c in [room.id, other.id] {
                _ = try await rooms.send(alice, conversation: c, toUser: 0, .init(clientMsgID: "y\(c)-\(i)", text: "yankee"))
            }
        }
        try await store.searchIndexCaughtUp()
        try await store.writer.write { db in
            try db.execute(sql: "DELETE FROM search.message_search; DELETE FROM search.search_docs; DELETE FROM search.search_progress")
        }
        let last = try await store.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT last_seq FROM conversations WHERE id = ?", arguments: [room.id]) ?? 0
        }
        #expect(last > 3)
        let step = try await store.writer.write { db in
            try SearchIndexer.bringInStep(db, [room.id, other.id], slice: (after: 0, count: 10), budget: 3)
        }
        #expect(step == SearchIndexer.Step(next: room.id - 1, unfinished: room.id))
        let progress = try await store.writer.read { db in
            try Int64.fetchAll(db, sql: "SELECT indexed_seq FROM search.search_progress ORDER BY conversation_id")
        }
        #expect(progress == [3], "the first conversation up to seq 3, nothing of the other")
        var steps = 1
        var next = step
        while next.unfinished != nil {
            next = try await store.writer.write { [next] db in
                try SearchIndexer.bringInStep(
                    db, Set([room.id, other.id].filter { $0 >= next.unfinished ?? 0 }), slice: (after: next.next ?? 0, count: 10),
                    budget: 3)
            }
            steps += 1
        }
        #expect(next.reachedEnd, "the slice reached past the last conversation")
        #expect(steps >= 4)
        #expect(try await Self.hits(store, "yankee", viewer: alice.userID, in: nil, limit: 100).count == 12)
    }

    /// A second whose places are taken up to its last: the next
    /// document spills into the next second's ids, and when that id is
    /// taken too, it gets one above every other; the message is found.
    @Test func aDocumentWhoseIdIsTakenGetsAnother() async throws {
        let store = try SQLiteStore.inMemory()
        let (_, alice, room) = try await Self.aliceAndHerRoom(store)
        let shift = SearchIndexer.idShift
        try await store.writer.write { db in
            try db.execute(
                sql: "INSERT INTO search.search_docs (id, conversation_id, seq) VALUES (?, 999, 1), (?, 999, 2)",
                arguments: [7 * shift + shift - 1, 8 * shift])
        }
        let top = try await store.writer.read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM search.search_docs") ?? 0 }
        let seq = try await store.transaction { tx in
            try tx.append(
                Event(conversationID: room.id, seq: 0, kind: .message, senderID: alice.userID, clientMsgID: "z", text: "zulu",
                    createdAt: 7_500, messageType: .text)
            ).seq
        }
        #expect(try await Self.hits(store, "zulu", viewer: alice.userID, in: room.id) == [seq])
        let id = try await store.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM search.search_docs WHERE conversation_id = ? AND seq = ?", arguments: [room.id, seq])
        }
        #expect(top >= 8 * shift)
        #expect(id == top + 1, "8 × 2^24 was taken")
    }

    /// Dropping documents counts against a round's budget too: a purge
    /// further than the budget drops the oldest and leaves the record as
    /// it was, so the next round goes on; a deleted conversation's
    /// documents go in rounds as well.
    @Test func aDropGoesInRoundsToo() async throws {
        let store = try SQLiteStore.inMemory()
        let (rooms, alice, room) = try await Self.aliceAndHerRoom(store)
        let other = try await rooms.createRoom(alice, name: "other", description: "", visibility: .public)
        for i in 0..<10 {
            for c in [room.id, other.id] {
                _ = try await rooms.send(alice, conversation: c, toUser: 0, .init(clientMsgID: "d\(c)-\(i)", text: "delta \(i)"))
            }
        }
        #expect(try await Self.documents(store) == 20)
        func seqs(_ c: ConversationID) async throws -> [Int64] {
            try await store.writer.read { db in
                try Int64.fetchAll(db, sql: "SELECT seq FROM search.search_docs WHERE conversation_id = ? ORDER BY seq", arguments: [c])
            }
        }
        let held = try await seqs(room.id)
        // As if the history up to the last message were purged (the events
        // stay: the index follows the purge point).
        let last = try #require(held.last)
        try await store.writer.write { db in
            try db.execute(sql: "UPDATE conversations SET purged_seq = ? WHERE id = ?", arguments: [last, room.id])
        }
        let step = try await store.writer.write { db in try SearchIndexer.bringInStep(db, [room.id], budget: 4) }
        #expect(step == SearchIndexer.Step(unfinished: room.id))
        #expect(try await seqs(room.id) == Array(held.dropFirst(4)), "the four oldest dropped")
        let recorded = try await store.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT purged_seq FROM search.search_progress WHERE conversation_id = ?", arguments: [room.id])
        }
        #expect(recorded == 0, "the record waits for the whole drop")
        var steps = 1
        var next = step
        while next.unfinished != nil {
            next = try await store.writer.write { db in try SearchIndexer.bringInStep(db, [room.id], budget: 4) }
            steps += 1
        }
        #expect(steps == 3)
        #expect(try await seqs(room.id).isEmpty)

        store.searchIndex.setRoundBudget(3)
        let rounds = store.searchIndex.roundsDone
        _ = try await store.deleteConversation(other.id, now: 5)
        #expect(try await Self.documents(store) == 0)
        #expect(store.searchIndex.roundsDone - rounds >= 10 / 3, "rounds of at most 3 documents")
        #expect(try await Self.hits(store, "delta", viewer: alice.userID, in: nil).isEmpty)
    }

    /// A comparison of more conversations than a round reads at a time
    /// (`todoPage`) takes them all in.
    @Test func aComparisonReadsItsConversationsInPages() async throws {
        let store = try SQLiteStore.inMemory()
        let (_, alice, _) = try await Self.aliceAndHerRoom(store)
        let count = SearchIndexer.todoPage * 3 / 2
        try await store.writer.write { db in
            for i in 0..<count {
                try db.execute(
                    sql: """
                        INSERT INTO conversations (kind, name, name_key, description, visibility, created_by, created_at,
                                                   last_activity_at, last_seq)
                        VALUES ('room', ?, ?, '', 'public', ?, 0, 0, 1);
                        INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (last_insert_rowid(), ?, 'owner', 0);
                        INSERT INTO events (conversation_id, seq, kind, sender_id, client_msg_id, message_type, text, created_at)
                        VALUES ((SELECT max(id) FROM conversations), 1, 'message', ?, ?, 'text', 'echo page', 1000);
                        """,
                    arguments: ["p\(i)", "p\(i)", alice.userID, alice.userID, alice.userID, "p\(i)"])
            }
        }
        try await store.searchIndex.sweepNow()
        #expect(try await Self.documents(store) == count)
    }
}
