import ChatBuildInfo
import ChatClient
import ChatConfig
import ChatProtocol
@testable import ChatServer
import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One GET over a fresh TCP connection (the endpoint closes after each
/// response); returns (status, body). Blocking: run it with `offPool`.
func httpGet(port: Int, path: String, method: String = "GET") throws -> (Int, String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ProcessTestError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw ProcessTestError("connect failed") }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response += buffer[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let headerEnd = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "")
    else { throw ProcessTestError("not an HTTP response: \(text)") }
    return (status, String(text[headerEnd.upperBound...]))
}

/// The Prometheus text exposition format, parsed strictly enough to catch a
/// malformed page: every sample belongs to a family declared by # TYPE
/// before it, values are numbers, histogram buckets are cumulative and end
/// with +Inf = _count.
struct Exposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var types: [String: String] = [:]
    var samples: [Sample] = []

    init(_ text: String) throws {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw ProcessTestError("bad TYPE line: \(line)")
                }
                types[String(parts[2])] = String(parts[3])
            } else if line.hasPrefix("#") {
                continue
            } else {
                samples.append(try Self.sample(String(line)))
            }
        }
        for s in samples {
            guard types[family(s.name)] != nil else { throw ProcessTestError("\(s.name) has no # TYPE before it") }
        }
    }

    func family(_ name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return name
    }

    static func sample(_ line: String) throws -> Sample {
        var name = ""
        var labels: [String: String] = [:]
        var rest = Substring(line)
        if let brace = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
            name = String(line[..<brace])
            for pair in line[line.index(after: brace)..<close].split(separator: ",") where !pair.isEmpty {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[1].hasPrefix("\""), kv[1].hasSuffix("\"") else {
                    throw ProcessTestError("bad label in \(line)")
                }
                labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
            }
            rest = line[line.index(after: close)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { throw ProcessTestError("bad sample: \(line)") }
            name = String(line[..<space])
            rest = line[space...]
        }
        let valueText = rest.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
        guard let value = Double(valueText == "+Inf" ? "inf" : valueText) else { throw ProcessTestError("bad value in \(line)") }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else {
            throw ProcessTestError("bad metric name in \(line)")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in sample.name == name && labels.allSatisfy { k, v in sample.labels[k] == v } }?.value
    }

    /// Checks a histogram's buckets; returns its count.
    func histogramCount(_ name: String) throws -> Double {
        guard types[name] == "histogram" else { throw ProcessTestError("\(name) is not a histogram") }
        let buckets = samples.filter { $0.name == name + "_bucket" }
        var previous = 0.0
        for b in buckets {
            guard b.labels["le"] != nil, b.value >= previous else { throw ProcessTestError("\(name) buckets not cumulative") }
            previous = b.value
        }
        guard buckets.last?.labels["le"] == "+Inf", let count = value(name + "_count"), count == previous,
            value(name + "_sum") != nil
        else { throw ProcessTestError("\(name): +Inf bucket, _count or _sum missing or inconsistent") }
        return count
    }
}

struct MetricsRouteTests {
    @Test func routes() {
        #expect(MetricsRoute.decide(method: .GET, uri: "/metrics") == .metrics)
        #expect(MetricsRoute.decide(method: .HEAD, uri: "/health?x=1") == .health)
        #expect(MetricsRoute.decide(method: .POST, uri: "/metrics") == .methodNotAllowed)
        #expect(MetricsRoute.decide(method: .GET, uri: "/") == .notFound)
        #expect(MetricsRoute.decide(method: .DELETE, uri: "/nope") == .notFound)
    }

    @Test func parserRejectsMalformedPages() {
        #expect(throws: ProcessTestError.self) { try Exposition("a_total 1\n") }
        #expect(throws: ProcessTestError.self) { try Exposition("# TYPE a counter\na x\n") }
        #expect(throws: ProcessTestError.self) { try Exposition("# TYPE a blob\n") }
        #expect(throws: ProcessTestError.self) {
            try Exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n").histogramCount("h")
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(2)))
struct MetricsEndpointTests {
    @Test func prometheusTextAndHealth() async throws {
        let server = try await TestServer.start { $0.setting("metrics.listen", .string("127.0.0.1:0")) }
        defer { Task { await server.stop() } }
        let port = try #require(server.daemon.metricsListener?.localPort)

        let alice = try await server.connect()
        _ = try await alice.register(username: "alice", password: "password1")
        let bob = try await server.connect()
        _ = try await bob.register(username: "bob", password: "password1")
        let room = try await alice.createRoom(name: "m")
        _ = try await bob.joinRoom(room.id)
        for i in 0..<5 { _ = try await alice.send(room: room.id, text: "m\(i)") }
        let other = try await server.connect()
        await expectError(.invalidCredentials) { try await other.login(username: "alice", password: "wrong-password") }
        try await alice.typing(room.id, true)

        let (status, body) = try await offPool { try httpGet(port: port, path: "/metrics") }
        #expect(status == 200)
        let page = try Exposition(body)
        #expect(page.types["chatd_requests_total"] == "counter")
        #expect(page.types["chatd_connections"] == "gauge")
        #expect(page.value("chatd_connections") == 3)
        #expect(page.value("chatd_authenticated_connections") == 2)
        #expect(page.value("chatd_requests_total", ["op": "send_message", "result": "ok"]) == 5)
        #expect(page.value("chatd_requests_total", ["op": "login", "result": "invalid_credentials"]) == 1)
        // Answered on the event loop, counted all the same.
        #expect(page.value("chatd_requests_total", ["op": "hello", "result": "ok"]) == 3)
        #expect(page.value("chatd_requests_total", ["op": "typing", "result": "ok"]) == 1)
        #expect(page.value("chatd_logins_total", ["method": "password", "result": "failed"]) == 1)
        #expect(page.value("chatd_messages_stored_total") == 5)
        #expect((page.value("chatd_pushes_sent_total") ?? 0) >= 5, "bob got the messages")
        #expect(page.value("chatd_slow_consumers_dropped_total") == 0)
        #expect(page.value("chatd_argon2_queue_depth") == 0)
        #expect(page.value("chatd_build_info", ["version": BuildInfo.version, "commit": BuildInfo.commit]) == 1)
        // The database's own file, when it is on this machine (SQLite).
        if TestBackend.current == .sqlite {
            #expect((page.value("chatd_database_bytes") ?? 0) > 0)
            #expect((page.value("chatd_search_index_bytes") ?? 0) > 0, "the search file beside it")
        } else {
            #expect(page.value("chatd_search_index_bytes") == 0, "PostgreSQL's index is in its database")
        }
        #expect(page.value("chatd_search_index_current") == 1)
        #expect((page.value("process_resident_memory_bytes") ?? 0) > 1_000_000)
        #expect((page.value("process_open_fds") ?? 0) > 3 && (page.value("process_max_fds") ?? 0) >= (page.value("process_open_fds") ?? 0))
        #expect((page.value("process_cpu_seconds_total") ?? 0) > 0)
        let started = page.value("process_start_time_seconds") ?? 0
        #expect(abs(started - Date().timeIntervalSince1970) < 86_400, "\(started)")
        #expect(page.value("chatd_write_queue_depth") != nil)
        #expect(try page.histogramCount("chatd_write_batch_size") >= 1)
        #expect(try page.histogramCount("chatd_commit_duration_seconds") >= 1)
        // Per-op durations of the requests that went to the services.
        #expect(page.types["chatd_request_duration_seconds"] == "histogram")
        #expect(page.value("chatd_request_duration_seconds_count", ["op": "send_message"]) == 5)
        #expect(page.value("chatd_request_duration_seconds_bucket", ["op": "send_message", "le": "+Inf"]) == 5)
        #expect(page.value("chatd_file_store_bytes") != nil)
        // Every metric says what it is.
        let lines = body.split(separator: "\n")
        let typed = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(typed.count > 25 && typed.subtracting(helped).isEmpty, "no HELP: \(typed.subtracting(helped).sorted())")

        let health = try await offPool { try httpGet(port: port, path: "/health") }
        #expect(health.0 == 200 && health.1 == "ok\n")
        #expect(try await offPool { try httpGet(port: port, path: "/nope") }.0 == 404)
        #expect(try await offPool { try httpGet(port: port, path: "/metrics", method: "POST") }.0 == 405)
    }

    @Test func offByDefault() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        #expect(server.daemon.metricsListener == nil)
    }
}
