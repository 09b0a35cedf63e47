import ChatClient
import ChatCore
import ChatProtocol
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A live chatd process and the `--socket` arguments to reach it.
struct LiveChatd {
    let chatd: ChatdProcess
    let port: Int
    let dir: String
    var s: [String] { ["--socket", chatd.socketPath] }

    static func start(extraConfig: String = "") async throws -> LiveChatd {
        let dir = TestServer.tempDir()
        let chatd = try ChatdProcess(dataDir: dir, extraConfig: extraConfig)
        return LiveChatd(chatd: chatd, port: try await chatd.waitReady(), dir: dir)
    }

    func run(_ args: [String], stdin: String? = nil) async throws -> CommandResult {
        try await chatctl(s + args, stdin: stdin)
    }

    /// chatctl with --json; the parsed object.
    func json(_ args: [String]) async throws -> [String: Any] {
        let r = try await chatctl(s + ["--json"] + args)
        #expect(r.status == 0, "\(args): \(r.stderr)")
        return jsonObject(r.stdout)
    }

    /// A client logged in as `user` (created with chatctl first) on `device`.
    func client(_ user: String, device: String = "d1") async throws -> ChatConnection {
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await c.hello()
        var d = Chatd_V1_DeviceInfo()
        d.deviceID = device
        _ = try await c.login(username: user, password: "password1", device: d)
        return c
    }

    func addUsers(_ names: String...) async throws {
        for name in names {
            let r = try await run(["user", "add", name, "--password", "password1", "--insecure-password-arg"])
            #expect(r.status == 0, "\(r.stderr)")
        }
    }

    func stop() async {
        chatd.signal(SIGTERM)
        _ = await chatd.waitExit()
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.removeItem(atPath: dir + ".conf")
    }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ChatctlOpsTests {
    @Test func sessionsListAndKick() async throws {
        let d = try await LiveChatd.start()
        defer { Task { await d.stop() } }
        try await d.addUsers("alice", "bob")
        let phone = try await d.client("alice", device: "phone")
        let laptop = try await d.client("alice", device: "laptop")
        let bob = try await d.client("bob")
        let anonymous = try await ChatConnection.connect(host: "127.0.0.1", port: d.port)
        let phonePushes = PushCollector(phone)
        let laptopPushes = PushCollector(laptop)
        let bobPushes = PushCollector(bob)

        var r = try await d.run(["sessions", "list"])
        #expect(r.status == 0 && r.stdout.hasPrefix("CONN"), "\(r.stderr)")
        #expect(r.stdout.contains("phone") && r.stdout.contains("laptop") && r.stdout.contains("127.0.0.1"))
        var list = try await d.json(["sessions", "list"])
        var sessions = list["sessions"] as? [[String: Any]] ?? []
        #expect(sessions.count == 4)
        #expect(sessions.filter { $0["authenticated"] as? Bool == true }.count == 3)
        list = try await d.json(["sessions", "list", "--user", "alice"])
        sessions = list["sessions"] as? [[String: Any]] ?? []
        #expect(Set(sessions.compactMap { $0["device_id"] as? String }) == ["phone", "laptop"])
        #expect(sessions.allSatisfy { $0["username"] as? String == "alice" && ($0["connected_at_ms"] as? Int ?? 0) > 0 })
        list = try await d.json(["sessions", "list", "--authenticated", "--limit", "1"])
        #expect((list["sessions"] as? [[String: Any]])?.count == 1 && list["has_more"] as? Bool == true)

        // One device's connections.
        r = try await d.run(["sessions", "kick", "--user", "alice", "--device", "laptop"])
        #expect(r.status == 0 && r.stdout.contains("1 connections closed"), "\(r.stderr)")
        #expect(await laptopPushes.wait { goodbyeReason($0) == .kicked })
        // By connection id.
        let bobConn = (try await d.json(["sessions", "list", "--user", "bob"])["sessions"] as? [[String: Any]])?.first?[
            "connection_id"] as? Int
        let kicked = try await d.json(["sessions", "kick", "--connection", String(bobConn ?? 0)])
        #expect(kicked["closed_connections"] as? Int == 1)
        #expect(await bobPushes.wait { goodbyeReason($0) == .kicked })
        // All of a user's.
        r = try await d.run(["sessions", "kick", "--user", "alice"])
        #expect(r.status == 0 && r.stdout.contains("1 connections closed"))
        #expect(await phonePushes.wait { goodbyeReason($0) == .kicked })
        // The token still works: kicking is not revoking.
        _ = try await d.client("alice", device: "phone")

        // Errors.
        r = try await d.run(["sessions", "kick", "--connection", "999999"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
        r = try await d.run(["sessions", "kick", "--user", "alice", "--device", "nope"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
        r = try await d.run(["sessions", "kick"])
        #expect(r.status == 2)
        r = try await d.run(["sessions", "list", "--user", "nobody"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
        _ = anonymous
    }

    @Test func pushTargetsListedRedactedAndRemoved() async throws {
        let d = try await LiveChatd.start()
        defer { Task { await d.stop() } }
        try await d.addUsers("alice", "bob")
        let phone = try await d.client("alice", device: "phone")
        let pushes = PushCollector(phone)
        try await phone.setPushTarget(unifiedPush: "https://push.example.org/up/SECRET-TOKEN")
        var r = try await d.run(["push", "list"])
        #expect(r.status == 0 && r.stdout.contains("alice") && r.stdout.contains("https://push.example.org/"), "\(r.stderr)")
        #expect(!r.stdout.contains("SECRET"))
        let o = try await d.json(["push", "list", "alice"])
        let targets = o["targets"] as? [[String: Any]] ?? []
        #expect(targets.map { $0["device_id"] as? String } == ["phone"] && targets.first?["kind"] as? String == "PUSH_UNIFIED")
        #expect((try await d.json(["push", "list", "bob"])["targets"] as? [[String: Any]] ?? []).isEmpty)
        r = try await d.run(["push", "remove", "alice", "phone"])
        #expect(r.status == 0 && r.stdout.contains("removed"), "\(r.stderr)")
        r = try await d.run(["push", "remove", "alice", "phone"])
        #expect(r.status == 0 && r.stdout.contains("has no push target"))
        r = try await d.run(["push", "remove", "alice", "nosuch"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
        // The device hears of it.
        #expect(
            await pushes.wait {
                $0.contains { if case .accountEvent(let e) = $0 { e.kind == .pushTargetChanged && e.reason == "removed" } else { false } }
            })
        let audit = try await d.run(["audit", "--action", "admin_push_target_remove"])
        #expect(audit.stdout.contains("alice"), "\(audit.stderr)")
    }

    @Test func roomsAdministration() async throws {
        let d = try await LiveChatd.start()
        defer { Task { await d.stop() } }
        try await d.addUsers("alice", "bob", "carol")
        let alice = try await d.client("alice")
        let pushes = PushCollector(alice)

        // An ownerless public room, a private room owned by bob, a group.
        var r = try await d.run(["room", "create", "lobby", "--description", "hello all"])
        #expect(r.status == 0 && r.stdout.contains("created public room lobby"), "\(r.stderr)")
        var o = try await d.json(["room", "create", "secret", "--private", "--owner", "bob"])
        #expect((o["room"] as? [String: Any])?["visibility"] as? String == "PRIVATE")
        #expect((o["room"] as? [String: Any])?["member_count"] as? Int == 1)
        o = try await d.json(["room", "create", "team", "--group"])
        let groupID = (o["room"] as? [String: Any])?["id"] as? Int ?? 0
        #expect((o["room"] as? [String: Any])?["kind"] as? String == "GROUP")
        r = try await d.run(["room", "create", "LOBBY"])
        #expect(r.status == 1 && r.stderr.contains("conflict"))
        r = try await d.run(["room", "create", "x", "--owner", "nobody"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))

        // Members: add, roles, the live client hears it.
        r = try await d.run(["room", "add-member", "lobby", "alice"])
        #expect(r.status == 0 && r.stdout.contains("added alice"), "\(r.stderr)")
        o = try await d.json(["room", "add-member", "lobby", "bob"])
        #expect((o["room"] as? [String: Any])?["member_count"] as? Int == 2)
        r = try await d.run(["room", "add-member", "lobby", "alice"])
        #expect(r.status == 1 && r.stderr.contains("conflict"))
        r = try await d.run(["room", "set-role", "lobby", "alice", "owner"])
        #expect(r.status == 0 && r.stdout.contains("alice is now owner"), "\(r.stderr)")
        _ = try await d.json(["room", "set-role", "lobby", "bob", "admin"])
        r = try await d.run(["room", "set-role", "lobby", "alice", "member"])
        #expect(r.status == 1 && r.stderr.contains("forbidden"))
        r = try await d.run(["room", "set-role", "lobby", "bob", "emperor"])
        #expect(r.status == 2 && r.stderr.contains("invalid_field"))
        r = try await d.run(["room", "members", "lobby"])
        #expect(r.status == 0 && r.stdout.hasPrefix("USER ID") && r.stdout.contains("owner") && r.stdout.contains("admin"))
        o = try await d.json(["room", "members", "lobby", "--limit", "1"])
        #expect((o["members"] as? [[String: Any]])?.count == 1 && o["has_more"] as? Bool == true)
        #expect(await pushes.wait { pushes in
            pushes.contains { if case .event(let e) = $0 { e.kind == .roleChanged && e.senderID == 0 } else { false } }
        })

        // Ban, unban, remove.
        r = try await d.run(["room", "ban", "lobby", "bob"])
        #expect(r.status == 0 && r.stdout.contains("banned bob"), "\(r.stderr)")
        o = try await d.json(["room", "ban", "lobby", "carol"])  // a pre-emptive ban of a non-member
        #expect((o["room"] as? [String: Any])?["member_count"] as? Int == 1)
        r = try await d.run(["room", "unban", "lobby", "carol"])
        #expect(r.status == 0 && r.stdout.contains("unbanned carol"), "\(r.stderr)")
        r = try await d.run(["room", "add-member", "lobby", "bob"])
        #expect(r.status == 1 && r.stderr.contains("forbidden"))
        _ = try await d.json(["room", "unban", "lobby", "bob"])
        r = try await d.run(["room", "unban", "lobby", "bob"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
        r = try await d.run(["room", "add-member", String(groupID), "carol"])
        #expect(r.status == 0)
        #expect(try await d.run(["room", "add-member", String(groupID), "bob"]).status == 0)
        r = try await d.run(["room", "remove-member", String(groupID), "bob"])
        #expect(r.status == 0 && r.stdout.contains("removed bob"), "\(r.stderr)")
        o = try await d.json(["room", "remove-member", String(groupID), "carol"])
        #expect((o["room"] as? [String: Any])?["member_count"] as? Int == 0)  // every field is printed, 0 too
        r = try await d.run(["room", "remove-member", String(groupID), "carol"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))

        // Delete: members are told.
        r = try await d.run(["room", "delete", "lobby"])
        #expect(r.status == 0 && r.stdout.contains("1 members told"), "\(r.stderr)")
        #expect(await pushes.wait { pushes in
            pushes.contains { if case .accountEvent(let e) = $0 { e.kind == .conversationDeleted } else { false } }
        })
        o = try await d.json(["room", "delete", "secret"])
        #expect(o["former_members"] as? Int == 1)
        r = try await d.run(["room", "delete", "lobby"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
        r = try await d.run(["room", "members", "nope"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
    }

    @Test func broadcastToARoomAndToEveryone() async throws {
        let d = try await LiveChatd.start()
        defer { Task { await d.stop() } }
        try await d.addUsers("alice", "bob", "carol")
        _ = try await d.run(["user", "disable", "carol"])
        let alice = try await d.client("alice")
        let pushes = PushCollector(alice)
        _ = try await d.json(["room", "create", "news", "--owner", "alice"])

        var r = try await d.run(["broadcast", "--room", "news", "maintenance at 22:00"])
        #expect(r.status == 0 && r.stdout.contains("sent to news as seq 2"), "\(r.stderr)")
        var o = try await d.json(["broadcast", "--room", "news", "--id", "m-1", "second"])
        let event = o["event"] as? [String: Any] ?? [:]
        #expect(event["message_type"] as? String == "SYSTEM" && event["sender_id"] as? Int == 0 && event["text"] as? String == "second")
        o = try await d.json(["broadcast", "--room", "news", "--id", "m-1", "second"])
        #expect(o["duplicate"] as? Bool == true)
        #expect(await pushes.wait { pushes in
            pushes.contains { if case .event(let e) = $0 { e.messageType == .system && e.text == "maintenance at 22:00" } else { false } }
        })
        // A client cannot edit it.
        let room = try await alice.history(room: UInt64((event["conversation_id"] as? Int) ?? 0), after: 0, limit: 10)
        #expect(room.events.filter { $0.messageType == .system }.count == 2)
        await expectError(.forbidden) { try await alice.edit(room.events[1].conversationID, seq: 2, text: "x", clientMsgID: "e") }

        r = try await d.run(["broadcast", "--everyone", "server restarts soon"])
        #expect(r.status == 0 && r.stdout.contains("notice given to 2 users (1 online)"), "\(r.stderr)")
        o = try await d.json(["broadcast", "--everyone", "again"])
        #expect(o["users_notified"] as? Int == 2)
        #expect(await pushes.wait { pushes in
            pushes.contains {
                if case .accountEvent(let e) = $0 { e.kind == .systemNotice && e.reason == "server restarts soon" } else { false }
            }
        })
        // Offline users get it by Sync.
        let bob = try await d.client("bob")
        let sync = try await bob.sync()
        #expect(sync.accountEvents.filter { $0.kind == .systemNotice }.map(\.reason) == ["server restarts soon", "again"])

        r = try await d.run(["broadcast", "--room", "news", " "])
        #expect(r.status == 2 && r.stderr.contains("invalid_field"))
        r = try await d.run(["broadcast", "--room", "nope", "hi"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
        r = try await d.run(["broadcast", "hi"])
        #expect(r.status == 2)
    }

    @Test func auditQuery() async throws {
        let d = try await LiveChatd.start()
        defer { Task { await d.stop() } }
        try await d.addUsers("alice", "bob")
        _ = try await d.client("alice")
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: d.port)
        try await c.hello()
        await expectError(.invalidCredentials) { try await c.login(username: "bob", password: "wrong-password") }
        _ = try await d.run(["user", "disable", "bob"])

        var r = try await d.run(["audit"])
        #expect(r.status == 0 && r.stdout.hasPrefix("ID"), "\(r.stderr)")
        #expect(r.stdout.contains("admin_user_add") && r.stdout.contains("login_failed") && r.stdout.contains("admin_user_disable"))
        var o = try await d.json(["audit", "--user", "bob"])
        var entries = o["entries"] as? [[String: Any]] ?? []
        #expect(entries.map { $0["action"] as? String } == ["admin_user_disable", "login_failed", "admin_user_add"])
        #expect(entries.allSatisfy { $0["username"] as? String == "bob" })
        o = try await d.json(["audit", "--action", "login_ok"])
        entries = o["entries"] as? [[String: Any]] ?? []
        #expect(entries.count == 1 && entries.first?["address"] as? String == "127.0.0.1")
        o = try await d.json(["audit", "--limit", "2"])
        #expect((o["entries"] as? [[String: Any]])?.count == 2 && o["has_more"] as? Bool == true)
        let last = (o["entries"] as? [[String: Any]])?.last?["id"] as? Int ?? 0
        o = try await d.json(["audit", "--before", String(last), "--limit", "1000"])
        #expect((o["entries"] as? [[String: Any]])?.allSatisfy { ($0["id"] as? Int ?? 0) < last } == true)
        o = try await d.json(["audit", "--since", "1h"])
        #expect((o["entries"] as? [[String: Any]])?.count ?? 0 >= 5)
        o = try await d.json(["audit", "--until", "2000-01-01"])
        #expect((o["entries"] as? [[String: Any]])?.isEmpty == true)  // an empty list is printed as []

        r = try await d.run(["audit", "--action", "nonsense"])
        #expect(r.status == 2 && r.stderr.contains("invalid_field"))
        r = try await d.run(["audit", "--since", "yesterday-ish"])
        #expect(r.status == 2)
    }

    /// In process, on a manual clock: the message rate covers whole seconds,
    /// and the clock is moved past the current one instead of waiting for it.
    @Test func stats() async throws {
        let clock = ManualClock()
        try await withServer(clock: clock) { server in
            let s = ["--socket", server.daemon.controlSocketPath]
            try FileManager.default.createDirectory(atPath: server.dataDir + "/files/00", withIntermediateDirectories: true)
            try Data(repeating: 1, count: 3000).write(to: URL(fileURLWithPath: server.dataDir + "/files/00/a"))
            try Data(repeating: 2, count: 500).write(to: URL(fileURLWithPath: server.dataDir + "/files/b"))
            let (c, _) = try await server.user("alice")
            _ = try await ChatConnection.connect(host: "127.0.0.1", port: server.port)
            let room = try await c.createRoom(name: "busy")
            for i in 0..<30 { _ = try await c.send(room: room.id, text: "m\(i)") }

            var r = try await chatctl(s + ["stats"])
            #expect(r.status == 0 && r.stdout.contains("connections:        2 (1 authenticated, 1 users online)"), "\(r.stdout)")
            #expect(r.stdout.contains("30 since start") && r.stdout.contains("3.4 KiB in 2 files"))
            #expect(r.stdout.contains(TestBackend.current == .sqlite ? "search index:       current, " : "search index:       current\n"))
            clock.advance(byMs: 1100)
            r = try await chatctl(s + ["--json", "stats"])
            #expect(r.status == 0, "\(r.stderr)")
            let o = jsonObject(r.stdout)
            #expect(o["messages_since_start"] as? Int == 30)
            #expect((o["messages_per_second"] as? Double ?? 0) >= 3.0, "30 messages in the last 10 s")
            #expect(o["interval_seconds"] as? Int == 10 && o["file_store_bytes"] as? Int == 3500)
            #expect((o["writes"] as? Int ?? 0) >= 31 && (o["write_batches"] as? Int ?? 0) >= 1)
            #expect((o["database_bytes"] as? Int ?? 0) > 0)
            // The index follows within a round; on SQLite it is a file of its own.
            #expect(o["search_index"] as? String == "current", "\(r.stdout)")
            if TestBackend.current == .sqlite {
                #expect((o["search_index_bytes"] as? Int ?? 0) > 0)
            } else {
                #expect(o["search_index_bytes"] as? Int == 0, "in the database: \(r.stdout)")
            }
            r = try await chatctl(s + ["stats", "extra"])
            #expect(r.status == 2)
        }
    }

    @Test func configShowAndLogLevel() async throws {
        let d = try await LiveChatd.start(extraConfig: "\n[limits]\nmax_message_bytes = 4000\n")
        defer { Task { await d.stop() } }
        var r = try await d.run(["config", "show"])
        #expect(r.status == 0 && r.stdout.hasPrefix("# \(d.chatd.configPath)"), "\(r.stderr)")
        #expect(r.stdout.contains("limits.max_message_bytes") && r.stdout.contains("4000"))
        r = try await d.run(["config", "show", "--changed"])
        #expect(!r.stdout.contains("limits.max_history_limit") && r.stdout.contains("security.argon2_mem_kib"))
        var o = try await d.json(["config", "show"])
        var entries = o["entries"] as? [[String: Any]] ?? []
        #expect(entries.count > 30 && o["source"] as? String == d.chatd.configPath)
        let level = entries.first { $0["key"] as? String == "log.level" }
        #expect(level?["value"] as? String == "\"info\"" && level?["reloadable"] as? Bool == true)

        // Debug lines appear only once the level is lowered. A connection's
        // line would be written before its Hello is answered, and before the
        // log-level change's line, which is waited for instead of a pause.
        let connected = { d.chatd.outputCount("connection opened") }
        try await ChatConnection.connect(host: "127.0.0.1", port: d.port).hello()
        r = try await d.run(["log-level"])
        #expect(r.status == 0 && r.stdout == "info\n")
        r = try await d.run(["log-level", "debug"])
        #expect(r.status == 0 && r.stdout.contains("log level debug (was info)"), "\(r.stderr)")
        #expect(await d.chatd.waitForOutput("log level changed"))
        #expect(connected() == 0)
        _ = try await ChatConnection.connect(host: "127.0.0.1", port: d.port)
        #expect(await d.chatd.waitForOutput("connection opened"))
        o = try await d.json(["config", "show"])
        entries = o["entries"] as? [[String: Any]] ?? []
        #expect(entries.first { $0["key"] as? String == "log.level" }?["value"] as? String == "\"debug\"")
        // A reload puts the file's level back.
        o = try await d.json(["reload"])
        #expect((o["applied"] as? [String]) == ["log.level"])
        o = try await d.json(["log-level"])
        #expect(o["level"] as? String == "info")
        let before = connected()
        let reloads = d.chatd.outputCount("chatd.applied=log.level")
        try await ChatConnection.connect(host: "127.0.0.1", port: d.port).hello()
        // SIGHUP applies a changed log.level from the file.
        var text = try String(contentsOfFile: d.chatd.configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "level = \"info\"", with: "level = \"debug\"")
        try text.write(toFile: d.chatd.configPath, atomically: true, encoding: .utf8)
        d.chatd.signal(SIGHUP)
        #expect(await d.chatd.waitForOutput("chatd.applied=log.level", occurrences: reloads + 1))
        #expect(connected() == before)
        o = try await d.json(["log-level"])
        #expect(o["level"] as? String == "debug")

        r = try await d.run(["log-level", "loud"])
        #expect(r.status == 2 && r.stderr.contains("invalid_field"))
        o = try await d.json(["audit", "--action", "admin_log_level"])
        #expect((o["entries"] as? [[String: Any]])?.count == 1)
    }

    @Test func userDelete() async throws {
        let d = try await LiveChatd.start()
        defer { Task { await d.stop() } }
        try await d.addUsers("alice", "bob", "carol")
        let alice = try await d.client("alice")
        let alicePushes = PushCollector(alice)
        let bob = try await d.client("bob")
        let bobPushes = PushCollector(bob)
        let room = try await alice.createRoom(name: "town")
        _ = try await bob.joinRoom(room.id)
        _ = try await alice.send(room: room.id, text: "from alice")
        _ = try await d.run(["room", "add-member", "town", "carol"])
        let carol = try await d.client("carol")
        _ = try await carol.send(room: room.id, text: "from carol")

        var r = try await d.run(["user", "delete", "alice"])
        #expect(r.status == 0 && r.stdout.contains("deleted alice") && r.stdout.contains("1 messages deleted"), "\(r.stderr)")
        #expect(await alicePushes.wait { goodbyeReason($0) == .accountDisabled })
        #expect(await bobPushes.wait { pushes in
            pushes.contains { if case .event(let e) = $0 { e.kind == .messageDeleted && e.senderID == 0 } else { false } }
        })
        let o = try await d.json(["user", "delete", "carol", "--anonymise"])
        #expect(o["previous_username"] as? String == "carol" && o["messages_deleted"] as? Int == 0)
        let page = try await bob.history(room: room.id, after: 0, limit: 50)
        let texts = page.events.filter { $0.kind == .message }.map { $0.deleted ? "(deleted)" : $0.text }
        #expect(texts == ["(deleted)", "from carol"])
        // Owner hand-over: bob owns the room now; alice's name can be taken again.
        #expect(try await bob.joinRoom(room.id).myRole == .owner)
        r = try await d.run(["user", "add", "alice", "--password", "password1", "--insecure-password-arg"])
        #expect(r.status == 0)
        r = try await d.run(["user", "show", "id:1"])
        #expect(r.stdout.contains("#deleted-1") && r.stdout.contains("Deleted user"))
        r = try await d.run(["user", "delete", "id:1"])
        #expect(r.status == 1 && r.stderr.contains("conflict"))
        r = try await d.run(["user", "enable", "id:1"])
        #expect(r.status == 1 && r.stderr.contains("conflict"))
        r = try await d.run(["user", "passwd", "id:1", "--password", "password2", "--insecure-password-arg"])
        #expect(r.status == 1 && r.stderr.contains("conflict"))
        r = try await d.run(["user", "delete", "nobody"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))
    }

    /// A password on the command line is visible in the process list:
    /// refused unless asked for; stdin and --password-file work.
    @Test func passwordsStayOffTheCommandLine() async throws {
        let d = try await LiveChatd.start()
        defer { Task { await d.stop() } }
        var r = try await d.run(["user", "add", "erin", "--password", "password1"])
        #expect(r.status == 2 && r.stderr.contains("--insecure-password-arg"), "\(r.stderr)")
        r = try await d.run(["user", "show", "erin"])
        #expect(r.status == 1)
        let file = d.dir + ".pw"
        try "password1\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        r = try await d.run(["user", "add", "erin", "--password-file", file])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await d.run(["user", "passwd", "erin"], stdin: "password2\n")
        #expect(r.status == 0, "\(r.stderr)")
        r = try await d.run(["user", "passwd", "erin", "--password-file", "/nonexistent/pw"])
        #expect(r.status == 2 && r.stderr.contains("cannot read"))
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: d.port)
        try await c.hello()
        _ = try await c.login(username: "erin", password: "password2")
        await c.close()
    }

    /// docs/chatd.8, docs/chatctl.8, docs/chatc.1 and docs/completions/ are
    /// generated by tools/gen-man from the binaries' ArgumentParser
    /// definitions (tools/package installs them); they must be current.
    @Test(arguments: [("chatd", 8), ("chatctl", 8), ("chatc", 1)])
    func manPageAndCompletionsAreCurrent(product: String, section: Int) async throws {
        let root = ChatdProcess.binDir.deletingLastPathComponent().deletingLastPathComponent()
        let regenerate = "regenerate with tools/gen-man"
        for shell in ["bash", "zsh", "fish"] {
            let r = try await runTool(product, ["--generate-completion-script", shell], env: [:])
            #expect(r.status == 0)
            let path = "docs/completions/\(product).\(shell)"
            let committed = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
            #expect(r.stdout == committed, "\(path) is stale: \(regenerate)")
        }
        let page = "\(product).\(section)"
        let man = try String(contentsOf: root.appendingPathComponent("docs/\(page)"), encoding: .utf8)
        #expect(man.contains(".Dt \(product.uppercased()) \(section)"))
        // Every command of the parser is in the page.
        let dump = try await runTool(product, ["--experimental-dump-help"], env: [:])
        let tool = jsonObject(dump.stdout)["command"] as? [String: Any] ?? [:]
        func names(_ command: [String: Any]) -> [String] {
            let subs = command["subcommands"] as? [[String: Any]] ?? []
            return subs.flatMap { [($0["commandName"] as? String ?? "?")] + names($0) }
        }
        let commands = names(tool).filter { $0 != "help" }
        if product == "chatctl" { #expect(commands.count > 30) }
        for name in commands { #expect(man.contains(".It Em \(name)"), "\(name) missing from docs/\(page): \(regenerate)") }
        // Byte for byte, when the generator was built (swift build builds it).
        let generator = ChatdProcess.binDir.appendingPathComponent("generate-manual").path
        if FileManager.default.isExecutableFile(atPath: generator) {
            let out = TestServer.tempDir()
            defer { try? FileManager.default.removeItem(atPath: out) }
            let r = try await offPool { () -> Int32 in
                let p = Process()
                p.executableURL = URL(fileURLWithPath: generator)
                p.arguments = [
                    ChatdProcess.binDir.appendingPathComponent(product).path, "--date", "2026-01-01",
                    "--section", String(section), "--authors", "the chatd authors", "-o", out,
                ]
                try p.run()
                p.waitUntilExit()
                return p.terminationStatus
            }
            #expect(r == 0)
            // As tools/gen-man does: the hand-written sections replace the generated EXIT STATUS.
            var generated = String(decoding: FileManager.default.contents(atPath: out + "/\(page)") ?? Data(), as: UTF8.self)
            if let extra = try? String(contentsOf: root.appendingPathComponent("docs/man-sections/\(page)"), encoding: .utf8) {
                generated = generated.replacingOccurrences(of: ".Sh \"EXIT STATUS\"\n.Ex -std\n", with: extra)
                if !generated.hasSuffix("\n") { generated += "\n" }  // awk ends its last line
            }
            #expect(generated == man, "docs/\(page) is stale: \(regenerate)")
        }
    }
}

/// chatctl finds the socket from anywhere and says why when it cannot.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ChatctlFindsItsServerTests {
    @Test func environmentBrokenConfigAndPlainWordsForEachFailure() async throws {
        try await withServer { server in
            let socket = server.daemon.controlSocketPath
            // CHATD_SOCKET, from a directory that has no chatd-data.
            let viaEnv = try await runTool("chatctl", ["status"], env: ["CHATD_SOCKET": socket])
            #expect(viaEnv.status == 0, "\(viaEnv.stderr)")

            // A config being edited: its socket line still counts, with a warning.
            let broken = server.dataDir + "-broken.conf"
            defer { try? FileManager.default.removeItem(atPath: broken) }
            try Data("[control]\nsocket = \"\(socket)\"\n[server]\nlisten = \"0.0.0.0:76\n".utf8)
                .write(to: URL(fileURLWithPath: broken))
            let viaBroken = try await runTool("chatctl", ["--config", broken, "status"], env: [:])
            #expect(viaBroken.status == 0, "\(viaBroken.stderr)")
            #expect(viaBroken.stderr.contains("does not load"))

            // Nothing there, not a socket, a socket nobody listens on.
            let missing = try await runTool("chatctl", ["--socket", server.dataDir + "/none.sock", "status"], env: [:])
            #expect(missing.status == 3 && missing.stderr.contains("no socket at"), "\(missing.stderr)")
            let notSocket = try await runTool("chatctl", ["--socket", broken, "status"], env: [:])
            #expect(notSocket.status == 3 && notSocket.stderr.contains("is not a socket"), "\(notSocket.stderr)")
            let stale = server.dataDir + "/stale.sock"
            let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in stale.utf8.enumerated() where i < raw.count - 1 { raw[i] = byte }
            }
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            close(fd)  // bound, never listened: connecting is refused
            let refused = try await runTool("chatctl", ["--socket", stale, "status"], env: [:])
            #expect(refused.status == 3 && refused.stderr.contains("nothing listens"), "\(refused.stderr)")
        }
    }
}

extension ChatctlOpsTests {
    /// Issue 16 item 8: mistakes get this command's usage or a suggestion,
    /// an unwritable backup path is the caller's mistake (not a conflict),
    /// and the config table stays narrow with a long value in it.
    @Test func usageMistakesAndTheirWords() async throws {
        let typo = try await runTool("chatctl", ["usr", "list"], env: [:])
        #expect(typo.status == 2 && typo.stderr.contains("unknown command 'usr'; did you mean user?"), "\(typo.stderr)")
        let nested = try await runTool("chatctl", ["user", "lst"], env: [:])
        #expect(nested.status == 2 && nested.stderr.hasPrefix("chatctl user: unknown command 'lst'; did you mean list?"))
        let retention = try await runTool("chatctl", ["retention", "set", "general", "0"], env: [:])
        #expect(retention.status == 2 && retention.stderr.contains("Usage: chatctl retention set"), "\(retention.stderr)")
        #expect(retention.stderr.contains("got '0'"))

        try await withServer { server in
            let socket = server.daemon.controlSocketPath
            let backup = try await runTool("chatctl", ["--socket", socket, "backup", "/proc/nope"], env: [:])
            #expect(backup.status == 2 && backup.stderr.contains("invalid_field"), "\(backup.stderr)")
            let config = try await runTool("chatctl", ["--socket", socket, "config", "show"], env: [:])
            let widest = config.stdout.split(separator: "\n").filter { !$0.contains("files.allowed_types") }
                .map(\.count).max() ?? 0
            #expect(config.status == 0 && widest < 120, "\(config.stdout)")

            // Wide characters take two columns: the ROLE column starts at one column on every row.
            for (name, display) in [("wide", "張偉🎉"), ("narrow", "Ann")] {
                let add = try await runTool(
                    "chatctl", ["--socket", socket, "user", "add", name, "--display-name", display],
                    env: [:], stdin: "password1\n")
                #expect(add.status == 0, "\(add.stderr)")
            }
            let list = try await runTool("chatctl", ["--socket", socket, "user", "list"], env: [:])
            let starts = list.stdout.split(separator: "\n").compactMap { line -> Int? in
                guard let role = line.range(of: line.hasPrefix("ID") ? "ROLE" : " user ") else { return nil }
                // Columns before it: CJK ideographs and the emoji count two.
                return line[..<role.lowerBound].unicodeScalars.reduce(0) { $0 + ($1.value >= 0x2E80 ? 2 : 1) }
                    + (line.hasPrefix("ID") ? 0 : 1)
            }
            #expect(starts.count == 3 && Set(starts).count == 1, "\(list.stdout)")
        }
    }
}

/// chatctl --json prints every field of the response, defaults included,
/// with stable names (issue 16 item 4): a script can rely on the shape.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ChatctlJSONShapeTests {
    @Test func everyFieldIsPresentWhateverItsValue() async throws {
        try await withServer { server in
            let socket = server.daemon.controlSocketPath
            let status = try await runTool("chatctl", ["--socket", socket, "--json", "status"], env: [:])
            let object = jsonObject(status.stdout)
            #expect(
                Set(object.keys) == [
                    "version", "started_at_ms", "uptime_ms", "connections", "authenticated_connections", "users", "rooms",
                    "messages", "database_bytes", "data_dir", "listen", "node", "nodes",
                ], "\(status.stdout)")
            // No client is connected: the zero is printed, as a number.
            #expect(object["connections"] as? Int == 0 && object["messages"] as? Int == 0)

            let added = try await runTool(
                "chatctl", ["--socket", socket, "user", "add", "carol", "--password-file", "/dev/stdin"], env: [:],
                stdin: "password-carol\n")
            #expect(added.status == 0, "\(added.stderr)")
            let list = try await runTool("chatctl", ["--socket", socket, "--json", "user", "list"], env: [:])
            let users = jsonObject(list.stdout)["users"] as? [[String: Any]] ?? []
            #expect(users.count == 1)
            #expect(
                Set(users.first?.keys.map { $0 } ?? []) == [
                    "id", "username", "display_name", "email", "role", "disabled", "created_at_ms", "device_count",
                    "connection_count", "status_text", "avatar_url",
                ], "\(list.stdout)")
            #expect(users.first?["disabled"] as? Bool == false && users.first?["device_count"] as? Int == 0)
            #expect(jsonObject(list.stdout)["has_more"] as? Bool == false)
        }
    }
}
