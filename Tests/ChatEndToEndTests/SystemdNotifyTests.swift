import ChatClient
import ChatDaemon
import Logging
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A Unix datagram socket standing in for systemd's notify socket.
final class NotifySocket: @unchecked Sendable {
    let path: String
    let fd: Int32

    init() throws {
        path = NSTemporaryDirectory() + "notify-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw ProcessTestError("cannot bind \(path)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Messages received until `seconds` pass or `until` holds; off the
    /// concurrency pool, since recv blocks.
    func receive(seconds: Double, until: @escaping @Sendable ([String]) -> Bool) async -> [String] {
        (try? await offPool { self.receiveBlocking(seconds: seconds, until: until) }) ?? []
    }

    func receiveBlocking(seconds: Double, until: ([String]) -> Bool) -> [String] {
        var out: [String] = []
        let end = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < end && !until(out) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { out.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
        }
        return out
    }
}

@Suite(.serialized, .timeLimit(.minutes(1)))
struct SystemdNotifyTests {
    @Test func readyWatchdogReloadingStopping() async throws {
        let sink = try NotifySocket()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": sink.path, "WATCHDOG_USEC": "300000"])
        #expect(notifier.watchdogInterval == .milliseconds(150))
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = TestServer.testConfig(dataDir: dir)
        let daemon = try await Daemon.start(config: config, logger: .init(label: "t") { _ in SwiftLogNoOpLogHandler() }, notifier: notifier)

        var got = await sink.receive(seconds: 5) { $0.contains { $0.hasPrefix("READY=1") } }
        let ready = got.first { $0.hasPrefix("READY=1") } ?? ""
        #expect(ready.contains("STATUS=listening on 127.0.0.1:") && ready.contains("MAINPID=\(getpid())"))
        // Watchdog keep-alives at half the interval: several within a second.
        got = await sink.receive(seconds: 15) { $0.filter { $0 == "WATCHDOG=1" }.count >= 4 }
        #expect(got.filter { $0 == "WATCHDOG=1" }.count >= 4)

        daemon.reloadNotifying(config.setting("limits.max_message_bytes", .int(1000)))
        got = await sink.receive(seconds: 5) { $0.contains { $0.hasPrefix("READY=1") } }
        let reloading = got.firstIndex { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }
        let readyAgain = got.firstIndex { $0.hasPrefix("READY=1") }
        #expect(reloading != nil && readyAgain != nil && (reloading ?? 0) < (readyAgain ?? 0))

        await daemon.shutdown()
        got = await sink.receive(seconds: 5) { $0.contains { $0.hasPrefix("STOPPING=1") } }
        #expect(got.contains { $0.hasPrefix("STOPPING=1") })
    }

    @Test func withoutNotifySocketNothingIsSent() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)
        #expect(!notifier.notify("READY=1"))
    }
}

struct SystemdUnitTests {
    /// `systemd-analyze verify` accepts the unit (when systemd-analyze exists here).
    @Test func unitVerifies() async throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else { return }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        let unit = try String(contentsOf: root.appendingPathComponent("tools/systemd/chatd.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/chatd", with: ChatdProcess.binDir.appendingPathComponent("chatd").path)
            .replacingOccurrences(of: "/usr/local/bin/chatctl", with: ChatdProcess.binDir.appendingPathComponent("chatctl").path)
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try unit.write(toFile: dir + "/chatd.service", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: root.appendingPathComponent("tools/systemd/chatd.socket").path, toPath: dir + "/chatd.socket")
        let result = try await offPool { () -> (Int32, String) in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: analyze)
            p.arguments = ["verify", dir + "/chatd.socket", dir + "/chatd.service"]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = err
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        #expect(result.0 == 0, "\(result.1)")
        #expect(unit.contains("Type=notify") && unit.contains("WatchdogSec=") && unit.contains("ExecReload="))
    }
}

@Suite(.serialized, .timeLimit(.minutes(1)))
struct SocketActivationTests {
    /// Started by systemd-socket-activate (when installed), chatd serves on
    /// the socket it was handed instead of binding `[server] listen`.
    @Test func adoptsTheListeningSocket() async throws {
        let activate = "/usr/bin/systemd-socket-activate"
        guard FileManager.default.isExecutableFile(atPath: activate) else { return }
        // A free port: bind, read it, release it.
        let probe = try await ChatConnectionProbe.freePort()
        let dir = TestServer.tempDir()
        defer { for path in [dir, dir + ".conf"] { try? FileManager.default.removeItem(atPath: path) } }
        try "[storage]\ndata_dir = \"\(dir)\"\n[log]\nlevel = \"info\"\n".write(toFile: dir + ".conf", atomically: true, encoding: .utf8)
        // Not Foundation's Process: systemd-socket-activate closes what it inherits (see ChildProcess).
        let log = dir + ".log"
        defer { unlink(log) }
        let child = try ChildProcess(
            [activate, "-l", "127.0.0.1:\(probe)", ChatdProcess.binDir.appendingPathComponent("chatd").path, "--config", dir + ".conf"],
            stdout: log, stderrToStdout: true)
        do {
            try await Self.connectAndRegister(port: probe)
        } catch {
            Issue.record("systemd-socket-activate and chatd wrote: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            await Self.stop(child)
            throw error
        }
        await Self.stop(child)
    }

    static func stop(_ child: ChildProcess) async {
        child.signal(SIGTERM)
        _ = await child.wait(timeout: .seconds(20))
    }

    static func connectAndRegister(port probe: Int) async throws {
        // The first connection makes systemd-socket-activate start chatd.
        var connection: ChatConnection?
        for _ in 0..<50 {
            if let c = try? await ChatConnection.connect(host: "127.0.0.1", port: probe, requestTimeout: .seconds(10)) {
                connection = c
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let c = try #require(connection)
        let hello = try await c.hello()
        #expect(hello.serverName == "chatd")
        _ = try await c.register(username: "activated", password: "password1")
        await c.close()
    }
}

enum ChatConnectionProbe {
    static func freePort() async throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
