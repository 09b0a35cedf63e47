import Foundation
import Testing

/// Every chatbench scenario at a tiny size, so the tool keeps working. The
/// performance targets are measured by tools/bench, not asserted here.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BenchSmokeTests {
    func run(_ args: [String], port: Int, pid: Int32) async throws -> [String: Any] {
        let r = try await runTool("chatbench", args + ["--server", "127.0.0.1:\(port)", "--pid", "\(pid)", "--json"], env: [:])
        #expect(r.status == 0, "\(args.first ?? ""): \(r.stderr)")
        return jsonObject(r.stdout)
    }

    @Test func everyScenarioRunsAtATinySize() async throws {
        let dir = TestServer.tempDir()
        defer { for path in [dir, dir + ".conf"] { try? FileManager.default.removeItem(atPath: path) } }
        let chatd = try ChatdProcess(dataDir: dir)
        let port = try await chatd.waitReady()
        let pid = chatd.process.pid

        // Flat out, but with one request in flight: the other suites run in parallel.
        let direct = try await run(["direct", "--pairs", "1", "--inflight", "1", "--warmup", "0.3", "--duration", "1"], port: port, pid: pid)
        #expect(((direct["rates"] as? [String: Any])?["acked_sends_per_s"] as? Double ?? 0) > 0)
        #expect(direct["errors"] as? Int == 0)
        #expect(((direct["latency"] as? [String: Any])?["ack"] as? [String: Any])?["p99Ms"] != nil)
        #expect(((direct["server"] as? [String: Any])?["cpu_seconds"] as? Double ?? -1) >= 0)

        let paced = try await run(["direct", "--pairs", "2", "--rate", "100", "--warmup", "0.3", "--duration", "1"], port: port, pid: pid)
        #expect((paced["counts"] as? [String: Any])?["acked_in_window"] as? Int ?? 0 > 50)

        let fanout = try await run(
            ["fanout", "--members", "5", "--senders", "1", "--rate", "50", "--warmup", "0.3", "--duration", "1"], port: port, pid: pid)
        #expect(((fanout["rates"] as? [String: Any])?["deliveries_per_s"] as? Double ?? 0) > 100)

        let connect = try await run(["connect", "--connections", "30", "--users", "3", "--sources", "1", "--hold", "0.2"], port: port, pid: pid)
        #expect((connect["counts"] as? [String: Any])?["connected"] as? Int == 30)

        let reconnect = try await run(["reconnect", "--clients", "5", "--missed", "7"], port: port, pid: pid)
        #expect((reconnect["counts"] as? [String: Any])?["clients_complete_and_exact"] as? Int == 5)

        let storm = try await run(
            ["login-storm", "--pairs", "2", "--rate", "50", "--login-rate", "20", "--duration", "1"], port: port, pid: pid)
        #expect(((storm["counts"] as? [String: Any])?["logins_ok"] as? Int ?? 0) > 0)

        let files = try await run(["files", "--uploaders", "2", "--files", "2", "--size", "300000"], port: port, pid: pid)
        #expect((files["counts"] as? [String: Any])?["bytes_downloaded"] as? Int == 1_200_000)
        #expect(files["errors"] as? Int == 0)
        let search = try await run(["search", "--messages", "200", "--queries", "30", "--clients", "2"], port: port, pid: pid)
        #expect(((search["latency"] as? [String: Any])?["search"] as? [String: Any])?["count"] as? Int == 30)
        #expect((search["counts"] as? [String: Any])?["hits_returned"] as? Int ?? 0 > 0)

        let hoard = try await run(
            ["hoard", "--connections", "4", "--users", "2", "--messages", "20", "--requests", "8", "--sources", "1", "--hold", "0.5"],
            port: port, pid: pid)
        #expect((hoard["counts"] as? [String: Any])?["hoarding"] as? Int == 4)
        #expect(((hoard["server"] as? [String: Any])?["rss_peak_mib"] as? Double ?? 0) > 0)

        chatd.signal(SIGTERM)
        #expect(await chatd.waitExit() == 0)
    }
}
