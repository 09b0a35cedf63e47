import ChatCore
import ChatStore
@testable import ChatPostgres
import ChatTestSupport
import Foundation
import Synchronization
import Testing

struct GroupCommitTests {
    /// Concurrent writes share commits; a failing write fails alone, and
    /// one that fails after writing leaves nothing behind.
    @Test func concurrentWritesShareCommitsAndFailAlone() async throws {
        let path = NSTemporaryDirectory() + "gc-\(UUID().uuidString).sqlite3"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore.open(path: path, synchronous: .full)
        let f = try Fixture(store: store)
        let alice = try await f.accounts().register(
            username: "alice", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
        let rooms = f.rooms()
        let room = try await rooms.createRoom(alice, name: "gc", description: "", visibility: .public)
        let readBefore = try await store.transaction { tx in try tx.standing(of: alice.userID, in: room.id).membership?.readSeq }
        let before = store.groupCommitStatistics
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<300 {
                group.addTask {
                    if i % 20 == 10 {
                        // Writes, then fails: its savepoint is rolled back.
                        return (try? await store.transaction { tx in
                            try tx.setReadSeq(conversation: room.id, user: alice.userID, seq: 99)
                            throw ChatFailure(.invalidField, "refused after writing")
                        }) != nil
                    }
                    // Fails inside the transaction before writing (a reply to a
                    // message that does not exist).
                    let reply: Int64? = i % 20 == 0 ? 999_999 : nil
                    return (try? await rooms.send(
                        alice, conversation: room.id, toUser: 0, .init(clientMsgID: "g\(i)", text: "t\(i)", replyTo: reply))) != nil
                }
            }
            var out: [Bool] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0 }.count == 270)
        let after = store.groupCommitStatistics
        let batches = after.batches - before.batches
        #expect(after.writes - before.writes == 300)
        #expect(batches < 300, "writes were grouped (\(batches) commits for 300 writes)")
        let history = try await store.history(conversation: room.id, anchor: .after(0), limit: 1000, viewer: alice.userID)
        #expect(history.events.map(\.seq) == Array(1...271))
        let readAfter = try await store.transaction { tx in try tx.standing(of: alice.userID, in: room.id).membership?.readSeq }
        #expect(readAfter == readBefore)
        try store.close()
    }
}

/// Group commit on PostgreSQL: a node's concurrent writes share
/// transactions, without savepoints.
struct PostgresGroupCommitTests {
    /// Concurrent writes share commits (never more than `maxWritesPerBatch` per transaction).
    /// A write that fails after writing leaves nothing behind and fails
    /// alone: its batch rolls back and the batch's other writes run again,
    /// once each. A write refused before it wrote fails alone without a
    /// rollback.
    @Test func concurrentWritesShareTransactionsAndFailAlone() async throws {
        let store = try await PostgresTestCluster.shared.freshStore()
        let f = Fixture(existing: store)
        let alice = try await f.accounts().register(
            username: "alice", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
        let rooms = f.rooms()
        let room = try await rooms.createRoom(alice, name: "gc", description: "", visibility: .public)
        let readBefore = try await store.transaction { tx in try tx.standing(of: alice.userID, in: room.id).membership?.readSeq }
        let largest = Mutex(0)
        store.setBatchObserver { writes, _ in largest.withLock { $0 = max($0, writes) } }
        let before = store.groupCommitStatistics
        let rolledBackBefore = store.rolledBackBatches
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<300 {
                group.addTask {
                    if i % 10 == 0 {
                        // Writes, then fails: its batch rolls back.
                        return (try? await store.transaction(conversation: room.id) { tx in
                            try tx.setReadSeq(conversation: room.id, user: alice.userID, seq: 99)
                            throw ChatFailure(.invalidField, "refused after writing")
                        }) != nil
                    }
                    if i % 10 == 5 {
                        // Reads, then is refused: it fails alone, the batch goes on.
                        return (try? await store.transaction(conversation: room.id) { tx in
                            _ = try tx.standing(of: alice.userID, in: room.id)
                            throw ChatFailure(.forbidden, "refused after reading")
                        }) != nil
                    }
                    return (try? await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "g\(i)", text: "t\(i)"))) != nil
                }
            }
            var out: [Bool] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0 }.count == 240)
        let after = store.groupCommitStatistics
        let batches = after.batches - before.batches
        #expect(after.writes - before.writes == 300)
        #expect(batches < 300, "writes were grouped (\(batches) transactions for 300 writes)")
        #expect(largest.withLock { $0 } <= PostgresGroupCommit.maxWritesPerBatch)
        #expect(store.rolledBackBatches - rolledBackBefore == 30, "one rollback per write that failed after writing")
        let history = try await store.history(conversation: room.id, anchor: .after(0), limit: 1000, viewer: alice.userID)
        #expect(history.events.map(\.seq) == Array(1...241))
        #expect(Set(history.events.compactMap(\.clientMsgID)).count == 240, "each send stored once")
        let readAfter = try await store.transaction { tx in try tx.standing(of: alice.userID, in: room.id).membership?.readSeq }
        #expect(readAfter == readBefore)
        await store.close()
    }

    /// Sends to eight rooms run in four lanes (a pool of 8): each room's
    /// stream is gap-free and reaches the observer in seq order, and the
    /// rooms' writes were batched.
    @Test func lanesKeepEachConversationInOrder() async throws {
        var settings = try await PostgresTestCluster.shared.freshDatabase()
        settings.poolSize = 8
        let store = try await PostgresStore.open(settings, logger: PostgresStoreTests.logger)
        let f = Fixture(existing: store)
        let alice = try await f.accounts().register(
            username: "alice", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
        let rooms = f.rooms()
        var ids: [ConversationID] = []
        for i in 0..<8 { ids.append(try await rooms.createRoom(alice, name: "lane\(i)", description: "", visibility: .public).id) }
        let seen = Mutex<[ConversationID: [Seq]]>([:])
        store.setEventObserver { batch in
            seen.withLock { for e in batch.flatMap(\.events) { $0[e.conversationID, default: []].append(e.seq) } }
        }
        let before = store.groupCommitStatistics
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<400 {
                let room = ids[i % ids.count]
                group.addTask {
                    _ = try await rooms.send(alice, conversation: room, toUser: 0, .init(clientMsgID: "l\(i)", text: "t\(i)"))
                }
            }
            try await group.waitForAll()
        }
        let after = store.groupCommitStatistics
        #expect(after.writes - before.writes == 400)
        #expect(after.batches - before.batches < 400)
        for id in ids {
            let page = try await store.history(conversation: id, anchor: .after(0), limit: 100, viewer: alice.userID)
            #expect(page.events.map(\.seq) == Array(1...51))
            #expect(seen.withLock { $0[id] } == Array(2...51))
        }
        await store.close()
    }

    /// Two nodes whose writes lock two rooms in opposite orders deadlock;
    /// PostgreSQL aborts one, which runs again in a later batch of its node,
    /// and both succeed.
    @Test func aLostDeadlockRunsAgain() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let a = try await PostgresStore.open(settings, logger: PostgresStoreTests.logger)
        let b = try await PostgresStore.open(settings, logger: PostgresStoreTests.logger)
        let f = Fixture(existing: a)
        let alice = try await f.accounts().register(
            username: "alice", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
        let one = try await f.rooms().createRoom(alice, name: "one", description: "", visibility: .public).id
        let two = try await f.rooms().createRoom(alice, name: "two", description: "", visibility: .public).id
        let runs = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (store, first, second) in [(a, one, two), (b, two, one)] {
                group.addTask {
                    try await store.transaction { tx in
                        runs.add()
                        _ = try tx.standing(of: alice.userID, in: first)  // FOR UPDATE of the room
                        Thread.sleep(forTimeInterval: 0.3)
                        _ = try tx.standing(of: alice.userID, in: second)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(runs.value == 3, "one side ran twice")
        await a.close()
        await b.close()
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// The configured `storage.synchronous` is what the writer runs with. GRDB
/// sets a pool's writer to NORMAL when it turns WAL on, after the
/// connection's own setup: every commit went unsynced until chatd set it
/// again.
struct SQLiteDurabilityTests {
    @Test(arguments: SQLiteStore.Synchronous.allCases)
    func theWriterCommitsWithTheConfiguredSynchronousLevel(_ level: SQLiteStore.Synchronous) async throws {
        let path = NSTemporaryDirectory() + "sync-\(UUID().uuidString).sqlite3"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore.open(path: path, synchronous: level)
        let value = try await store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        let expected: [SQLiteStore.Synchronous: Int] = [.off: 0, .normal: 1, .full: 2, .extra: 3]
        #expect(value == expected[level])
        try store.close()
    }
}
