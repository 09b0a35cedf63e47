import ChatCore
import ChatStore
import Foundation
import Testing

struct GroupCommitTests {
    /// Concurrent writes share commits; a failing write fails alone.
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
        let before = store.groupCommitStatistics
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<300 {
                group.addTask {
                    // Every tenth write fails inside the transaction (a reply to
                    // a message that does not exist) and must fail on its own.
                    let reply: Int64? = i % 10 == 0 ? 999_999 : nil
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
        try store.close()
    }
}
