import ChatClient
import ChatDaemon
import ChatProtocol
import Foundation
import Testing

/// Runs blocking work on a dispatch thread: blocking a Swift concurrency
/// thread (there are as many as cores) starves every other test's tasks.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// Alice registered with chatc (her session under `env`'s
/// XDG_CONFIG_HOME) and her room "lobby", which Bob, registered through the
/// library, has joined; Bob's connection and the room's id.
func aliceAndBobInALobby(port: Int, env: [String: String]) async throws -> (ChatConnection, UInt64) {
    var r = try await runTool("chatc", ["register", "alice", "--password", "password1", "--server", "127.0.0.1:\(port)"], env: env)
    #expect(r.status == 0, "\(r.stderr)")
    r = try await runTool("chatc", ["create-room", "lobby"], env: env)
    #expect(r.status == 0, "\(r.stderr)")
    let bob = try await ChatConnection.connect(host: "127.0.0.1", port: port)
    try await bob.hello()
    _ = try await bob.register(username: "bob", password: "password1")
    let rooms = try await bob.call(.listPublicRooms, Chatd_V1_ListPublicRoomsRequest(), as: Chatd_V1_ListConversationsResponse.self)
    let roomID = try #require(rooms.conversations.first { $0.name == "lobby" }?.id)
    _ = try await bob.joinRoom(roomID)
    return (bob, roomID)
}

/// Runs a binary from the build directory with extra environment, optionally
/// through a prefix command (such as setpriv to run it as another user).
/// Runs a tool and returns its exit and output. `stdoutFile`: where its
/// standard output goes, to watch it while the tool runs (the caller removes it).
func runTool(
    _ name: String, _ args: [String], env: [String: String], stdin: String? = nil, prefix: [String] = [], stdoutFile: String? = nil
) async throws -> CommandResult {
    try await offPool { try runToolBlocking(name, args, env: env, stdin: stdin, prefix: prefix, stdoutFile: stdoutFile) }
}

func runToolBlocking(
    _ name: String, _ args: [String], env: [String: String], stdin: String?, prefix: [String], stdoutFile: String? = nil
) throws -> CommandResult {
    let binary = ChatdProcess.binDir.appendingPathComponent(name).path
    // Through files, not pipes (see ChildProcess).
    let base = NSTemporaryDirectory() + "chatd-tool-" + UUID().uuidString.prefix(8)
    let (input, out, err) = (base + ".in", stdoutFile ?? base + ".out", base + ".err")
    defer { for path in [input, err] + (stdoutFile == nil ? [out] : []) { unlink(path) } }
    try Data((stdin ?? "").utf8).write(to: URL(fileURLWithPath: input))
    let child = try ChildProcess(
        prefix + [binary] + args, environment: ProcessInfo.processInfo.environment.merging(env) { _, new in new },
        stdin: input, stdout: out, stderr: err)
    let status: Int32
    switch child.waitBlocking() {
    case .exited(let code): status = code
    case .signaled(let signal): status = signal
    }
    let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return CommandResult(status: status, stdout: read(out), stderr: read(err))
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ChatCLITests {
    @Test func terminalClientEndToEnd() async throws {
        let dir = TestServer.tempDir()
        let home = dir + "-home"
        defer {
            for path in [dir, dir + ".conf", home] { try? FileManager.default.removeItem(atPath: path) }
        }
        let chatd = try ChatdProcess(dataDir: dir)
        let port = try await chatd.waitReady()
        let env = ["XDG_CONFIG_HOME": home]
        let server = ["--server", "127.0.0.1:\(port)"]
        func chat(_ args: [String], stdin: String? = nil) async throws -> CommandResult {
            try await runTool("chatc", args, env: env, stdin: stdin)
        }

        var r = try await chat(["register", "alice"] + server, stdin: "password1\n")
        #expect(r.status == 0, "\(r.stderr)")
        let mode = (try FileManager.default.attributesOfItem(atPath: home + "/chatc/session.json")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        r = try await chat(["whoami"])
        #expect(r.stdout.hasPrefix("alice"))
        r = try await chat(["create-room", "lobby", "--description", "hello all"])
        #expect(r.status == 0 && r.stdout.contains("created #lobby"))

        // Bob, through the library, joins and talks while `chatc tail` listens.
        let bob = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await bob.hello()
        _ = try await bob.register(username: "bob", password: "password1")
        let room = try await bob.call(.listPublicRooms, Chatd_V1_ListPublicRoomsRequest(), as: Chatd_V1_ListConversationsResponse.self)
            .conversations.first { $0.name == "lobby" }
        let roomID = try #require(room?.id)
        _ = try await bob.joinRoom(roomID)

        let tail = Task { try await runTool("chatc", ["tail", "--count", "1", "--seconds", "20"], env: env) }
        // `chatc tail` hears only what is sent after it subscribed, and a busy
        // machine may take long to start it: Bob repeats himself until it prints.
        let talker = Task {
            while !Task.isCancelled {
                _ = try await bob.send(room: roomID, text: "hi from bob")
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        let tailed = try await tail.value
        talker.cancel()
        _ = await talker.result
        #expect(tailed.stdout.contains("#lobby") && tailed.stdout.contains("bob: hi from bob"), "\(tailed.stdout) \(tailed.stderr)")
        // Names, not ids; not the user's own presence.
        #expect(!tailed.stdout.contains("#\(roomID) ") && !tailed.stdout.contains("alice is"), "\(tailed.stdout)")

        r = try await chat(["send", "#lobby", "hello", "bob"])
        #expect(r.status == 0 && r.stdout.contains("sent"))
        r = try await chat(["send", "@bob", "a direct hello"])
        #expect(r.status == 0)
        // The text from stdin: with '-', or with no text when stdin is not a terminal.
        r = try await chat(["send", "#lobby", "-"], stdin: "piped\nin two lines\n")
        #expect(r.status == 0, "\(r.stderr)")
        r = try await chat(["send", "#lobby"], stdin: "piped without a dash")
        #expect(r.status == 0, "\(r.stderr)")
        var lobby = try await bob.history(room: roomID).events
        #expect(lobby.contains { $0.text == "piped\nin two lines" } && lobby.contains { $0.text == "piped without a dash" })
        r = try await chat(["send", "#lobby"], stdin: "")
        #expect(r.status == 1 && r.stderr.contains("no text"))

        // Edit, react, delete, members, leave.
        let mine = try #require(lobby.last { $0.text == "piped without a dash" })
        r = try await chat(["edit", "#lobby", "\(mine.seq)", "edited", "text"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await chat(["react", "#lobby", "\(mine.seq)", "👍"])
        #expect(r.status == 0, "\(r.stderr)")
        lobby = try await bob.history(room: roomID).events
        #expect(lobby.contains { $0.kind == .messageEdited && $0.text == "edited text" })
        #expect(lobby.contains { $0.kind == .reactionAdded && $0.emoji == "👍" })
        r = try await chat(["delete", "#lobby", "\(mine.seq)"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await chat(["members", "#lobby"])
        #expect(r.stdout.contains("alice\towner") && r.stdout.contains("bob\tmember"), "\(r.stdout)")
        _ = try await bob.createRoom(name: "side")
        r = try await chat(["join", "#side"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await chat(["leave", "#side"])
        #expect(r.status == 0 && r.stdout.contains("left"), "\(r.stderr)")
        r = try await chat(["history", "#lobby"])
        #expect(r.stdout.contains("bob: hi from bob") && r.stdout.contains("alice: hello bob"))
        r = try await chat(["conversations"])
        #expect(r.stdout.contains("lobby") && r.stdout.contains("@bob"))
        r = try await chat(["friend", "add", "bob"])
        #expect(r.status == 0)
        try await bob.friendOp(.acceptFriend, username: "alice")
        r = try await chat(["friends"])
        #expect(r.stdout.contains("bob\tonline"))

        // Files and search.
        let picture = home + "/cat.png"
        #expect(FileManager.default.createFile(atPath: picture, contents: pngBytes(20_000, seed: 3)))
        r = try await chat(["send-file", "#lobby", picture, "--caption", "my cat"])
        #expect(r.status == 0 && r.stdout.contains("image/png"), "\(r.stdout) \(r.stderr)")
        let lobbyHistory = try await bob.history(room: roomID).events
        let sentFile = try #require(lobbyHistory.last { $0.hasAttachment })
        #expect(sentFile.messageType == .image && sentFile.text == "my cat" && sentFile.attachment.size == 20_000)
        r = try await chat(["download", sentFile.attachment.fileID, home + "/copy.png"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: home + "/copy.png") == pngBytes(20_000, seed: 3))
        // An existing file is not overwritten without --force.
        #expect(FileManager.default.createFile(atPath: home + "/copy.png", contents: Data("keep me".utf8)))
        r = try await chat(["download", sentFile.attachment.fileID, home + "/copy.png"])
        #expect(r.status == 1 && r.stderr.contains("exists (--force"), "\(r.stderr)")
        #expect(FileManager.default.contents(atPath: home + "/copy.png") == Data("keep me".utf8))
        r = try await chat(["download", sentFile.attachment.fileID, home + "/copy.png", "--force"])
        #expect(r.status == 0 && FileManager.default.contents(atPath: home + "/copy.png") == pngBytes(20_000, seed: 3))
        r = try await chat(["search", "hello", "--in", "#lobby"])
        #expect(r.status == 0 && r.stdout.contains("alice:") && r.stdout.contains("bob"), "\(r.stdout)")
        // Into a pipe: no ANSI codes (the matches are bold only on a terminal).
        #expect(!r.stdout.contains("\u{1B}"), "\(r.stdout)")
        // Terms starting with '-' after '--'.
        r = try await chat(["search", "--in", "#lobby", "--", "hello", "-bob"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(!r.stdout.contains("hello bob"), "\(r.stdout)")
        r = try await chat(["search", "\"unbalanced"])
        #expect(r.status == 1 && r.stderr.contains("invalid_field"))

        // Errors: one clear line, exit 1.
        r = try await chat(["send", "999999", "nobody home"])
        #expect(r.status == 1 && r.stderr.hasPrefix("chatc: not_found"))
        r = try await chat(["friend", "hug", "bob"])
        #expect(r.status == 1 && r.stderr.contains("unknown action"))
        // A second account in a profile of its own, beside the default one.
        r = try await chat(["login", "bob", "--password", "password1", "--profile", "bob"] + server)
        #expect(r.status == 0, "\(r.stderr)")
        let bobMode = (try FileManager.default.attributesOfItem(atPath: home + "/chatc/bob.session.json")[.posixPermissions] as? NSNumber)?
            .intValue
        #expect(bobMode == 0o600)
        r = try await chat(["whoami", "--profile", "bob"])
        #expect(r.stdout.hasPrefix("bob"), "\(r.stdout)")
        r = try await runTool("chatc", ["whoami"], env: env.merging(["CHATC_PROFILE": "bob"]) { _, new in new })
        #expect(r.stdout.hasPrefix("bob"), "\(r.stdout)")
        r = try await chat(["whoami"])
        #expect(r.stdout.hasPrefix("alice"), "\(r.stdout)")
        r = try await chat(["whoami", "--profile", "../x"])
        #expect(r.status == 1 && r.stderr.contains("bad profile name"))
        // The interactive client wants a terminal.
        r = try await chat([])
        #expect(r.status == 1 && r.stderr.contains("needs a terminal"), "\(r.stderr)")

        r = try await chat(["logout"])
        #expect(r.status == 0)
        r = try await chat(["whoami"])
        #expect(r.status == 1 && r.stderr.contains("not logged in"))
        r = try await chat(["whoami", "--profile", "bob"])
        #expect(r.stdout.hasPrefix("bob"), "\(r.stdout)")

        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
    }

    /// `chatc tail` outlives a chatd restart: it reconnects, prints what it
    /// missed, names who asked to be a friend and shows a broadcast's text.
    @Test func tailReconnectsAfterARestart() async throws {
        let dir = TestServer.tempDir()
        let home = dir + "-home"
        defer {
            for path in [dir, dir + ".conf", home] { try? FileManager.default.removeItem(atPath: path) }
        }
        var chatd = try ChatdProcess(dataDir: dir)
        let port = try await chatd.waitReady()
        let env = ["XDG_CONFIG_HOME": home]
        var (bob, roomID) = try await aliceAndBobInALobby(port: port, env: env)
        await bob.close()
        var r: CommandResult

        let tailOutput = NSTemporaryDirectory() + "chatd-tail-" + UUID().uuidString.prefix(8)
        defer { unlink(tailOutput) }
        let tail = Task {
            try await runTool("chatc", ["tail", "--count", "1", "--seconds", "60"], env: env, stdoutFile: tailOutput)
        }
        // Restart only once tail has resumed and synced (it says "listening"
        // then; a restart during its first sync ends it, as a first
        // connection that fails does).
        let deadline = ContinuousClock.now + .seconds(testWaitSeconds)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: tailOutput, encoding: .utf8), text.contains("listening") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
        chatd = try ChatdProcess(dataDir: dir, listen: "127.0.0.1:\(port)")
        _ = try await chatd.waitReady()

        bob = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await bob.hello()
        _ = try await bob.login(username: "bob", password: "password1")
        try await bob.friendOp(.friendRequest, username: "alice")
        r = try await runTool("chatctl", ["--socket", chatd.socketPath, "broadcast", "--everyone", "back after the restart"], env: [:])
        #expect(r.status == 0, "\(r.stderr)")
        _ = try await bob.send(room: roomID, text: "anyone here?")
        let tailed = try await tail.value
        #expect(tailed.status == 0, "\(tailed.stderr)")
        for expected in [
            "connected again", "bob wants to be your friend", "notice from the server: back after the restart",
            "#lobby", "bob: anyone here?",
        ] {
            #expect(tailed.stdout.contains(expected), "\(expected): \(tailed.stdout)")
        }
        await bob.close()
        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
    }

    /// `chatc invite-link`: the token it prints (64 hex digits) lets another
    /// profile into a private group; the list shows the use; a revoked link is
    /// refused with invite_revoked. `chatc invite` adds a member.
    @Test func inviteLinksAndInvitesBringMembersIntoAGroup() async throws {
        try await withChatd { port, chat in
            // Alice's group, created and watched through the library on another device.
            let alice = try await chatcUserAndLibraryDevice(port: port, chat)
            var r: CommandResult
            for name in ["carol", "bob"] {
                r = try await chat(["register", name, "--password", "password1", "--profile", name, "--server", "127.0.0.1:\(port)"])
                #expect(r.status == 0, "\(r.stderr)")
            }
            let group = try await alice.createGroup(name: "hideout").conversation
            func members() async throws -> [String] {
                var q = Chatd_V1_ListMembersRequest()
                q.conversationID = group.id
                q.limit = 100
                let page = try await alice.call(.listMembers, q, as: Chatd_V1_ListMembersResponse.self)
                return page.members.map(\.user.username).sorted()
            }

            // Refused before asking the server.
            r = try await chat(["invite-link", "create", "hideout", "--expires", "2x"])
            #expect(r.status == 1 && r.stderr.contains("--expires: cannot read \"2x\""), "\(r.stderr)")
            r = try await chat(["invite-link", "create", "hideout", "--expires", "367d"])
            #expect(r.status == 1 && r.stderr.contains("longer than an invite link can last (366d)"), "\(r.stderr)")
            r = try await chat(["invite-link", "create", "hideout", "--uses", "0"])
            #expect(r.status == 1 && r.stderr.contains("--uses must be 1-1000000"), "\(r.stderr)")
            r = try await chat(["invite-link", "redeem", "abc123", "--profile", "bob"])
            #expect(r.status == 1 && r.stderr.contains("64 hex digits"), "\(r.stderr)")
            #expect(try await alice.listInviteLinks(group.id).isEmpty)

            r = try await chat(["invite-link", "create", "hideout", "--expires", "1h", "--uses", "2"])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            let token = try #require(lines.first)
            #expect(token.count == 64 && token.allSatisfy { "0123456789abcdef".contains($0) }, "\(r.stdout)")
            let link = try #require(try await alice.listInviteLinks(group.id).first)
            #expect(link.maxUses == 2 && link.expiresAtMs - link.createdAtMs == 3_600_000)
            #expect(lines.count == 2 && lines[1].hasPrefix("invite link \(link.id) to hideout: 0/2 uses, expires "), "\(r.stdout)")

            r = try await chat(["invite-link", "redeem", token, "--profile", "carol"])
            #expect(r.status == 0 && r.stdout == "joined hideout (\(group.id))\n", "\(r.stdout) \(r.stderr)")
            #expect(try await members() == ["alice", "carol"])
            r = try await chat(["invite-link", "list", "hideout"])
            #expect(r.stdout.hasPrefix("\(link.id)\t1/2 uses, expires "), "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.hasSuffix(" by alice\n") && r.stdout.split(separator: "\n").count == 1, "\(r.stdout)")
            // A member may not see the links: the server's error code and message.
            r = try await chat(["invite-link", "list", "hideout", "--profile", "carol"])
            #expect(r.status == 1 && r.stderr.hasPrefix("chatc: forbidden: "), "\(r.stderr)")

            r = try await chat(["invite-link", "revoke", "hideout", "\(link.id)"])
            #expect(r.status == 0 && r.stdout == "revoked invite link \(link.id)\n", "\(r.stdout) \(r.stderr)")
            #expect(try await alice.listInviteLinks(group.id).isEmpty)
            r = try await chat(["invite-link", "list", "hideout"])
            #expect(r.status == 0 && r.stdout == "no invite links\n", "\(r.stdout)")
            r = try await chat(["invite-link", "redeem", token, "--profile", "bob"])
            #expect(r.status == 1 && r.stderr.hasPrefix("chatc: invite_revoked: "), "\(r.stderr)")
            #expect(try await members() == ["alice", "carol"])

            r = try await chat(["invite", "hideout", "@bob"])
            #expect(r.status == 0 && r.stdout == "added bob to hideout\n", "\(r.stdout) \(r.stderr)")
            #expect(try await members() == ["alice", "bob", "carol"])
            r = try await chat(["conversations", "--profile", "bob"])
            #expect(r.stdout.contains("\(group.id)\thideout"), "\(r.stdout)")
            r = try await chat(["invite", "hideout", "nobody"])
            #expect(r.status == 1 && r.stderr.hasPrefix("chatc: not_found: "), "\(r.stderr)")
            await alice.close()
        }
    }

    /// `chatc push`: a UnifiedPush endpoint and a gateway target are set on
    /// the device chatc signed in with, the answer's include_content is
    /// printed, and `push remove` clears it. The server's refusal of a plain
    /// http loopback endpoint and a bad platform (refused locally) are one line each.
    @Test func pushTargetIsSetAndRemoved() async throws {
        // Nothing is sent to these made-up endpoints: nobody writes to alice.
        let push = "\n[push]\ninclude_content = true\ngateway_url = \"https://push.example.org/_matrix/push/v1/notify\"\n"
        try await withChatd(extraConfig: push) { port, chat in
            let alice = try await chatcUserAndLibraryDevice(port: port, chat)
            var r: CommandResult
            // The push target of the device chatc registered with.
            func chatcPush() async throws -> Chatd_V1_PushKind? {
                let list = try await alice.call(.listDevices, Chatd_V1_ListDevicesRequest(), as: Chatd_V1_ListDevicesResponse.self)
                return list.devices.first { $0.platform == "cli" }?.push
            }

            let gateway = ["push", "set", "--gateway", "PK1", "--app-id", "org.example.chat"]
            r = try await chat(gateway + ["--platform", "gcm"])
            #expect(r.status == 1 && r.stderr == "chatc: unknown platform gcm; one of apns, fcm\n", "\(r.stderr)")
            r = try await chat(["push", "set", "--gateway", "PK1"])
            #expect(r.status == 1 && r.stderr.contains("--gateway needs --app-id and --platform"), "\(r.stderr)")
            r = try await chat(["push", "set"])
            #expect(r.status == 1 && r.stderr.contains("give one of --unified URL or --gateway PUSHKEY"), "\(r.stderr)")
            // push.allow_http and push.allow_private_addresses are off.
            r = try await chat(["push", "set", "--unified", "http://127.0.0.1:9/up"])
            #expect(r.status == 1 && r.stderr.hasPrefix("chatc: invalid_field: "), "\(r.stderr)")
            #expect(try await chatcPush() == .unspecified)

            r = try await chat(["push", "set", "--unified", "https://push.example.org/up/alice"])
            #expect(r.status == 0 && r.stdout.contains("go to https://push.example.org/up/alice"), "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("includes the sender and text in them (include_content: true)"), "\(r.stdout)")
            #expect(try await chatcPush() == .pushUnified)
            r = try await chat(gateway + ["--platform", "apns"])
            #expect(r.status == 0 && r.stdout.contains("gateway to apns (app org.example.chat)"), "\(r.stdout) \(r.stderr)")
            #expect(try await chatcPush() == .pushGateway)
            r = try await chat(["push", "remove"])
            #expect(r.status == 0 && r.stdout == "this device gets no push notifications\n", "\(r.stdout) \(r.stderr)")
            #expect(try await chatcPush() == .unspecified)
            await alice.close()
        }
    }
}

/// Runs `body` with a chatd of its own and `chat`, which runs chatc with its
/// sessions in a home of the test's own; then stops chatd (it must exit 0)
/// and removes both.
func withChatd(
    extraConfig: String = "", _ body: (_ port: Int, _ chat: ([String]) async throws -> CommandResult) async throws -> Void
) async throws {
    let dir = TestServer.tempDir()
    let home = dir + "-home"
    defer {
        for path in [dir, dir + ".conf", home] { try? FileManager.default.removeItem(atPath: path) }
    }
    let chatd = try ChatdProcess(dataDir: dir, extraConfig: extraConfig)
    let port = try await chatd.waitReady()
    do {
        try await body(port) { try await runTool("chatc", $0, env: ["XDG_CONFIG_HOME": home]) }
    } catch {
        chatd.signal(SIGTERM)
        _ = await chatd.waitExit()
        throw error
    }
    chatd.signal(SIGTERM)
    #expect(await chatd.waitExit() == 0)
}

/// Alice, registered with chatc (its default profile), and her connection
/// through the library on a second device.
func chatcUserAndLibraryDevice(port: Int, _ chat: ([String]) async throws -> CommandResult) async throws -> ChatConnection {
    let r = try await chat(["register", "alice", "--password", "password1", "--server", "127.0.0.1:\(port)"])
    #expect(r.status == 0, "\(r.stderr)")
    let alice = try await ChatConnection.connect(host: "127.0.0.1", port: port)
    try await alice.hello()
    _ = try await alice.login(username: "alice", password: "password1")
    return alice
}
