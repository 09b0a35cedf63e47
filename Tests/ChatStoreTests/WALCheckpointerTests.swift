import ChatCore
@testable import ChatStore
import ChatTestSupport
import Foundation
import GRDB
import Testing

/// The WAL is copied into the database file by the checkpointer's thread,
/// not by the group-commit writer, whose own checkpoint is only a backstop.
struct WALCheckpointerTests {
    @Test func theCheckpointerCopiesTheLogWhileTheWriterWrites() async throws {
        let path = NSTemporaryDirectory() + "ckpt-\(UUID().uuidString).sqlite3"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try SQLiteStore.open(path: path, synchronous: .normal)
        let backstop = try await store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
        #expect(backstop == WALCheckpointer.writerBackstopPages)
        let f = Fixture(existing: store)
        let alice = try await f.accounts().register(
            username: "alice", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
        let room = try await f.rooms().createRoom(alice, name: "ckpt", description: "", visibility: .public)
        for i in 0..<200 {
            _ = try await f.rooms().send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "c\(i)", text: "text \(i)"))
        }
        let checkpointer = try #require(store.checkpointer)
        let deadline = ContinuousClock.now + .seconds(5)
        while checkpointer.statistics.pages == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(checkpointer.statistics.pages > 0, "the checkpointer copied pages")
        #expect(checkpointer.statistics.failures == 0)
        // Shutdown: the thread stops, the log is truncated into the file.
        try store.checkpoint()
        #expect(checkpointer.statistics.runs > 0)
        let page = try await store.history(conversation: room.id, anchor: .after(0), limit: 500, viewer: alice.userID)
        #expect(page.events.filter { $0.kind == .message }.count == 200)
        try store.close()
        #expect((try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0 == 0)
    }
}

extension WALCheckpointerTests {
    /// Runs `body` on a store over a fresh database file whose checkpointer's
    /// every checkpoint fails with `code`, once `enough` says it has run
    /// long enough (or after 5 s).
    static func withFailingCheckpoints(
        _ code: ResultCode, _ message: String, until enough: @escaping (WALCheckpointer) -> Bool,
        _ body: (SQLiteStore, WALCheckpointer) throws -> Void
    ) async throws {
        let path = NSTemporaryDirectory() + "ckpt-\(UUID().uuidString).sqlite3"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        // The database and its schema, then a checkpointer whose checkpoints fail.
        try SQLiteStore.open(path: path, synchronous: .normal).close()
        let failing = try WALCheckpointer(path: path) { _ in throw DatabaseError(resultCode: code, message: message) }
        let store = try SQLiteStore(writer: DatabaseQueue(path: path), path: path, checkpointer: failing)
        defer { try? store.close() }
        let deadline = ContinuousClock.now + .seconds(5)
        while !enough(failing) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try body(store, failing)
    }

    /// A checkpoint that fails with an I/O error is a storage fault, as a
    /// write's would be: writes are refused and the health says why (the
    /// daemon logs each change of it). Before, it was only counted.
    @Test func aFailingCheckpointIsAStorageFault() async throws {
        try await Self.withFailingCheckpoints(.SQLITE_IOERR_FSYNC, "disk I/O error", until: { $0.statistics.failures > 0 }) {
            store, failing in
            #expect(failing.statistics.failures > 0)
            guard case .failed(let reason) = store.storage.current.state else {
                Issue.record("the storage is \(store.storage.current.state) after a failed checkpoint")
                return
            }
            #expect(reason.contains("disk I/O error"), "\(reason)")
            #expect(throws: ChatFailure.self) { try store.storage.admit(.ordinary) }
        }
    }

    /// A round that finds the checkpoint lock taken (SQLITE_BUSY: another
    /// connection checkpoints) failed at nothing: it is counted apart, and
    /// the storage stays writable. It was counted as a failure, which the
    /// first test here forbids; that test failed once under load, perhaps
    /// for this (not confirmed).
    @Test func aBusyCheckpointIsNoFailure() async throws {
        try await Self.withFailingCheckpoints(.SQLITE_BUSY, "database is locked", until: { $0.statistics.busy >= 3 }) { store, busy in
            #expect(busy.statistics.busy >= 3)
            #expect(busy.statistics.failures == 0)
            #expect(store.storage.current.state == .writable, "\(store.storage.current.state)")
            try store.storage.admit(.ordinary)
        }
    }
}
