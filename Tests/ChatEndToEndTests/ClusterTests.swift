import ChatClient
import ChatPostgres
import ChatProtocol
import ChatTestSupport
import Foundation
import Testing

/// Several chatd nodes on one PostgreSQL database (issue 14): each node in
/// this process, with its own data directory holding the same token key.
struct TestCluster {
    let nodes: [TestServer]
    let database: PostgresStore.Settings

    static func start(nodes count: Int) async throws -> TestCluster {
        let database = try await PostgresTestCluster.shared.freshDatabase()
        var nodes: [TestServer] = []
        do {
            for _ in 0..<count {
                let dir = TestServer.tempDir()
                if let first = nodes.first {
                    try FileManager.default.copyItem(atPath: first.dataDir + "/token.key", toPath: dir + "/token.key")
                }
                nodes.append(try await TestServer.start(dataDir: dir, backend: .postgresql, database: database))
            }
        } catch {
            for node in nodes { await node.stop() }
            throw error
        }
        return TestCluster(nodes: nodes, database: database)
    }

    func stop() async {
        for node in nodes { await node.stop() }
    }
}

func withCluster(nodes: Int = 3, _ body: (TestCluster) async throws -> Void) async throws {
    let cluster = try await TestCluster.start(nodes: nodes)
    do {
        try await body(cluster)
    } catch {
        await cluster.stop()
        throw error
    }
    await cluster.stop()
}

@Suite(.timeLimit(.minutes(3)))
struct ClusterTests {
    /// Clients on three nodes, all sending at once: each sees every event of
    /// the room exactly once, in seq order, with no gap.
    @Test func eventsReachEveryNodeExactlyOnceInOrder() async throws {
        try await withCluster { cluster in
            let (a, b, c) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
            let (alice, _) = try await a.user("alice")
            let (bob, _) = try await b.user("bob")
            let (carol, _) = try await c.user("carol")
            let room = try await alice.createRoom(name: "everywhere")
            _ = try await bob.joinRoom(room.id)
            _ = try await carol.joinRoom(room.id)
            let collectors = [PushCollector(alice), PushCollector(bob), PushCollector(carol)]
            let perSender = 40
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (name, client) in [("a", alice), ("b", bob), ("c", carol)] {
                    group.addTask {
                        for i in 0..<perSender { _ = try await client.send(room: room.id, text: "\(name)\(i)", clientMsgID: "\(name)-\(i)") }
                    }
                }
                try await group.waitForAll()
            }
            let head = try await alice.history(room: room.id, limit: 1).headSeq
            #expect(head == 3 + UInt64(3 * perSender))  // created, two joins, the messages
            for collector in collectors {
                #expect(await collector.wait { pushes in
                    pushes.contains { if case .event(let e) = $0 { e.conversationID == room.id && e.seq == head } else { false } }
                })
                let seqs = await collector.events.filter { $0.conversationID == room.id && $0.kind == .message }.map(\.seq)
                #expect(seqs == Array(4...head), "every message once, in order")
            }
        }
    }

    /// A retry of a send on another node is the same message.
    @Test func retryOnAnotherNodeIsADuplicate() async throws {
        try await withCluster(nodes: 2) { cluster in
            let (alice, _) = try await cluster.nodes[0].user("alice", password: "password-1")
            let room = try await alice.createRoom(name: "retries")
            let first = try await alice.send(room: room.id, text: "once", clientMsgID: "same")
            let again = try await cluster.nodes[1].connect()
            _ = try await again.login(username: "alice", password: "password-1")
            let retried = try await again.send(room: room.id, text: "once", clientMsgID: "same")
            #expect(retried.duplicate)
            #expect(retried.event.seq == first.event.seq)
            let history = try await again.history(room: room.id, limit: 10)
            #expect(history.events.filter { $0.kind == .message }.count == 1)
        }
    }

    /// A token made on one node resumes on another (the nodes share the token key).
    @Test func sessionResumesOnAnotherNode() async throws {
        try await withCluster(nodes: 2) { cluster in
            let (_, auth) = try await cluster.nodes[0].user("dora")
            let resumed = try await cluster.nodes[1].connect().resume(token: auth.token)
            #expect(resumed.user.id == auth.user.id)
        }
    }

    /// A device revoked through one node loses its connection on another.
    @Test func revocationReachesEveryNode() async throws {
        try await withCluster(nodes: 2) { cluster in
            let (phone, _) = try await cluster.nodes[0].user("erin", password: "password1", device: "phone")
            let laptop = try await cluster.nodes[1].connect()
            _ = try await laptop.login(username: "erin", password: "password1", device: device("laptop"))
            let pushes = PushCollector(laptop)
            var revoke = Chatd_V1_RevokeDeviceRequest()
            revoke.deviceID = "laptop"
            _ = try await phone.call(.revokeDevice, revoke, as: Chatd_V1_RevokeDeviceResponse.self)
            #expect(await pushes.wait { goodbyeReason($0) == .deviceRevoked })
            #expect(await waitClosed(laptop))
        }
    }

    /// Typing, delivered and read pushes and presence between users on different nodes.
    @Test func typingReadsAndPresenceCrossNodes() async throws {
        try await withCluster(nodes: 2) { cluster in
            let (alice, aliceAuth) = try await cluster.nodes[0].user("alice")
            let (bob, bobAuth) = try await cluster.nodes[1].user("bob")
            let alicePushes = PushCollector(alice)
            let bobPushes = PushCollector(bob)
            try await alice.friendOp(.friendRequest, username: "bob")
            try await bob.friendOp(.acceptFriend, username: "alice")
            // The friendship (a contact change committed on node B) reached node A's presence index.
            #expect(try await alice.friends().friends.first?.presence == .online)
            let direct = try await alice.openDirect(username: "bob")
            let sent = try await alice.send(room: direct.id, text: "hi", clientMsgID: "x1")
            // Bob's node learns of the new chat through PostgreSQL: like a
            // client, bob acts on it once it has reached him.
            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .event(let e) = $0 { e.conversationID == direct.id && e.seq == sent.event.seq } else { false } }
            })

            try await bob.typing(direct.id)
            #expect(await alicePushes.wait { pushes in
                pushes.contains { if case .typing(let t) = $0 { t.userID == bobAuth.user.id && t.typing } else { false } }
            })
            _ = try await bob.markDelivered([(direct.id, sent.event.seq)])
            #expect(await alicePushes.wait { pushes in
                pushes.contains {
                    if case .delivered(let d) = $0 { d.userID == bobAuth.user.id && d.deliveredSeq == sent.event.seq } else { false }
                }
            })
            _ = try await bob.markRead(direct.id, seq: sent.event.seq)
            #expect(await alicePushes.wait { pushes in
                pushes.contains { if case .read(let r) = $0 { r.userID == bobAuth.user.id && r.readSeq == sent.event.seq } else { false } }
            })

            try await alice.setAway(true)
            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .presence(let p) = $0 { p.userID == aliceAuth.user.id && p.presence == .away } else { false } }
            })
            await alice.close()
            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .presence(let p) = $0 { p.userID == aliceAuth.user.id && p.presence == .offline } else { false } }
            })
            #expect(try await bob.friends().friends.first?.presence == .offline)
        }
    }

    /// chatctl status on any node lists every node.
    @Test func statusListsEveryNode() async throws {
        try await withCluster(nodes: 2) { cluster in
            let status = try await runTool(
                "chatctl", ["--socket", cluster.nodes[1].daemon.controlSocketPath, "status"], env: [:])
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("nodes:        2"), "\(status.stdout)")
            #expect(status.stdout.contains("(this)"), "\(status.stdout)")
        }
    }

    /// A node killed with -9: its users turn offline on the others within
    /// the heartbeat bound, and nothing it acknowledged is lost.
    @Test func killedNodesUsersTurnOfflineAndItsAcknowledgedMessagesStay() async throws {
        try await withCluster(nodes: 1) { cluster in
            let a = cluster.nodes[0]
            let dir = TestServer.tempDir()
            defer { for path in [dir, dir + ".conf"] { try? FileManager.default.removeItem(atPath: path) } }
            try FileManager.default.copyItem(atPath: a.dataDir + "/token.key", toPath: dir + "/token.key")
            let pg = try await PostgresTestCluster.shared.start()
            let db = cluster.database
            let other = try ChatdProcess(
                dataDir: dir,
                storageConfig: """
                    backend = "postgresql"
                    postgresql_url = "postgresql://\(db.user)@\(db.host):\(db.port)/\(db.database)"
                    postgresql_password_file = "\(pg.directory)/password"
                    """)
            let port = try await other.waitReady()
            let (bob, _) = try await a.user("bob")
            let bobPushes = PushCollector(bob)
            let carol = try await ChatConnection.connect(host: "127.0.0.1", port: port)
            try await carol.hello()
            let carolAuth = try await carol.register(username: "carol", password: "password-c", device: device("c"))
            try await carol.friendOp(.friendRequest, username: "bob")
            try await bob.friendOp(.acceptFriend, username: "carol")
            let room = try await carol.createRoom(name: "doomed")
            _ = try await bob.joinRoom(room.id)
            var acknowledged: [UInt64] = []
            for i in 0..<50 { acknowledged.append(try await carol.send(room: room.id, text: "m\(i)", clientMsgID: "c\(i)").event.seq) }
            #expect(try await bob.friends().friends.first?.presence == .online)

            other.signal(SIGKILL)
            _ = await other.waitExit()
            #expect(await bobPushes.wait(seconds: 20) { pushes in
                pushes.contains { if case .presence(let p) = $0 { p.userID == carolAuth.user.id && p.presence == .offline } else { false } }
            }, "carol turns offline once her node stops heartbeating")
            let history = try await bob.history(room: room.id, limit: 100)
            let stored = Set(history.events.map(\.seq))
            #expect(acknowledged.allSatisfy(stored.contains))
            // Every message also reached bob's node as a push, in order.
            let pushed = await bobPushes.events.filter { $0.conversationID == room.id && $0.kind == .message }.map(\.seq)
            #expect(pushed == acknowledged)
        }
    }

    /// A node restarted while another keeps writing pushes what it missed
    /// to clients that reconnect to it only through Sync/History, and live
    /// pushes continue with no gap.
    @Test func aRestartedNodeCatchesUp() async throws {
        try await withCluster(nodes: 2) { cluster in
            let (alice, _) = try await cluster.nodes[0].user("alice", password: "password-a")
            let room = try await alice.createRoom(name: "busy")
            let dir = cluster.nodes[1].dataDir
            await cluster.nodes[1].stop(removeData: false)
            for i in 0..<20 { _ = try await alice.send(room: room.id, text: "while down \(i)", clientMsgID: "d\(i)") }
            let again = try await TestServer.start(dataDir: dir, backend: .postgresql, database: cluster.database)
            defer { Task { await again.stop() } }
            let reader = try await again.connect()
            _ = try await reader.login(username: "alice", password: "password-a")
            let pushes = PushCollector(reader)
            let history = try await reader.history(room: room.id, limit: 100)
            #expect(history.events.filter { $0.kind == .message }.count == 20)
            for i in 20..<30 { _ = try await alice.send(room: room.id, text: "live \(i)", clientMsgID: "d\(i)") }
            #expect(await pushes.wait { pushes in
                pushes.filter { if case .event(let e) = $0 { e.kind == .message } else { false } }.count == 10
            })
            let live = await pushes.events.filter { $0.kind == .message }.map(\.seq)
            #expect(live == Array((history.headSeq + 1)...(history.headSeq + 10)))
        }
    }
}
