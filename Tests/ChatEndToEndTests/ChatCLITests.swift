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
}
