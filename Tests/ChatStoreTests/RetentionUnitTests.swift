import ChatCore
import ChatCrypto
import ChatStore
import Foundation
import Testing

/// Retention against the real store: what goes, what stays, and what goes with it.
struct RetentionUnitTests {
    @Test(arguments: StoreBackend.allCases)
    func purgeRemovesTheOldestEventsInBatchesAndReleasesWhatTheyHeld(_ backend: StoreBackend) async throws {
        let files = try await FileServiceTests(backend)
        defer { try? FileManager.default.removeItem(atPath: files.root) }
        let store = files.store
        let clock = files.clock
        let alice = try await files.session("alice")
        let day: Millis = 24 * 3600 * 1000
        let old = try await files.room("old", owner: alice)
        let forever = try await files.room("forever", owner: alice)
        let file = try await files.upload(alice, FileServiceTests.text(500))
        for i in 0..<7 { try await files.send(old, alice, "walrus \(i)") }
        try await files.send(old, alice, "", attachment: ChatCore.Attachment(fileID: file.id, name: "", size: 0, mimeType: ""))
        try await files.send(forever, alice, "walrus forever")
        _ = try await store.setRetention(conversation: forever, days: 0)
        clock.advance(byMs: 10 * day)
        let recent = try await files.send(old, alice, "walrus recent")

        // No default retention: nothing goes.
        #expect(try await store.purgeExpired(defaultDays: 0, now: clock.nowMs(), batch: 3) == PurgeReport())
        // A 5-day default, in transactions of 3 events: everything before the
        // recent message goes (creation + 8 messages), the forever room stays.
        let report = try await store.purgeExpired(defaultDays: 5, now: clock.nowMs(), batch: 3)
        #expect(report.events == 9 && report.messages == 8 && report.conversations == 1)
        let page = try await store.history(conversation: old, anchor: .after(0), limit: 50, viewer: alice.userID)
        #expect(page.purgedThroughSeq == recent - 1 && page.events.map(\.seq) == [recent])
        #expect(try await store.conversation(id: old, viewer: nil)?.purgedThroughSeq == recent - 1)
        // Search entries went with the messages.
        let hits = try await store.searchMessages(
            SearchRequest(viewer: alice.userID, query: try SearchQuery("walrus"), conversation: nil, order: .newest, cursor: .start, limit: 10)).hits
        #expect(Set(hits.map(\.conversationID)) == [old, forever] && hits.count == 2)
        // So did the file reference: the file is collectable after its grace time.
        clock.advance(byMs: 2 * day)
        let gc = try await files.service.collectGarbage()
        #expect(gc.files == 1 && gc.contents == 1)
        // A second pass finds nothing more.
        #expect(try await store.purgeExpired(defaultDays: 5, now: clock.nowMs(), batch: 3).events == 0)
        // Per-conversation retention overrides the default.
        _ = try await store.setRetention(conversation: forever, days: 1)
        #expect(try await store.purgeExpired(defaultDays: 0, now: clock.nowMs(), batch: 100).events == 2)
    }
}

struct ConversationDeletionTests {
    @Test func aLongHistoryIsDeletedInBoundedTransactions() async throws {
        let files = try FileServiceTests()
        defer { try? FileManager.default.removeItem(atPath: files.root) }
        let store = try #require(files.store as? SQLiteStore)
        let alice = try await files.session("alice")
        let room = try await files.room("long", owner: alice)
        for i in 0..<2100 { try await files.send(room, alice, "needle \(i)") }
        let statistics = store.groupCommitStatistics
        #expect(try await store.deleteConversation(room, now: 3) == [alice.userID])
        // 2101 events (creation + 2100 messages): 2000, then 101, then the conversation.
        #expect(store.groupCommitStatistics.writes - statistics.writes == 3)
        #expect(try await store.conversation(id: room, viewer: nil) == nil)
        let hits = try await store.searchMessages(
            SearchRequest(viewer: alice.userID, query: try SearchQuery("needle"), conversation: nil, order: .newest, cursor: .start, limit: 10))
        #expect(hits.hits.isEmpty)
    }
}

struct SearchBoundTests {
    /// A search examines at most maxCandidates matches per request: someone
    /// whose few matches are older than thousands of others' gets short
    /// pages with a cursor, not one unbounded scan.
    @Test func eachRequestExaminesABoundedNumberOfMatches() async throws {
        let files = try FileServiceTests()
        defer { try? FileManager.default.removeItem(atPath: files.root) }
        let store = try #require(files.store as? SQLiteStore)
        let alice = try await files.session("alice")
        let bob = try await files.session("bobby")
        let small = try await files.room("small", owner: bob)
        let big = try await files.room("big", owner: alice)
        for i in 0..<3 { try await files.send(small, bob, "needle \(i)") }
        for i in 0..<(SearchCursor.maxCandidates + 10) { try await files.send(big, alice, "needle \(i)") }
        func search(_ who: Session, _ cursor: SearchCursor) async throws -> (hits: [SearchHit], next: SearchCursor?) {
            try await store.searchMessages(
                SearchRequest(viewer: who.userID, query: try SearchQuery("needle"), conversation: nil, order: .newest, cursor: cursor, limit: 20))
        }
        var page = try await search(bob, .start)
        #expect(page.hits.isEmpty && page.next != nil)
        page = try await search(bob, try #require(page.next))
        #expect(page.hits.map(\.seq) == [4, 3, 2] && page.next == nil)
        page = try await search(alice, .start)
        #expect(page.hits.count == 20 && page.hits.first?.conversationID == big && page.next != nil)
    }
}
