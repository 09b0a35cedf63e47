import ChatProtocol
import Foundation
import Histogram
import Synchronization

extension Bench {
    /// One abusive user against one ordinary user (issue 10's fairness).
    /// The ordinary user reads a History page and sends a message, one
    /// request at a time, `rate` times a second; first alone, then while the
    /// abuser, a member of `rooms` rooms, keeps `inflight` requests in flight
    /// on each of `connections` connections: Sync with every conversation,
    /// History pages of 200 large messages, a search over all its rooms, and
    /// sends. Reports the ordinary user's p50/p99 in both phases, and what
    /// the abuser got done.
    func fairness(
        rooms roomCount: Int, connections: Int, inflight: Int, rate: Double, warmup: Double, duration: Double
    ) async throws -> Report {
        let prefix = self.prefix
        // Room creation is throttled per user (limits.conversations_created_per_user, 30 an hour by default).
        let creators = (roomCount + 24) / 25
        let users = try await target.makeUsers(2 + creators, prefix: prefix + "f")
        guard users.count == 2 + creators else { throw BenchError("registration failed") }
        let (victim, abuser) = (users[0], users[1])

        func room(_ owner: BenchUser, _ name: String) async throws -> UInt64 {
            var create = Chatd_V1_CreateRoomRequest()
            create.name = name
            return try Chatd_V1_ConversationResponse(payload: try await owner.connection.call(.createRoom, create).payload).conversation.id
        }
        func send(_ user: BenchUser, _ room: UInt64, _ text: String, _ id: String) async throws {
            var send = Chatd_V1_SendMessageRequest()
            send.conversationID = room
            send.clientMsgID = id
            send.text = text
            _ = try await user.connection.call(.sendMessage, send)
        }
        let victimRoom = try await room(victim, prefix + "fair-victim")
        for i in 0..<200 { try await send(victim, victimRoom, "ordinary message \(i)", prefix + "v\(i)") }
        var abuserRooms: [UInt64] = []
        for i in 0..<roomCount {
            let id = try await room(users[2 + i / 25], prefix + "fair-\(i)")
            var join = Chatd_V1_JoinRoomRequest()
            join.roomID = id
            _ = try await abuser.connection.call(.joinRoom, join)
            try await send(abuser, id, "abuse \(i)", prefix + "a\(i)")
            abuserRooms.append(id)
        }
        guard let bigRoom = abuserRooms.first else { throw BenchError("--rooms must be at least 1") }
        let big = String(repeating: "abuse ", count: 300)
        for i in 0..<200 { try await send(abuser, bigRoom, big, prefix + "b\(i)") }
        for u in users.dropFirst(2) { u.connection.close() }

        // The ordinary user's requests, one at a time, paced.
        func measure(seconds: Double) async throws -> (history: Histogram<UInt64>, send: Histogram<UInt64>) {
            var history = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            var sends = history
            var page = Chatd_V1_HistoryRequest()
            page.conversationID = victimRoom
            page.limit = 50
            let interval = UInt64(1e9 / max(1, rate))
            let end = nowNanos() + UInt64(seconds * 1e9)
            var next = nowNanos()
            var n = 0
            while nowNanos() < end {
                let t0 = nowNanos()
                _ = try await victim.connection.call(.history, page)
                let t1 = nowNanos()
                history.record(t1 - t0)
                var send = Chatd_V1_SendMessageRequest()
                send.conversationID = victimRoom
                send.clientMsgID = prefix + "m\(duration)-\(n)-\(t1)"
                send.text = "still here \(n)"
                _ = try await victim.connection.call(.sendMessage, send)
                sends.record(nowNanos() - t1)
                n += 1
                next += interval
                let now = nowNanos()
                if next > now { try await Task.sleep(for: .nanoseconds(Int(next - now))) } else { next = now }
            }
            return (history, sends)
        }

        _ = try await measure(seconds: warmup)
        let alone = try await measure(seconds: duration)

        // The abuser: every connection keeps `inflight` expensive requests in flight.
        let stop = Atomic<Bool>(false)
        let answered = Counter()
        let refused = Counter()
        let sent = Atomic<Int>(0)
        let sync = Chatd_V1_SyncRequest.with { $0.limit = 1000 }
        let pages = Chatd_V1_HistoryRequest.with {
            $0.conversationID = bigRoom
            $0.limit = 200
        }
        let search = Chatd_V1_SearchMessagesRequest.with {
            $0.query = "abuse"
            $0.limit = 100
        }
        var abusers: [BenchConnection] = []
        for _ in 0..<max(1, connections) {
            let c = try await target.connect()
            var resume = Chatd_V1_ResumeRequest()
            resume.token = abuser.token
            _ = try await c.call(.resume, resume)
            abusers.append(c)
        }
        @Sendable func fire(_ c: BenchConnection, _ i: Int) {
            guard !stop.load(ordering: .relaxed) else { return }
            let done: @Sendable (Frame) -> Void = { frame in
                if frame.kind == .error { refused.add() } else { answered.add() }
                fire(c, i + 1)
            }
            switch i % 4 {
            case 0: c.request(.sync, sync, onResponse: done)
            case 1: c.request(.history, pages, onResponse: done)
            case 2: c.request(.searchMessages, search, onResponse: done)
            default:
                var send = Chatd_V1_SendMessageRequest()
                send.conversationID = bigRoom
                send.clientMsgID = prefix + "x\(sent.wrappingAdd(1, ordering: .relaxed).newValue)"
                send.text = "abuse"
                c.request(.sendMessage, send, onResponse: done)
            }
        }
        for c in abusers { for i in 0..<max(1, inflight) { fire(c, i) } }
        _ = try await measure(seconds: warmup)
        let (answered0, refused0, cpu0) = (answered.count, refused.count, serverCPU())
        let abused = try await measure(seconds: duration)
        let (answered1, refused1, cpu1) = (answered.count, refused.count, serverCPU())
        stop.store(true, ordering: .relaxed)
        for c in abusers { c.close() }

        var report = Report(scenario: "fairness")
        report.parameters = [
            "abuser_rooms": "\(roomCount)", "abuser_connections": "\(connections)", "abuser_inflight": "\(inflight)",
            "ordinary_rate": "\(rate)",
        ]
        report.seconds = duration
        report.latency["alone history"] = LatencySummary(alone.history)
        report.latency["alone send"] = LatencySummary(alone.send)
        report.latency["abused history"] = LatencySummary(abused.history)
        report.latency["abused send"] = LatencySummary(abused.send)
        report.rates["abuser_answered_per_s"] = Double(answered1 - answered0) / duration
        report.rates["abuser_refused_per_s"] = Double(refused1 - refused0) / duration
        report.server["history_p99_shift_ms"] = LatencySummary(abused.history).p99Ms - LatencySummary(alone.history).p99Ms
        report.server["send_p99_shift_ms"] = LatencySummary(abused.send).p99Ms - LatencySummary(alone.send).p99Ms
        if let cpu0, let cpu1 { report.server["cpu_busy_cores_abused"] = (cpu1 - cpu0) / duration }
        return report
    }
}
