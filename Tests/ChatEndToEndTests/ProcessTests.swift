import ChatClient
import ChatDaemon
import ChatProtocol
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `chatd` and `chatctl` binaries (built by `swift build`).
final class ChatdProcess: Sendable {
    static let binDir: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../.build/debug").standardized

    let process: ChildProcess
    let dataDir: String
    let configPath: String
    /// chatd's stderr (a file, not a pipe: chatd never waits for the test to read it).
    let logPath: String

    /// `openFileLimit`: started through `sh -c 'ulimit -n N; exec chatd ...'`.
    /// `listen`: a fixed address, to start a chatd again where clients knew it.
    init(
        dataDir: String, serverConfig: String = "", storageConfig: String = "", securityConfig: String = "",
        extraConfig: String = "",
        openFileLimit: Int? = nil, listen: String = "127.0.0.1:0"
    ) throws {
        self.dataDir = dataDir
        configPath = dataDir + ".conf"
        let config = """
            [server]
            listen = "\(listen)"
            event_loop_threads = 1
            \(serverConfig)

            [storage]
            data_dir = "\(dataDir)"
            \(storageConfig)

            [security]
            argon2_ops_limit = 1
            argon2_mem_kib = 8
            logins_per_address = 100000
            \(securityConfig)

            [log]
            level = "info"
            \(extraConfig)
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        // One per process: a test may start several chatds on one data directory.
        logPath = dataDir + "-" + UUID().uuidString.prefix(8) + ".log"
        let chatd = Self.binDir.appendingPathComponent("chatd").path
        let configFile = configPath
        let argv =
            openFileLimit.map { ["/bin/sh", "-c", "ulimit -n \($0) && exec \"$0\" \"$@\"", chatd, "--config", configFile] }
            ?? [chatd, "--config", configFile]
        process = try ChildProcess(argv, stderr: logPath)
    }

    deinit { if ProcessInfo.processInfo.environment["CHATD_TEST_KEEP_LOGS"] == nil { unlink(logPath) } }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits for "chatd listening" and returns the client port.
    func waitReady(seconds: Double = 20) async throws -> Int {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            let text = output
            if let range = text.range(of: "chatd.listen=127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return port }
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessTestError("chatd did not start:\n\(output)")
    }

    func signal(_ number: Int32) { process.signal(number) }

    /// Waits until the captured stderr contains `text`.
    func waitForOutput(_ text: String, occurrences: Int = 1, seconds: Double = 10) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while outputCount(text) < occurrences && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return outputCount(text) >= occurrences
    }

    /// How many times `text` occurs in the output so far.
    func outputCount(_ text: String) -> Int { output.components(separatedBy: text).count - 1 }

    /// Waits for exit and returns the status.
    func waitExit(seconds: Double = 20) async -> Int32? {
        switch await process.wait(timeout: .milliseconds(Int(seconds * 1000))) {
        case .exited(let status): status
        case .signaled(let signal): signal
        case nil: nil
        }
    }

    var socketPath: String { dataDir + "/chatd.sock" }
}


struct ProcessTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs chatctl (optionally through a prefix such as setpriv) and captures its output.
func chatctl(_ args: [String], stdin: String? = nil, prefix: [String] = []) async throws -> CommandResult {
    try await runTool("chatctl", args, env: [:], stdin: stdin, prefix: prefix)
}

func jsonObject(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ProcessTests {
    @Test func chatctlAgainstLiveDaemon() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".conf") }
        let chatd = try ChatdProcess(dataDir: dir)
        let port = try await chatd.waitReady()
        let s = ["--socket", chatd.socketPath]

        // The socket is owner-only.
        let mode = (try FileManager.default.attributesOfItem(atPath: chatd.socketPath)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)

        var r = try await chatctl(s + ["user", "add", "alice", "--display-name", "Alice"], stdin: "password1\n")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("created user alice"))
        r = try await chatctl(["user", "add", "bob", "--password", "password2", "--insecure-password-arg", "--role", "admin", "--json"] + s)
        #expect(r.status == 0)
        #expect((jsonObject(r.stdout)["user"] as? [String: Any])?["role"] as? String == "admin")
        r = try await chatctl(s + ["user", "add", "alice", "--password", "password1", "--insecure-password-arg"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("conflict"))

        r = try await chatctl(s + ["user", "list"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("alice") && r.stdout.contains("bob") && r.stdout.hasPrefix("ID"))
        r = try await chatctl(s + ["--json", "user", "list", "--role", "admin"])
        let users = jsonObject(r.stdout)["users"] as? [[String: Any]] ?? []
        #expect(users.map { $0["username"] as? String } == ["bob"])

        // A client logs in as alice; chatctl sees the device and the connection.
        let client = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await client.hello()
        var d = Chatd_V1_DeviceInfo()
        d.deviceID = "phone"
        _ = try await client.login(username: "alice", password: "password1", device: d)
        let room = try await client.createRoom(name: "ops-room")
        _ = try await client.send(room: room.id, text: "hello")
        let pushes = PushCollector(client)

        r = try await chatctl(s + ["status"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("connections:  1 (1 authenticated)"))
        r = try await chatctl(s + ["status", "--json"])
        #expect(jsonObject(r.stdout)["users"] as? Int == 2)
        #expect(jsonObject(r.stdout)["messages"] as? Int == 1)

        r = try await chatctl(s + ["user", "show", "alice"])
        #expect(r.status == 0 && r.stdout.contains("phone") && r.stdout.contains("ops-room"))
        r = try await chatctl(s + ["room", "list"])
        #expect(r.stdout.contains("ops-room"))
        r = try await chatctl(s + ["--json", "room", "show", "ops-room"])
        #expect(jsonObject(r.stdout)["online_members"] as? Int == 1)
        r = try await chatctl(s + ["device", "list", "--user", "alice"])
        #expect(r.stdout.contains("phone") && r.stdout.contains("signed in"))

        r = try await chatctl(s + ["user", "set-role", "alice", "admin"])
        #expect(r.status == 0 && r.stdout.contains("now admin"))
        r = try await chatctl(s + ["user", "set-role", "alice", "emperor"])
        #expect(r.status == 2 && r.stderr.contains("invalid_field"))
        r = try await chatctl(s + ["user", "show", "nobody"])
        #expect(r.status == 1 && r.stderr.contains("not_found"))

        // Revoking the device closes the live connection at once.
        r = try await chatctl(s + ["device", "revoke", "alice", "phone"])
        #expect(r.status == 0 && r.stdout.contains("1 connections closed"))
        #expect(await pushes.wait(seconds: 20) { goodbyeReason($0) == .deviceRevoked })

        // Disable / enable / passwd.
        r = try await chatctl(s + ["user", "disable", "alice"])
        #expect(r.status == 0)
        let c2 = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await c2.hello()
        await expectError(.accountDisabled) { try await c2.login(username: "alice", password: "password1") }
        r = try await chatctl(s + ["user", "enable", "id:1"])
        #expect(r.status == 0)
        r = try await chatctl(s + ["user", "passwd", "alice"], stdin: "password9\n")
        #expect(r.status == 0)
        _ = try await c2.login(username: "alice", password: "password9")

        // --config finds the socket.
        r = try await chatctl(["--config", chatd.configPath, "status"])
        #expect(r.status == 0)

        // health and reload.
        r = try await chatctl(s + ["health"])
        #expect(r.status == 0 && r.stdout.hasPrefix("ok: database writable"))
        r = try await chatctl(s + ["health", "--json"])
        #expect(jsonObject(r.stdout)["write_latency_us"] != nil)
        r = try await chatctl(s + ["reload"])
        #expect(r.status == 0 && r.stdout.contains("nothing changed"))
        var text = try String(contentsOfFile: chatd.configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "[log]", with: "[limits]\nmax_message_bytes = 4000\n\n[log]")
        try text.write(toFile: chatd.configPath, atomically: true, encoding: .utf8)
        r = try await chatctl(s + ["--json", "reload"])
        #expect((jsonObject(r.stdout)["applied"] as? [String]) == ["limits.max_message_bytes"])
        try "[limits\nbroken".write(toFile: chatd.configPath, atomically: true, encoding: .utf8)
        r = try await chatctl(s + ["reload"])
        #expect(r.status == 2 && r.stderr.contains("invalid_field"))

        // A peer that is neither root nor chatd's uid is refused, even when the
        // file permissions would let it connect.
        if getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            r = try await chatctl(s + ["status"], prefix: nobody)
            #expect(r.status == 4, "\(r.stderr)")
            chmod(dir, 0o755)
            chmod(chatd.socketPath, 0o666)
            r = try await chatctl(s + ["status"], prefix: nobody)
            #expect(r.status == 4, "\(r.stderr)")
            #expect(r.stderr.contains("access refused: uid 65534"))
        }

        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
        #expect(await chatd.waitForOutput("chatd stopped"))

        // Not running: one clear line, exit 3.
        r = try await chatctl(s + ["status"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("not running"))
    }

    /// Every message acknowledged before a crash (SIGKILL) is there after a restart.
    @Test func acknowledgedMessagesSurviveKillAndRestart() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".conf") }
        let first = try ChatdProcess(dataDir: dir)
        let port = try await first.waitReady()
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await c.hello()
        let auth = try await c.register(username: "durable", password: "password1")
        let room = try await c.createRoom(name: "durable")
        // Acknowledged sends, then more in flight when the process dies.
        var acknowledged: [UInt64: String] = [:]
        for i in 0..<100 {
            let r = try await c.send(room: room.id, text: "msg \(i)", clientMsgID: "d-\(i)")
            acknowledged[r.event.seq] = "msg \(i)"
        }
        // Edits, reactions, reads and friendships are durable too.
        _ = try await c.edit(room.id, seq: 2, text: "msg 0 (edited)", clientMsgID: "e-0")
        _ = try await c.react(room.id, seq: 3, emoji: "🔥")
        try await c.markRead(room.id, seq: 10)
        acknowledged[2] = "msg 0 (edited)"
        let inflight = Task {
            var acks: [UInt64: String] = [:]
            for i in 100..<400 {
                guard let r = try? await c.send(room: room.id, text: "msg \(i)", clientMsgID: "d-\(i)") else { break }
                acks[r.event.seq] = "msg \(i)"
            }
            return acks
        }
        try await Task.sleep(for: .milliseconds(50))
        first.signal(SIGKILL)
        _ = await first.waitExit()
        acknowledged.merge(await inflight.value) { a, _ in a }

        let second = try ChatdProcess(dataDir: dir)
        let port2 = try await second.waitReady()
        let c2 = try await ChatConnection.connect(host: "127.0.0.1", port: port2)
        try await c2.hello()
        // The token survives the restart (its key is in the data directory).
        _ = try await c2.resume(token: auth.token)
        var stored: [UInt64: String] = [:]
        var after: UInt64 = 0
        while true {
            let page = try await c2.history(room: room.id, after: after, limit: 200)
            for e in page.events where e.kind == .message { stored[e.seq] = e.text }
            for e in page.events where e.kind != .message { stored[e.seq] = stored[e.seq] ?? "" }
            after = page.events.last?.seq ?? after
            if !page.hasMore_p { break }
        }
        for (seq, text) in acknowledged where seq != 2 { #expect(stored[seq] == text, "acknowledged seq \(seq) lost") }
        #expect(stored[2] == "msg 0 (edited)")
        let afterRestart = try await c2.history(room: room.id, after: 2, limit: 2).events
        #expect(afterRestart.first { $0.seq == 3 }?.reactions.first?.emoji == "🔥")
        #expect(try await c2.sync().conversations.first { $0.conversation.id == room.id }?.readSeq == 10)
        // Seqs have no gaps.
        let seqs = stored.keys.sorted()
        #expect(seqs == Array(1...(seqs.last ?? 0)))
        // A retried send after the restart is recognised as a duplicate.
        let retry = try await c2.send(room: room.id, text: "msg 0", clientMsgID: "d-0")
        #expect(retry.duplicate)
        second.signal(SIGTERM)
        #expect(await second.waitExit() == 0)
    }

    /// One chatd per data directory: a second chatd on the same directory exits
    /// 73 naming the lock file and the holder's pid, and the first one's control
    /// socket keeps working; so does a chatd on another directory configured
    /// with the first one's socket. After a crash the next start proceeds.
    @Test func secondChatdOnTheSameDataDirectoryExits73() async throws {
        let dir = TestServer.tempDir()
        let otherDir = TestServer.tempDir()
        defer {
            for path in [dir, dir + ".conf", otherDir, otherDir + ".conf"] { try? FileManager.default.removeItem(atPath: path) }
        }
        let lockFile = dir + "/chatd.lock"
        let first = try ChatdProcess(dataDir: dir)
        _ = try await first.waitReady()
        let pid = first.process.pid
        #expect(try String(contentsOfFile: lockFile, encoding: .utf8) == "\(pid)\n")
        let status = ["--socket", first.socketPath, "status"]

        let second = try ChatdProcess(dataDir: dir)
        #expect(await second.waitExit() == 73)
        #expect(await second.waitForOutput("data directory \(dir) is in use by another chatd: pid \(pid) holds the lock on \(lockFile)"))
        var r = try await chatctl(status)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("data dir:") && r.stdout.contains(dir))

        // Its own data directory, but the first one's control socket: refused, the socket left alone.
        let third = try ChatdProcess(dataDir: otherDir, extraConfig: "\n[control]\nsocket = \"\(first.socketPath)\"\n")
        #expect(await third.waitExit() == 73)
        #expect(await third.waitForOutput("control socket \(first.socketPath) is in use (a process is listening on it)"))
        r = try await chatctl(status)
        #expect(r.status == 0, "\(r.stderr)")

        first.signal(SIGTERM)
        #expect(await first.waitExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: first.socketPath))
        #expect(try String(contentsOfFile: lockFile, encoding: .utf8) == "")

        // A crash leaves the socket file but no lock: the next chatd starts,
        // replacing the stale socket.
        let crashed = try ChatdProcess(dataDir: dir)
        _ = try await crashed.waitReady()
        crashed.signal(SIGKILL)
        _ = await crashed.waitExit()
        #expect(FileManager.default.fileExists(atPath: first.socketPath))
        let restarted = try ChatdProcess(dataDir: dir)
        _ = try await restarted.waitReady()
        #expect(await restarted.waitForOutput("removing a stale control socket"))
        r = try await chatctl(status)
        #expect(r.status == 0, "\(r.stderr)")
        restarted.signal(SIGTERM)
        #expect(await restarted.waitExit() == 0)
    }

    /// `security.hash_nice` and `push.nice` reach chatd's threads.
    @Test func hashingAndPushThreadsRunAtTheirConfiguredNiceValues() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".conf") }
        let chatd = try ChatdProcess(
            dataDir: dir, securityConfig: "hash_threads = 2\nhash_nice = 7", extraConfig: "\n[push]\nnice = 5\n")
        defer { chatd.signal(SIGKILL) }
        _ = try await chatd.waitReady()
        let nices = try threadNiceValues(pid: chatd.process.pid)
        #expect(nices.filter { $0 == 7 }.count == 2, "thread nice values: \(nices)")
        #expect(nices.filter { $0 == 5 }.count == 1, "thread nice values: \(nices)")
    }

    @Test func checkConfigAndReload() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".conf") }
        let chatd = try ChatdProcess(dataDir: dir, extraConfig: "\n[accounts]\nregistration_open = true\n")
        let port = try await chatd.waitReady()

        // Close registration and change a restart-only key, then SIGHUP.
        var text = try String(contentsOfFile: chatd.configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "registration_open = true", with: "registration_open = false")
        text = text.replacingOccurrences(of: "event_loop_threads = 1", with: "event_loop_threads = 2")
        try text.write(toFile: chatd.configPath, atomically: true, encoding: .utf8)
        chatd.signal(SIGHUP)
        #expect(await chatd.waitForOutput("configuration reloaded"))
        #expect(await chatd.waitForOutput("server.event_loop_threads"))
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        #expect(try await c.hello().limits.registrationOpen == false)
        await expectError(.registrationClosed) { try await c.register(username: "late", password: "password1") }

        // A broken file changes nothing.
        try "[server\nbroken".write(toFile: chatd.configPath, atomically: true, encoding: .utf8)
        chatd.signal(SIGHUP)
        #expect(await chatd.waitForOutput("reload refused"))
        #expect(chatd.process.isRunning)
        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
    }
}

/// The nice value of each thread of a process: /proc/PID/task/*/stat, field
/// 19 (the 17th after the name's closing parenthesis).
func threadNiceValues(pid: Int32) throws -> [Int] {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap { tid -> Int? in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 16 ? Int(fields[16]) : nil
    }
}
