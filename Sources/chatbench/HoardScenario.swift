import ChatProtocol
import Foundation
import NIOCore

extension Bench {
    /// Peers that never read: `connections` authenticated connections, each
    /// with a tiny receive buffer and reading turned off, pipeline `requests`
    /// History pages (limit 200) of a room of large messages. Reports the
    /// server's RSS before and at its peak while they hoard, and how many
    /// the server closed (slow consumers) within `hold` seconds.
    func hoard(
        connections count: Int, users userCount: Int, messages: Int, messageBytes: Int, requests: Int, sources: Int,
        hold: Double
    ) async throws -> Report {
        let users = try await target.makeUsers(max(1, userCount), prefix: prefix + "h")
        guard let owner = users.first else { throw BenchError("no users") }
        var create = Chatd_V1_CreateRoomRequest()
        create.name = prefix + "hoard"
        let room = try Chatd_V1_ConversationResponse(payload: try await owner.connection.call(.createRoom, create).payload).conversation
        for u in users.dropFirst() {
            var join = Chatd_V1_JoinRoomRequest()
            join.roomID = room.id
            _ = try await u.connection.call(.joinRoom, join)
        }
        let text = String(repeating: "h", count: messageBytes)
        for i in 0..<messages {
            var send = Chatd_V1_SendMessageRequest()
            send.conversationID = room.id
            send.clientMsgID = prefix + "hoard-\(i)"
            send.text = text
            _ = try await owner.connection.call(.sendMessage, send)
        }
        for u in users { u.connection.close() }
        try await Task.sleep(for: .milliseconds(500))
        let rss0 = proc?.rssBytes()

        var page = Chatd_V1_HistoryRequest()
        page.conversationID = room.id
        page.limit = 200
        let history = page
        let target = self.target
        let closed = Counter()
        let opened = ListBox<BenchConnection>()
        let failures = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let i = next
                next += 1
                let user = users[i % users.count]
                let source = sources > 1 ? "127.0.0.\(1 + (i % sources))" : nil
                group.addTask {
                    do {
                        let c = try await target.connect(source: source, receiveBuffer: 4096)
                        var resume = Chatd_V1_ResumeRequest()
                        resume.token = user.token
                        _ = try await c.call(.resume, resume)
                        c.channel.closeFuture.whenComplete { _ in closed.add() }
                        try await c.channel.setOption(.autoRead, value: false).get()
                        for _ in 0..<requests { c.request(.history, history) { _ in } }
                        opened.append(c)
                    } catch {
                        failures.add()
                    }
                }
            }
            for _ in 0..<min(256, count) { add() }
            while try await group.next() != nil { if next < count { add() } }
        }
        // Watch the server's memory while the peers hoard.
        var peak = rss0 ?? 0
        let deadline = ContinuousClock.now + .milliseconds(Int(hold * 1000))
        while ContinuousClock.now < deadline {
            if let rss = proc?.rssBytes() { peak = max(peak, rss) }
            try await Task.sleep(for: .milliseconds(100))
        }
        var report = Report(scenario: "hoard")
        report.parameters = [
            "connections": "\(count)", "users": "\(users.count)", "messages": "\(messages)",
            "message_bytes": "\(messageBytes)", "requests_per_connection": "\(requests)", "hold_s": "\(hold)",
        ]
        report.seconds = hold
        report.counts["hoarding"] = opened.all.count
        report.counts["closed_by_server"] = closed.count
        report.errors = failures.count
        if let rss0 {
            report.server["rss_before_mib"] = Double(rss0) / 1048576
            report.server["rss_peak_mib"] = Double(peak) / 1048576
            if count > 0 { report.server["rss_peak_bytes_per_connection"] = Double(peak - rss0) / Double(count) }
        }
        for c in opened.all { c.close() }
        return report
    }
}
