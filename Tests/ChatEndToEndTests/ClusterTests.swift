import ChatClient
import ChatConfig
@testable import ChatPostgres
import ChatProtocol
import ChatTestSupport
import Foundation
import Logging
import Testing

/// Asks `condition` until it holds or `seconds` pass: what a node learns
/// from another's signals (presence, typing) arrives a moment later.
func eventually(seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try await condition() { return true }
        if Date() >= deadline { return false }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Several chatd nodes on one PostgreSQL database (issue 14): each node in
/// this process, with its own data directory holding the same token key.
struct TestCluster {
    let nodes: [TestServer]
    let database: PostgresStore.Settings

    static func start(nodes count: Int, _ adjust: (Config) -> Config = { $0 }) async throws -> TestCluster {
        let database = try await PostgresTestCluster.shared.freshDatabase()
        var nodes: [TestServer] = []
        do {
            for _ in 0..<count {
                let dir = TestServer.tempDir()
                if let first = nodes.first {
                    try FileManager.default.copyItem(atPath: first.dataDir + "/token.key", toPath: dir + "/token.key")
                }
                nodes.append(try await TestServer.start(dataDir: dir, backend: .postgresql, database: database, adjust))
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

func withCluster(
    nodes: Int = 3, _ adjust: (Config) -> Config = { $0 }, _ body: (TestCluster) async throws -> Void
) async throws {
    let cluster = try await TestCluster.start(nodes: nodes, adjust)
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

    /// Two users opening their direct chat at the same moment on two nodes
    /// get the same chat: the second INSERT of its key, which waited for
    /// the first's commit, runs again and finds it (it answered `conflict`).
    @Test func aDirectChatOpenedFromBothSidesOnTwoNodesIsOneChat() async throws {
        try await withCluster(nodes: 2) { cluster in
            for i in 0..<12 {
                let (a, aAuth) = try await cluster.nodes[0].user("alice\(i)")
                let (b, bAuth) = try await cluster.nodes[1].user("bob\(i)")
                async let fromA = a.openDirect(userID: bAuth.user.id)
                async let fromB = b.openDirect(userID: aAuth.user.id)
                let (one, other) = try await (fromA, fromB)
                #expect(one.id == other.id)
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

    /// Sessions ended through one node while another was not listening
    /// (its connection to PostgreSQL cut: the signals that end them there
    /// are lost) end there when it listens again: a revoked device (also a
    /// committed event it catches up on) and a disabled user.
    @Test func sessionsEndedWhileANodeWasNotListeningEndThere() async throws {
        try await withCluster(nodes: 2) { cluster in
            let (phone, _) = try await cluster.nodes[0].user("erin", password: "password1", device: "phone")
            let laptop = try await cluster.nodes[1].connect()
            _ = try await laptop.login(username: "erin", password: "password1", device: device("laptop"))
            let (frank, frankAuth) = try await cluster.nodes[1].user("frank")
            let (laptopPushes, frankPushes) = (PushCollector(laptop), PushCollector(frank))
            try await cutListeners(cluster.database)
            var revoke = Chatd_V1_RevokeDeviceRequest()
            revoke.deviceID = "laptop"
            _ = try await phone.call(.revokeDevice, revoke, as: Chatd_V1_RevokeDeviceResponse.self)
            try await cluster.nodes[0].daemon.accounts.adminSetDisabled(
                user: Int64(frankAuth.user.id), disabled: true, actor: "test")
            #expect(await laptopPushes.wait { goodbyeReason($0) == .deviceRevoked })
            #expect(await frankPushes.wait { goodbyeReason($0) == .accountDisabled })
            #expect(await waitClosed(laptop))
            #expect(await waitClosed(frank))
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
            // Bob's presence reaches node A as a signal from node B, a moment
            // after he connected: the friends list shows it once it has.
            #expect(try await eventually { try await alice.friends().friends.first?.presence == .online })
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

    /// Two nodes on one `files.dir` (issue 14 item 4): a file uploaded
    /// through one downloads through the other, and garbage collection on
    /// both, while both keep storing and dropping the same content, never
    /// leaves a file whose content is gone: each file downloads whole or
    /// has been collected (not_found), and a file a message refers to stays.
    @Test func filesOnSharedStorageWorkThroughEveryNodeAndCollectionIsSafe() async throws {
        let shared = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: shared) }
        try await withCluster(
            nodes: 2, { $0.setting("files.dir", .string(shared)).setting("files.unreferenced_grace_hours", .int(0)) }
        ) { cluster in
            let (a, b) = (cluster.nodes[0], cluster.nodes[1])
            let (alice, _) = try await a.user("alice")
            let (bob, _) = try await b.user("bobby")
            let room = try await alice.createRoom(name: "share")
            _ = try await bob.joinRoom(room.id)
            let kept = try await uploadPNG(alice, seed: 1)
            _ = try await alice.send(room: room.id, text: "", type: .image, attachment: fileAttachment(kept))
            #expect(try await bob.downloadFile(kept.fileID) == pngBytes(3000, seed: 1))

            func wholeOrCollected(_ c: ChatConnection, _ file: Chatd_V1_FileInfo) async throws {
                do {
                    #expect(try await c.downloadFile(file.fileID) == pngBytes(3000, seed: 2))
                } catch let error as ChatClientError where error.code == .notFound {}
            }
            for _ in 0..<12 {
                async let collectedA = a.daemon.files.collectGarbage()
                async let collectedB = b.daemon.files.collectGarbage()
                async let droppedA = uploadPNG(alice, seed: 2)
                async let droppedB = uploadPNG(bob, seed: 2)
                let (fileA, fileB) = try await (droppedA, droppedB)
                _ = try await (collectedA, collectedB)
                try await wholeOrCollected(alice, fileA)
                try await wholeOrCollected(bob, fileB)
            }
            _ = try await b.daemon.files.collectGarbage()
            #expect(try await alice.downloadFile(kept.fileID) == pngBytes(3000, seed: 1))
            #expect(try await bob.downloadFile(kept.fileID) == pngBytes(3000, seed: 1))
            let left = try await a.daemon.files.stats().0
            #expect(left.files == 1 && left.contents == 1, "\(left)")
        }
    }

    /// chatctl stats and sessions list on any node cover every node (issue
    /// 14 item 3): another node's logged-in connections are listed with
    /// their node after its next heartbeat, the cluster's totals count them,
    /// pages continue across nodes, and a kick of another node's connection
    /// by node and id closes it there.
    @Test func statsAndSessionsListCoverEveryNode() async throws {
        try await withCluster(nodes: 2) { cluster in
            let (a, b) = (cluster.nodes[0], cluster.nodes[1])
            _ = try await a.user("alice")
            let (bob, _) = try await b.user("bobby")
            let socket = ["--socket", a.daemon.controlSocketPath]
            var sessions: [[String: Any]] = []
            for _ in 0..<100 {
                let r = try await chatctl(socket + ["--json", "sessions", "list"])
                #expect(r.status == 0, "\(r.stderr)")
                sessions = jsonObject(r.stdout)["sessions"] as? [[String: Any]] ?? []
                if sessions.contains(where: { $0["username"] as? String == "bobby" }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let bobby = try #require(sessions.first { $0["username"] as? String == "bobby" })
            let alice = try #require(sessions.first { $0["username"] as? String == "alice" })
            let (nodeA, nodeB) = (alice["node"] as? String ?? "", bobby["node"] as? String ?? "")
            #expect(!nodeA.isEmpty && !nodeB.isEmpty && nodeA != nodeB)
            #expect(sessions.count == 2)
            let sorted = sessions.map { ($0["node"] as? String ?? "", Int("\($0["connection_id"] ?? "")") ?? 0) }
            #expect(sorted.map(\.0) == sorted.map(\.0).sorted())

            // One per page: the second page continues after the first's (node, connection).
            var r = try await chatctl(socket + ["--json", "sessions", "list", "--limit", "1"])
            let first = try #require((jsonObject(r.stdout)["sessions"] as? [[String: Any]])?.first)
            #expect(jsonObject(r.stdout)["has_more"] as? Bool == true)
            r = try await chatctl(
                socket + [
                    "--json", "sessions", "list", "--limit", "1", "--after", "\(first["connection_id"] ?? "")",
                    "--after-node", first["node"] as? String ?? "",
                ])
            let second = try #require((jsonObject(r.stdout)["sessions"] as? [[String: Any]])?.first)
            #expect(second["node"] as? String != first["node"] as? String)
            #expect(jsonObject(r.stdout)["has_more"] as? Bool != true)
            r = try await chatctl(socket + ["sessions", "list"])
            #expect(r.stdout.contains("NODE") && r.stdout.contains(nodeB), "\(r.stdout)")

            r = try await chatctl(socket + ["--json", "stats"])
            let stats = jsonObject(r.stdout)
            #expect((stats["nodes"] as? [Any])?.count == 2, "\(r.stdout)")
            #expect(stats["cluster_authenticated_connections"] as? Int == 2, "\(r.stdout)")
            #expect(stats["cluster_online_users"] as? Int == 2, "\(r.stdout)")
            #expect(stats["authenticated_connections"] as? Int == 1, "\(r.stdout)")
            r = try await chatctl(socket + ["stats"])
            #expect(r.stdout.contains("cluster:            2 nodes"), "\(r.stdout)")

            // Kicking bob's connection on node B through node A.
            let pushes = PushCollector(bob)
            r = try await chatctl(socket + ["sessions", "kick", "--node", nodeB, "--connection", "\(bobby["connection_id"] ?? "")"])
            #expect(r.status == 0 && r.stdout.contains("1 connections closed"), "\(r.stdout) \(r.stderr)")
            #expect(await pushes.wait { goodbyeReason($0) == .kicked })
            r = try await chatctl(socket + ["sessions", "kick", "--node", nodeB, "--connection", "99999"])
            #expect(r.status != 0)
            // Node B's next heartbeat takes the closed connection out of the list.
            var gone = false
            for _ in 0..<100 where !gone {
                r = try await chatctl(socket + ["--json", "sessions", "list"])
                let listed = jsonObject(r.stdout)["sessions"] as? [[String: Any]] ?? []
                gone = !listed.contains { $0["username"] as? String == "bobby" } && listed.count == 1
                if !gone { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(gone)
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
            #expect(try await eventually { try await bob.friends().friends.first?.presence == .online })

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

/// Cuts every node's listening connection to PostgreSQL and returns once
/// those connections are gone: until a node listens again (a second later)
/// the other nodes' signals do not reach it.
func cutListeners(_ database: PostgresStore.Settings) async throws {
    let admin = try await PostgresStore.open(database, logger: Logger(label: "test"))
    do {
        let listeners = try await admin.read { s in
            try s.ints("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")
        }
        #expect(!listeners.isEmpty, "the nodes listen")
        try await admin.read { s in
            for pid in listeners { try s.execute("SELECT pg_terminate_backend(?::int)", [pid]) }
        }
        let pids = "{" + listeners.map(String.init).joined(separator: ",") + "}"
        for _ in 0..<500 {
            let left = try await admin.read { s in
                try s.int("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(?::int[])", [pids])
            }
            if left == 0 { break }
            try await Task.sleep(for: .milliseconds(2))
        }
    } catch {
        await admin.close()
        throw error
    }
    await admin.close()
}
