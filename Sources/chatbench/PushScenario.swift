import ArgumentParser
import ChatProtocol
import Foundation
import Histogram
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Which push targets the offline members of the push room register.
enum PushTargetMix: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Even offline members a UnifiedPush endpoint, odd ones a gateway pushkey.
    case mixed
    case unified
    case gateway
}

extension Bench {
    /// Issue 17's push benchmark: two rooms of `members`, each with
    /// `offline` members who logged in once and left, and the others
    /// connected. In the "on" room the offline members registered push
    /// targets pointing at `sink` (UnifiedPush endpoints on it, or pushkeys
    /// through chatd's gateway_url, which must point at it); in the "off"
    /// room they did not. The same fan-out (senders among the connected
    /// members, flat out or at `rate`) runs in the off room, then the on
    /// room, `rounds` times. After each phase it waits until the sink has
    /// been quiet for `quiet` seconds, so one phase's notifications do not
    /// spill into the next (a note waiting for its member's interval is
    /// sent up to 1.25 intervals after the member's previous one).
    func push(
        members: Int, offline: Int, senders: Int, rate: Double, inflight: Int, measured: Int, warmup: Double, duration: Double,
        rounds: Int, quiet: Double, targets mix: PushTargetMix, sink: PushSink, sinkPort: Int
    ) async throws -> Report {
        guard offline < members else { throw BenchError("--offline must be less than --members") }
        let online = members - offline
        guard senders <= online else { throw BenchError("--senders must be at most members - offline") }
        let self_ = ProcStats(pids: [getpid()])

        struct PushRoom {
            let name: String
            let id: UInt64
            let online: [BenchUser]
            let targets: Int
        }

        func setUp(_ tag: String, withTargets: Bool) async throws -> PushRoom {
            let users = try await target.makeUsers(members, prefix: prefix + tag)
            guard users.count == members, let owner = users.first else { throw BenchError("registration failed") }
            var create = Chatd_V1_CreateRoomRequest()
            create.name = prefix + "push-\(tag)-\(members)"
            let room = try Chatd_V1_ConversationResponse(payload: try await owner.connection.call(.createRoom, create).payload)
                .conversation.id
            try await withThrowingTaskGroup(of: Void.self) { group in
                for u in users.dropFirst() {
                    group.addTask {
                        var join = Chatd_V1_JoinRoomRequest()
                        join.roomID = room
                        _ = try await u.connection.call(.joinRoom, join)
                    }
                }
                try await group.waitForAll()
            }
            let away = Array(users.suffix(offline))
            if withTargets {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, u) in away.enumerated() {
                        group.addTask {
                            var r = Chatd_V1_SetPushTargetRequest()
                            if mix == .unified || (mix == .mixed && i % 2 == 0) {
                                r.kind = .pushUnified
                                r.endpoint = "http://127.0.0.1:\(sinkPort)\(PushSink.unifiedPrefix)\(u.username)"
                            } else {
                                r.kind = .pushGateway
                                r.pushkey = "bench-\(u.username)"
                                r.appID = "org.chatd.bench"
                                r.platform = i % 4 < 2 ? "fcm" : "apns"
                            }
                            _ = try await u.connection.call(.setPushTarget, r)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            for u in away { u.connection.close() }
            return PushRoom(name: tag, id: room, online: Array(users.prefix(online)), targets: withTargets ? away.count : 0)
        }

        struct Phase {
            var seconds = 0.0
            var deliveries = 0
            var acked = 0
            var sent = 0
            var errors = 0
            var delivery = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            var ack = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            var serverCPU: Double?
            var benchCPU: Double?
            var notifications = 0
            var notificationBytes = 0
            var peak = 0
            var after = 0
            var drainSeconds = 0.0

            mutating func add(_ p: Phase) {
                seconds += p.seconds
                deliveries += p.deliveries
                acked += p.acked
                sent += p.sent
                errors += p.errors
                delivery.add(p.delivery)
                ack.add(p.ack)
                if let c = p.serverCPU { serverCPU = (serverCPU ?? 0) + c }
                if let c = p.benchCPU { benchCPU = (benchCPU ?? 0) + c }
                notifications += p.notifications
                notificationBytes += p.notificationBytes
                peak = max(peak, p.peak)
                after += p.after
                drainSeconds = max(drainSeconds, p.drainSeconds)
            }
        }

        func run(_ room: PushRoom, round: Int) async throws -> Phase {
            let box = WindowBox()
            var receivers: [NIOLoopBound<ReceiverState>] = []
            for (i, u) in room.online.enumerated() {
                receivers.append(try await attachReceiver(u.connection, measure: i % max(1, online / measured) == 0) { box.window })
            }
            let (begin, window) = SendDriver.plan(warmup: warmup, duration: duration)
            box.value.withLock { $0 = window }
            let sending = room.online.prefix(max(1, senders)).map { ($0.connection, room.id) }
            let driver = SendDriver(senders: Array(sending), rate: rate, window: inflight, warmup: warmup, duration: duration,
                synchronized: synchronized)
            // Each phase its own client_msg_ids: a repeated one is deduplicated, not sent again.
            let prefix = self.prefix + room.name + "\(round)-"
            let running = Task { try await driver.run(prefix: prefix, begin: begin, window: window) }
            _ = await waitUntil(window.start)
            let (cpu0, own0, sink0) = (serverCPU(), self_.cpuSeconds(), sink.counts)
            _ = await waitUntil(window.end)
            let (cpu1, own1, sink1) = (serverCPU(), self_.cpuSeconds(), sink.counts)
            let result = try await running.value
            try await Task.sleep(for: .milliseconds(500))
            var p = Phase()
            p.seconds = window.seconds
            for r in receivers {
                let (n, h) = try await r.eventLoop.submit { (r.value.deliveries, r.value.histogram) }.get()
                p.deliveries += n
                p.delivery.add(h)
            }
            p.acked = result.acked
            p.sent = result.sent
            p.errors = result.errors
            p.ack = result.histogram
            if let cpu0, let cpu1 { p.serverCPU = cpu1 - cpu0 }
            if let own0, let own1 { p.benchCPU = own1 - own0 }
            p.notifications = sink1.requests - sink0.requests
            p.notificationBytes = sink1.bytes - sink0.bytes
            p.peak = sink.peakPerSecond(from: window.start, to: window.end)
            // What the notifier still sends after the window (its queue draining).
            p.drainSeconds = try await sink.waitForQuiet(quiet: quiet, limit: 60)
            p.after = sink.counts.requests - sink1.requests
            return p
        }

        let off = try await setUp("off", withTargets: false)
        let on = try await setUp("on", withTargets: true)
        // The server sees the offline members' connections close.
        try await Task.sleep(for: .seconds(1))
        let setupRequests = sink.counts.requests

        var totals = (off: Phase(), on: Phase())
        var notes: [String] = []
        for r in 1...max(1, rounds) {
            let a = try await run(off, round: r)
            let b = try await run(on, round: r)
            totals.off.add(a)
            totals.on.add(b)
            notes.append(
                String(
                    format: "round %d: deliveries/s off %.0f on %.0f (%+.1f%%), delivery p99 off %.2f on %.2f ms, ack p99 off %.2f on %.2f ms, notifications/s %.0f (+%d after the window, %.1f s)",
                    r, Double(a.deliveries) / a.seconds, Double(b.deliveries) / b.seconds,
                    (Double(b.deliveries) / b.seconds / max(1, Double(a.deliveries) / a.seconds) - 1) * 100,
                    Double(a.delivery.valueAtPercentile(99)) / 1e6, Double(b.delivery.valueAtPercentile(99)) / 1e6,
                    Double(a.ack.valueAtPercentile(99)) / 1e6, Double(b.ack.valueAtPercentile(99)) / 1e6,
                    Double(b.notifications) / b.seconds, b.after, b.drainSeconds))
        }

        var report = Report(scenario: "push")
        let mixText: String
        switch mix {
        case .mixed: mixText = "mixed (\((offline + 1) / 2) UnifiedPush endpoints, \(offline / 2) gateway pushkeys)"
        case .unified: mixText = "\(offline) UnifiedPush endpoints"
        case .gateway: mixText = "\(offline) gateway pushkeys"
        }
        report.parameters = [
            "members": "\(members)", "offline": "\(offline)", "connected": "\(online)", "senders": "\(senders)",
            "rate": rate > 0 ? "\(Int(rate)) msgs/s" : "flat out (\(inflight) in flight per sender)", "targets": mixText,
            "rounds": "\(max(1, rounds)) (off then on)",
            "sink_delay_ms": "\(Int(Double(sink.delay.nanoseconds) / 1e6))",
        ]
        report.seconds = totals.on.seconds
        for (side, p) in [("off", totals.off), ("on", totals.on)] {
            report.rates["deliveries_per_s_\(side)"] = Double(p.deliveries) / max(p.seconds, 0.001)
            report.rates["messages_acked_per_s_\(side)"] = Double(p.acked) / max(p.seconds, 0.001)
            report.rates["notifications_per_s_\(side)"] = Double(p.notifications) / max(p.seconds, 0.001)
            report.counts["deliveries_\(side)"] = p.deliveries
            report.counts["notifications_in_windows_\(side)"] = p.notifications
            report.counts["notifications_after_windows_\(side)"] = p.after
            report.latency["delivery_\(side)"] = LatencySummary(p.delivery)
            report.latency["ack_\(side)"] = LatencySummary(p.ack)
            if let cpu = p.serverCPU {
                report.server["cpu_utilisation_cores_\(side)"] = cpu / max(p.seconds, 0.001)
                if p.deliveries > 0 { report.server["cpu_us_per_delivery_\(side)"] = cpu * 1e6 / Double(p.deliveries) }
            }
            if let cpu = p.benchCPU {
                notes.append("\(side): chatbench itself (load generator and sink) used " + String(format: "%.2f cores", cpu / max(p.seconds, 0.001)))
            }
        }
        report.rates["notification_bytes_per_s_on"] = Double(totals.on.notificationBytes) / max(totals.on.seconds, 0.001)
        report.rates["notifications_peak_1s_on"] = Double(totals.on.peak)
        report.rates["notifications_per_s_per_offline_member_on"] =
            Double(totals.on.notifications) / max(totals.on.seconds, 0.001) / Double(max(1, on.targets))
        report.rates["deliveries_on_vs_off_pct"] =
            (Double(totals.on.deliveries) / max(totals.on.seconds, 0.001) / max(1, Double(totals.off.deliveries) / max(totals.off.seconds, 0.001)) - 1)
            * 100
        let p99 = { (h: Histogram<UInt64>) in Double(h.valueAtPercentile(99)) }
        report.rates["delivery_p99_on_vs_off_pct"] = (p99(totals.on.delivery) / max(1, p99(totals.off.delivery)) - 1) * 100
        report.rates["ack_p99_on_vs_off_pct"] = (p99(totals.on.ack) / max(1, p99(totals.off.ack)) - 1) * 100
        let counts = sink.counts
        let distinct = sink.distinct
        report.counts["offline_with_targets"] = on.targets
        report.counts["sink_requests_total"] = counts.requests
        report.counts["sink_bytes_total"] = counts.bytes
        report.counts["sink_unified"] = counts.unified
        report.counts["sink_gateway"] = counts.gateway
        report.counts["sink_other"] = counts.other
        report.counts["sink_distinct_endpoints"] = distinct.unified
        report.counts["sink_distinct_pushkeys"] = distinct.pushkeys
        report.errors = totals.off.errors + totals.on.errors
        if let rss = proc?.rssBytes() { report.server["rss_mib"] = Double(rss) / 1048576 }
        if setupRequests > 0 { notes.append("the sink got \(setupRequests) requests before the first phase") }
        if distinct.unified + distinct.pushkeys < on.targets {
            notes.append("only \(distinct.unified + distinct.pushkeys) of the \(on.targets) offline members with a target were notified")
        }
        report.notes = notes
        for u in off.online + on.online { u.connection.close() }
        return report
    }
}
