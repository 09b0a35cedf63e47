import ChatClient
import ChatProtocol
import Foundation
import Histogram
import NIOCore
import NIOPosix
import Synchronization

final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int = 1) { value.wrappingAdd(n, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

final class ListBox<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
}

/// A try-lock: claim() succeeds for one caller until release().
final class StopFlagAtomic: Sendable {
    private let value = Atomic<Bool>(false)
    func claim() -> Bool { value.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged }
    func release() { value.store(false, ordering: .releasing) }
}

final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

final class WindowBox: Sendable {
    let value = Mutex<Window?>(nil)
    var window: Window? { value.withLock { $0 } }
}

struct Bench {
    let target: Target
    let proc: ProcStats?
    /// At an offered rate, whether the senders' schedules coincide (`SendDriver.synchronized`).
    var synchronized = false
    let prefix = runPrefix()

    func serverCPU() -> Double? { proc?.cpuSeconds() }
    /// chatbench's own CPU seconds so far: what the generator took of the
    /// cores it shares with chatd.
    func generatorCPU() -> Double? { ProcStats(pids: [getpid()]).cpuSeconds() }

    func addServerStats(_ report: inout Report, cpuBefore: Double?, cpuAfter: Double?, deliveries: Int) {
        if let before = cpuBefore, let after = cpuAfter {
            report.server["cpu_seconds"] = after - before
            report.server["cpu_utilisation_cores"] = (after - before) / max(report.seconds, 0.001)
            if deliveries > 0 { report.server["cpu_us_per_delivery"] = (after - before) * 1e6 / Double(deliveries) }
        }
        if let rss = proc?.rssBytes() { report.server["rss_mib"] = Double(rss) / 1048576 }
    }

    // MARK: direct

    /// Pairs of users exchanging durable direct messages.
    func direct(pairs: Int, rate: Double, inflight: Int, warmup: Double, duration: Double, tag: String = "d") async throws -> Report {
        let users = try await target.makeUsers(pairs * 2, prefix: prefix + tag)
        var senders: [(BenchConnection, UInt64)] = []
        for p in 0..<pairs {
            let a = users[2 * p]
            let b = users[2 * p + 1]
            var open = Chatd_V1_OpenDirectRequest()
            open.userID = b.id
            let conversation = try Chatd_V1_ConversationResponse(payload: try await a.connection.call(.openDirect, open).payload)
                .conversation.id
            senders.append((a.connection, conversation))
            senders.append((b.connection, conversation))
        }
        let (begin, window) = SendDriver.plan(warmup: warmup, duration: duration)
        let driver = SendDriver(senders: senders, rate: rate, window: inflight, warmup: warmup, duration: duration,
            synchronized: synchronized)
        let prefix = self.prefix
        let running = Task { try await driver.run(prefix: prefix, begin: begin, window: window) }
        let cpu0 = await waitUntil(window.start).flatMap { _ in serverCPU() }
        let cpu1 = await waitUntil(window.end).flatMap { _ in serverCPU() }
        let result = try await running.value
        var report = Report(scenario: "direct")
        report.parameters = [
            "pairs": "\(pairs)", "rate": rate > 0 ? "\(Int(rate))/s" : "flat out (\(inflight) in flight per sender)",
        ]
        report.seconds = window.seconds
        report.rates["acked_sends_per_s"] = Double(result.acked) / window.seconds
        report.counts["sent"] = result.sent
        report.counts["acked_in_window"] = result.acked
        report.latency["ack"] = LatencySummary(result.histogram)
        report.errors = result.errors
        addServerStats(&report, cpuBefore: cpu0, cpuAfter: cpu1, deliveries: result.acked)
        for u in users { u.connection.close() }
        return report
    }

    // MARK: fanout

    /// One room of `members`; `senders` of them send at a total `rate`.
    func fanout(members: Int, senders: Int, rate: Double, inflight: Int, warmup: Double, duration: Double, measured: Int) async throws
        -> Report
    {
        let users = try await target.makeUsers(members, prefix: prefix + "f")
        guard let owner = users.first else { throw BenchError("no users") }
        var create = Chatd_V1_CreateRoomRequest()
        create.name = prefix + "fanout-\(members)"
        let room = try Chatd_V1_ConversationResponse(payload: try await owner.connection.call(.createRoom, create).payload).conversation
        try await withThrowingTaskGroup(of: Void.self) { group in
            for u in users.dropFirst() {
                group.addTask {
                    var join = Chatd_V1_JoinRoomRequest()
                    join.roomID = room.id
                    _ = try await u.connection.call(.joinRoom, join)
                }
            }
            try await group.waitForAll()
        }
        let box = WindowBox()
        var receivers: [NIOLoopBound<ReceiverState>] = []
        for (i, u) in users.enumerated() {
            receivers.append(try await attachReceiver(u.connection, measure: i % max(1, members / measured) == 0) { box.window })
        }
        let (begin, window) = SendDriver.plan(warmup: warmup, duration: duration)
        box.value.withLock { $0 = window }
        let sending = users.prefix(max(1, senders)).map { ($0.connection, room.id) }
        let driver = SendDriver(senders: Array(sending), rate: rate, window: inflight, warmup: warmup, duration: duration,
            synchronized: synchronized)
        let prefix = self.prefix
        let running = Task { try await driver.run(prefix: prefix, begin: begin, window: window) }
        let cpu0 = await waitUntil(window.start).flatMap { _ in serverCPU() }
        let cpu1Wait = await waitUntil(window.end).flatMap { _ in serverCPU() }
        let result = try await running.value
        let cpu1 = cpu1Wait
        try await Task.sleep(for: .milliseconds(500))
        var deliveries = 0
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for r in receivers {
            let (n, h) = try await r.eventLoop.submit { (r.value.deliveries, r.value.histogram) }.get()
            deliveries += n
            histogram.add(h)
        }
        var report = Report(scenario: "fanout")
        report.parameters = [
            "members": "\(members)", "senders": "\(sending.count)", "rate": rate > 0 ? "\(Int(rate)) msgs/s" : "flat out",
        ]
        report.seconds = window.seconds
        report.rates["messages_acked_per_s"] = Double(result.acked) / window.seconds
        report.rates["deliveries_per_s"] = Double(deliveries) / window.seconds
        report.counts["deliveries"] = deliveries
        report.latency["delivery"] = LatencySummary(histogram)
        report.latency["ack"] = LatencySummary(result.histogram)
        report.errors = result.errors
        if let cpu0, let cpu1 {
            report.server["cpu_seconds"] = cpu1 - cpu0
            report.server["cpu_utilisation_cores"] = (cpu1 - cpu0) / window.seconds
            if deliveries > 0 { report.server["cpu_us_per_delivery"] = (cpu1 - cpu0) * 1e6 / Double(deliveries) }
        }
        if let rss = proc?.rssBytes() { report.server["rss_mib"] = Double(rss) / 1048576 }
        for u in users { u.connection.close() }
        return report
    }

    // MARK: connect

    /// Opens `count` authenticated connections (token resume) and holds them.
    func connect(count: Int, users userCount: Int, sources: Int, hold: Double, concurrency: Int) async throws -> Report {
        let users = try await target.makeUsers(max(1, userCount), prefix: prefix + "c")
        for u in users { u.connection.close() }
        try await Task.sleep(for: .milliseconds(300))
        let rss0 = proc?.rssBytes()
        let opened = ListBox<BenchConnection>()
        let failures = Counter()
        let cpu0 = serverCPU(), ownCPU0 = generatorCPU()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let i = next
                next += 1
                let user = users[i % users.count]
                // Spread across 127.0.0.1...127.0.0.<sources> to pass the ephemeral-port limit.
                let source = sources > 1 ? "127.0.0.\(1 + (i % sources))" : nil
                group.addTask {
                    do {
                        let c = try await target.connect(source: source)
                        var resume = Chatd_V1_ResumeRequest()
                        resume.token = user.token
                        _ = try await c.call(.resume, resume)
                        opened.append(c)
                    } catch {
                        failures.add()
                    }
                }
            }
            for _ in 0..<min(concurrency, count) { add() }
            while try await group.next() != nil { if next < count { add() } }
        }
        let elapsed = ContinuousClock.now - start
        let cpu1 = serverCPU(), ownCPU1 = generatorCPU()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let n = opened.all.count
        // Hold them idle (the server's idle timeout is far longer than this).
        try await Task.sleep(for: .milliseconds(Int(hold * 1000)))
        let rss1 = proc?.rssBytes()
        var report = Report(scenario: "connect")
        report.parameters = ["connections": "\(count)", "users": "\(users.count)", "sources": "\(sources)", "hold_s": "\(hold)"]
        report.seconds = seconds
        report.rates["connections_per_s"] = Double(n) / seconds
        report.counts["connected"] = n
        report.errors = failures.count
        if let rss0, let rss1 {
            report.server["rss_before_mib"] = Double(rss0) / 1048576
            report.server["rss_after_mib"] = Double(rss1) / 1048576
            if n > 0 { report.server["rss_bytes_per_connection"] = Double(rss1 - rss0) / Double(n) }
        }
        // Connect, Hello and Resume: the server's CPU per connection.
        if let cpu0, let cpu1, n > 0 { report.server["cpu_us_per_connection"] = (cpu1 - cpu0) * 1e6 / Double(n) }
        if let ownCPU0, let ownCPU1, n > 0 { report.rates["generator_cpu_us_per_connection"] = (ownCPU1 - ownCPU0) * 1e6 / Double(n) }
        for c in opened.all { c.close() }
        return report
    }

    // MARK: login storm

    /// Direct traffic at `rate`, first alone, then with password logins
    /// offered at `loginRate` (meant to exceed the hashing pool's capacity).
    func loginStorm(pairs: Int, rate: Double, loginRate: Double, duration: Double) async throws -> Report {
        let stormUser = try await target.makeUsers(1, prefix: prefix + "s", password: "storm-password")
        stormUser.first?.connection.close()
        // The same traffic first, unmeasured: the first seconds on a fresh data
        // directory grow its files (the WAL up to its first checkpoint), and
        // a baseline taken then had a p99 several times the storm's.
        _ = try await direct(pairs: pairs, rate: rate, inflight: 1, warmup: 1, duration: min(duration, 5), tag: "warm")
        let baseline = try await direct(pairs: pairs, rate: rate, inflight: 1, warmup: 1, duration: duration, tag: "base")
        let stormClients = try await withThrowingTaskGroup(of: BenchConnection.self) { group in
            for _ in 0..<64 { group.addTask { try await target.connect() } }
            var out: [BenchConnection] = []
            for try await c in group { out.append(c) }
            return out
        }
        let ok = Counter()
        let limited = Counter()
        let other = Counter()
        let offered = Counter()
        let stop = StopFlag()
        let username = stormUser.first?.username ?? ""
        // A connection takes one login at a time (log in, log out, ready again).
        let idle = ListBox<Int>()
        for i in stormClients.indices { idle.append(i) }
        let busy = (0..<stormClients.count).map { _ in StopFlagAtomic() }
        let skipped = Counter()
        let storm = Task {
            let start = nowNanos()
            var sent = 0
            while !stop.isSet {
                let due = Int(Double(nowNanos() - start) * loginRate / 1e9)
                while sent < due {
                    sent += 1
                    guard let i = busy.indices.first(where: { busy[$0].claim() }) else {
                        skipped.add()  // every connection is busy: offered but not sent
                        continue
                    }
                    let c = stormClients[i]
                    offered.add()
                    var login = Chatd_V1_LoginRequest()
                    login.username = username
                    login.password = "storm-password"
                    login.device.deviceID = "storm-\(i)"
                    c.request(.login, login) { frame in
                        if frame.kind == .response {
                            ok.add()
                            c.request(.logout, Chatd_V1_LogoutRequest()) { _ in busy[i].release() }
                            return
                        } else if let e = try? Chatd_V1_ErrorResponse(payload: frame.payload), e.code == ErrorCode.rateLimited.rawValue {
                            limited.add()
                        } else {
                            other.add()
                        }
                        busy[i].release()
                    }
                }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        let during = try await direct(pairs: pairs, rate: rate, inflight: 1, warmup: 1, duration: duration, tag: "storm")
        stop.set()
        _ = await storm.value
        try await Task.sleep(for: .milliseconds(500))
        var report = Report(scenario: "login-storm")
        report.parameters = ["pairs": "\(pairs)", "chat_rate": "\(Int(rate))/s", "login_rate_offered": "\(Int(loginRate))/s"]
        report.seconds = during.seconds
        let total = Double(duration + 1)
        report.rates["logins_ok_per_s"] = Double(ok.count) / total
        report.rates["logins_rejected_with_retry_per_s"] = Double(limited.count) / total
        report.counts["logins_offered"] = offered.count
        report.counts["logins_ok"] = ok.count
        report.counts["logins_rate_limited"] = limited.count
        report.counts["logins_other_errors"] = other.count
        report.counts["logins_not_sent_all_connections_busy"] = skipped.count
        report.latency["chat_ack_alone"] = baseline.latency["ack"]
        report.latency["chat_ack_during_storm"] = during.latency["ack"]
        if let a = baseline.latency["ack"], let b = during.latency["ack"] {
            report.rates["chat_p99_shift_ms"] = b.p99Ms - a.p99Ms
        }
        report.errors = baseline.errors + during.errors
        for c in stormClients { c.close() }
        return report
    }

    // MARK: reconnect

    /// `clients` members of a room drop; `missed` messages are sent; they all
    /// resume with their tokens and catch up with Sync + History.
    func reconnect(clients: Int, missed: Int, bursts: Int = 1) async throws -> Report {
        func secs(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        let users = try await target.makeUsers(clients + 1, prefix: prefix + "r")
        let sender = users[0]
        var create = Chatd_V1_CreateRoomRequest()
        create.name = prefix + "reconnect"
        let room = try Chatd_V1_ConversationResponse(payload: try await sender.connection.call(.createRoom, create).payload).conversation
        for u in users.dropFirst() {
            var join = Chatd_V1_JoinRoomRequest()
            join.roomID = room.id
            _ = try await u.connection.call(.joinRoom, join)
        }
        let head = try Chatd_V1_HistoryResponse(payload: try await sender.connection.call(.history, { var h = Chatd_V1_HistoryRequest(); h.conversationID = room.id; h.limit = 1; return h }()).payload).headSeq
        for u in users.dropFirst() { u.connection.close() }
        for i in 0..<missed {
            var send = Chatd_V1_SendMessageRequest()
            send.conversationID = room.id
            send.clientMsgID = prefix + "missed-\(i)"
            send.text = "missed \(i)"
            _ = try await sender.connection.call(.sendMessage, send)
        }
        // Resume everyone at once; with `bursts` > 1, all drop again and
        // resume again, and the rates cover every burst (one 0.2 s burst is
        // a single sample of a noisy machine). Only the last burst's
        // connections catch up: the events they missed are the same.
        var resumed = Duration.zero
        // CPU seconds over the bursts (nil: not measurable, e.g. a remote chatd).
        var serverSeconds: Double? = 0, ownSeconds: Double? = 0
        var burstRates: [Double] = []
        var connections: [ChatConnection] = []
        for burst in 0..<max(1, bursts) {
            if burst > 0 {
                for c in connections { await c.close() }
                connections = []
                // chatd ends the sessions before the next burst starts.
                try await Task.sleep(for: .milliseconds(300))
            }
            let cpu0 = serverCPU(), ownCPU0 = generatorCPU()
            let start = ContinuousClock.now
            connections = try await withThrowingTaskGroup(of: ChatConnection.self) { group in
                for u in users.dropFirst() {
                    group.addTask {
                        // As a reconnecting client does: Hello and Resume in one write.
                        let c = try await target.client()
                        _ = try await c.helloAndResume(token: u.token, clientName: "chatbench")
                        return c
                    }
                }
                var out: [ChatConnection] = []
                for try await c in group { out.append(c) }
                return out
            }
            let took = ContinuousClock.now - start
            resumed += took
            burstRates.append(Double(connections.count) / secs(took))
            if let cpu0, let cpu1 = serverCPU() { serverSeconds? += cpu1 - cpu0 } else { serverSeconds = nil }
            if let ownCPU0, let ownCPU1 = generatorCPU() { ownSeconds? += ownCPU1 - ownCPU0 } else { ownSeconds = nil }
        }
        let resumes = Double(connections.count * max(1, bursts))
        // Each catches up from where it was and must see exactly the missed events.
        let complete = Counter()
        let catchUpStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in connections {
                group.addTask {
                    let got = ListBox<UInt64>()
                    let sync = ConversationSync(connection: c, lastSeq: [room.id: head]) { e, _ in
                        if e.conversationID == room.id { got.append(e.seq) }
                    }
                    try await sync.catchUp()
                    if got.all == Array((head + 1)...(head + UInt64(missed))) { complete.add() }
                }
            }
            try await group.waitForAll()
        }
        let caughtUp = ContinuousClock.now - catchUpStart
        var report = Report(scenario: "reconnect")
        report.parameters = ["clients": "\(clients)", "missed_events": "\(missed)", "bursts": "\(max(1, bursts))"]
        report.seconds = secs(resumed)
        report.rates["resumes_per_s"] = resumes / secs(resumed)
        if burstRates.count > 1 {
            let sorted = burstRates.sorted()
            report.rates["resumes_per_s_burst_median"] = sorted[sorted.count / 2]
            report.rates["resumes_per_s_burst_min"] = sorted[0]
            report.rates["resumes_per_s_burst_max"] = sorted[sorted.count - 1]
        }
        // The server's share: the generator's clients run on the same cores.
        if resumes > 0, let serverSeconds {
            report.server["cpu_us_per_resume"] = serverSeconds * 1e6 / resumes
        }
        if resumes > 0, let ownSeconds {
            report.rates["generator_cpu_us_per_resume"] = ownSeconds * 1e6 / resumes
        }
        report.rates["catch_up_seconds"] = secs(caughtUp)
        report.counts["clients_complete_and_exact"] = complete.count
        report.counts["clients"] = clients
        if complete.count != clients { report.notes.append("some clients missed or duplicated events") }
        report.errors = clients - complete.count
        for c in connections { await c.close() }
        sender.connection.close()
        return report
    }

    // MARK: helpers

    /// Sleeps until a monotonic time; returns it.
    func waitUntil(_ t: UInt64) async -> UInt64? {
        let now = nowNanos()
        if t > now { try? await Task.sleep(for: .nanoseconds(Int(t - now))) }
        return t
    }
}
