import ChatClient
import ChatDaemon
import ChatProtocol
import Foundation
import Testing

/// Drives the interactive `chatc` in tmux, a real terminal emulator: what
/// `tmux capture-pane` prints is what a user would see on the screen.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct InteractiveClientTests {
    static let tmuxPath = ["/usr/bin/tmux", "/usr/local/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// One tmux server of its own (its socket in the test's directory).
    struct Tmux {
        let socket: String

        /// Runs tmux (a `ChildProcess`: its server forks off and closes
        /// what it inherited); stdout goes through a file.
        func run(_ args: [String]) async throws -> CommandResult {
            let (socket, output) = (socket, socket + ".out")
            return try await offPool {
                defer { unlink(output) }
                let child = try ChildProcess([InteractiveClientTests.tmuxPath ?? "tmux", "-S", socket] + args, stdout: output)
                let status: Int32 = if case .exited(let code) = child.waitBlocking() { code } else { 255 }
                return CommandResult(status: status, stdout: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "", stderr: "")
            }
        }

        var screen: String {
            get async { (try? await run(["capture-pane", "-p"]).stdout) ?? "" }
        }

        /// Waits until the screen shows `text`; the screen either way.
        func waitFor(_ text: String, seconds: Double = 20) async -> (Bool, String) {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            var shown = ""
            while ContinuousClock.now < deadline {
                shown = await screen
                if shown.contains(text) { return (true, shown) }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return (false, shown)
        }
    }

    @Test(.enabled(if: tmuxPath != nil, "needs tmux"))
    func interactiveClientInATerminal() async throws {
        let dir = TestServer.tempDir()
        let home = dir + "-home"
        let tmux = Tmux(socket: dir + "-tmux")
        defer {
            for path in [dir, dir + ".conf", home, tmux.socket] { try? FileManager.default.removeItem(atPath: path) }
        }
        var chatd = try ChatdProcess(dataDir: dir)
        let port = try await chatd.waitReady()
        let (bob, roomID) = try await aliceAndBobInALobby(port: port, env: ["XDG_CONFIG_HOME": home])

        let chatc = ChatdProcess.binDir.appendingPathComponent("chatc").path
        var r = try await tmux.run([
            "new-session", "-d", "-x", "100", "-y", "30", "env XDG_CONFIG_HOME='\(home)' TERM=xterm-256color '\(chatc)'",
        ])
        #expect(r.status == 0)
        defer { _ = try? ChildProcess([Self.tmuxPath ?? "tmux", "-S", tmux.socket, "kill-server"]).waitBlocking() }

        // The conversation list, the room's history, the input line.
        var (shown, screen) = await tmux.waitFor("connected as alice")
        #expect(shown, "\(screen)")
        // The history arrives after the connection line ("loading…" until then).
        (shown, screen) = await tmux.waitFor("created by alice")
        #expect(screen.contains("#lobby") && screen.contains("created by alice"), "\(screen)")
        #expect(screen.split(separator: "\n").last?.hasPrefix(">") == true, "\(screen)")

        // A message from another user appears, with the sender's name.
        _ = try await bob.send(room: roomID, text: "hello from bob")
        (shown, screen) = await tmux.waitFor("bob: hello from bob")
        #expect(shown, "\(screen)")

        // Typing a line sends it.
        _ = try await tmux.run(["send-keys", "hi bob, from the terminal", "Enter"])
        (shown, screen) = await tmux.waitFor("alice: hi bob, from the terminal")
        #expect(shown, "\(screen)")
        let texts = try await bob.history(room: roomID).events.map(\.text)
        #expect(texts.contains("hi bob, from the terminal"))

        // A direct chat opened by someone else appears with an unread badge.
        let direct = try await bob.openDirect(username: "alice")
        _ = try await bob.send(room: direct.id, text: "psst @alice")
        (shown, screen) = await tmux.waitFor(" 1 @1 │")
        #expect(shown, "\(screen)")

        // A friend request says who.
        try await bob.friendOp(.friendRequest, username: "alice")
        (shown, screen) = await tmux.waitFor("bob wants to be your friend")
        #expect(shown, "\(screen)")

        // An operator's notice to everyone is shown with its text.
        r = try await runTool("chatctl", ["--socket", chatd.socketPath, "broadcast", "--everyone", "maintenance at ten"], env: [:])
        #expect(r.status == 0, "\(r.stderr)")
        (shown, screen) = await tmux.waitFor("notice from the server: maintenance at ten")
        #expect(shown, "\(screen)")

        // The server restarts: the client says so, reconnects and catches up.
        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
        (shown, screen) = await tmux.waitFor("reconnecting")
        #expect(shown, "\(screen)")
        chatd = try ChatdProcess(dataDir: dir, listen: "127.0.0.1:\(port)")
        _ = try await chatd.waitReady()
        (shown, screen) = await tmux.waitFor("connected as alice", seconds: 40)
        #expect(shown, "\(screen)")
        let bob2 = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await bob2.hello()
        _ = try await bob2.login(username: "bob", password: "password1")
        _ = try await bob2.send(room: roomID, text: "back again")
        (shown, screen) = await tmux.waitFor("bob: back again")
        #expect(shown, "\(screen)")

        // /quit leaves, and the client's window closes with it.
        _ = try await tmux.run(["send-keys", "/quit", "Enter"])
        let deadline = ContinuousClock.now + .seconds(10)
        while try await tmux.run(["has-session"]).status == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await tmux.run(["has-session"]).status != 0)

        await bob2.close()
        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
    }
}
