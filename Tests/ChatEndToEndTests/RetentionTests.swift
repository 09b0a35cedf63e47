import ChatClient
import ChatCore
import ChatProtocol
import Foundation
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(3)))
struct RetentionTests {
    @Test func purgeRemovesOldEventsAndClientsAreToldExplicitly() async throws {
        let clock = ManualClock(Int64(Date().timeIntervalSince1970 * 1000))
        try await withServer(clock: clock) { server in try await purgeScenario(server, clock) }
    }

    func purgeScenario(_ server: TestServer, _ clock: ManualClock) async throws {
        let (alice, _) = try await server.user("alice")
        let (bob, _) = try await server.user("bobby")
        let room = try await alice.createRoom(name: "old")
        _ = try await bob.joinRoom(room.id)
        for text in ["ancient pterodactyl", "ancient mammoth", "ancient fern"] { _ = try await alice.send(room: room.id, text: text) }
        let keep = try await alice.createRoom(name: "keep")
        _ = try await alice.send(room: keep.id, text: "ancient but kept")
        clock.advance(byMs: 3 * 24 * 3600 * 1000)
        let fresh = try await alice.send(room: room.id, text: "fresh news").event.seq
        let s = ["--socket", server.daemon.controlSocketPath]

        // Server default: keep forever. Nothing goes.
        var r = try await chatctl(s + ["retention", "purge"])
        #expect(r.status == 0 && r.stdout.contains("removed 0 events") && r.stdout.contains("forever"), "\(r.stdout)\(r.stderr)")
        r = try await chatctl(s + ["retention", "set", "old", "2"])
        #expect(r.status == 0 && r.stdout.contains("kept 2 days"), "\(r.stdout)\(r.stderr)")
        r = try await chatctl(s + ["--json", "retention", "set", "keep", "forever"])
        #expect(jsonObject(r.stdout)["server_default"] as? Bool == false)
        r = try await chatctl(s + ["retention", "set", "nope", "2"])
        #expect(r.status != 0)
        r = try await chatctl(s + ["retention", "set", "old", "-3"])
        #expect(r.status != 0)
        r = try await chatctl(s + ["retention", "purge", "--json"])
        let report = jsonObject(r.stdout)
        // created, bob joined, three messages.
        #expect(r.status == 0 && report["events"] as? Int == 5 && report["messages"] as? Int == 3, "\(r.stdout)")

        // History says what is gone; the gap is not a loss.
        let page = try await bob.history(room: room.id, after: 0)
        #expect(page.purgedThroughSeq == fresh - 1 && page.events.map(\.seq) == [fresh])
        let info = try await bob.call(.getConversation, { var q = Chatd_V1_GetConversationRequest(); q.conversationID = room.id; return q }(),
            as: Chatd_V1_ConversationResponse.self).conversation
        #expect(info.purgedThroughSeq == fresh - 1)
        // The reference client reports the purge and delivers only what remains.
        let delivered = Mutex<[UInt64]>([])
        let purged = Mutex<[UInt64: UInt64]>([:])
        let sync = ConversationSync(
            connection: bob, deliver: { e, _ in if e.conversationID == room.id { delivered.withLock { $0.append(e.seq) } } },
            purged: { c, through in purged.withLock { $0[c] = through } })
        try await sync.catchUp()
        #expect(delivered.withLock { $0 } == [fresh] && purged.withLock { $0[room.id] } == fresh - 1)
        // Search forgets purged messages; the conversation kept forever keeps its own.
        #expect(try await alice.searchMessages("ancient").hits.map(\.conversationID) == [keep.id])
        // Back to the default (forever): nothing more goes.
        r = try await chatctl(s + ["retention", "set", String(room.id), "default"])
        #expect(r.status == 0 && r.stdout.contains("server default"))
        // Operators' retention changes and users' conversation deletions are audited.
        r = try await chatctl(s + ["--json", "audit", "--action", "admin_retention_set"])
        #expect(r.status == 0 && r.stdout.components(separatedBy: "admin_retention_set").count - 1 == 3, "\(r.stdout)")
        _ = try await alice.call(.deleteConversation, { var q = Chatd_V1_ConversationRef(); q.conversationID = keep.id; return q }(),
            as: Chatd_V1_Empty.self)
        r = try await chatctl(s + ["audit", "--since", "99999999999999999d"])
        #expect(r.status == 2, "\(r.stderr)")  // a usage error, not a trap
        r = try await chatctl(s + ["audit", "--action", "conversation_deleted"])
        #expect(r.status == 0 && r.stdout.contains("conversation=\(keep.id)"), "\(r.stdout)")
    }
}
