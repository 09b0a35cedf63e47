import ChatClient
import ChatProtocol
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Connection limits and accept backoff (server.max_connections,
/// server.max_connections_per_address; NIO's AcceptBackoffHandler).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ConnectionLimitTests {
    @Test func connectionsPastThePerAddressLimitAreClosedAtOnce() async throws {
        try await withServer({ $0.setting("server.max_connections_per_address", .int(3)) }) { server in
            var peers: [RawPeer] = []
            defer { for p in peers { p.close() } }
            for _ in 0..<3 { peers.append(try RawPeer(port: server.port)) }
            // The fourth from the same address is accepted and closed before anything is read.
            let fourth = try RawPeer(port: server.port)
            #expect(try await offPool { fourth.waitForEOF(seconds: 5) })
            fourth.close()
            // The first three still work: a full client on a fourth slot after one closes.
            peers.removeFirst().close()
            // The server frees the slot when it sees the close (seconds, on a loaded machine).
            let deadline = ContinuousClock.now + .seconds(testWaitSeconds)
            while true {
                do {
                    let c = try await server.connect()
                    #expect(try await c.ping().serverTimeMs > 0)
                    await c.close()
                    break
                } catch ChatClientError.connectionClosed where ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
    }

    @Test func outOfFileDescriptorsAcceptBacksOffAndRecovers() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".conf") }
        let chatd = try ChatdProcess(dataDir: dir, openFileLimit: 64)
        defer { chatd.signal(SIGKILL) }
        let port = try await chatd.waitReady()
        let pid = chatd.process.pid

        // More connections than descriptors: the kernel completes them (backlog),
        // chatd cannot accept them all.
        var peers: [RawPeer] = []
        for _ in 0..<100 { peers.append(try RawPeer(port: port)) }
        try await Task.sleep(for: .milliseconds(500))
        let cpuBefore = try cpuSeconds(pid: pid)
        try await Task.sleep(for: .seconds(2))
        let cpu = try cpuSeconds(pid: pid) - cpuBefore
        // Without the backoff an event loop spun on accept4 -> EMFILE at 100%.
        #expect(cpu < 0.5, "chatd used \(cpu) s of CPU in 2 s while out of descriptors")

        for p in peers { p.close() }
        peers.removeAll()
        // Recovery: after the backoff, new connections are served.
        let deadline = ContinuousClock.now + .seconds(10)
        var served = false
        while !served && ContinuousClock.now < deadline {
            if let c = try? await ChatConnection.connect(host: "127.0.0.1", port: port, requestTimeout: .seconds(2)) {
                served = (try? await c.hello()) != nil
                await c.close()
            }
            if !served { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(served)
    }
}

/// User plus system CPU time of a process, from /proc/PID/stat.
func cpuSeconds(pid: Int32) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // Fields after the command name (which is in parentheses and may hold spaces).
    guard let close = stat.lastIndex(of: ")") else { throw ProcessTestError("bad /proc/\(pid)/stat") }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // utime and stime are fields 14 and 15 of stat; here 12 and 13 (0-based after the name).
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
        throw ProcessTestError("bad /proc/\(pid)/stat")
    }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
