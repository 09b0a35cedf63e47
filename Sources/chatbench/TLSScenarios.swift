import ChatClient
import Foundation
import Histogram
import NIOCore
import NIOEmbedded
import NIOPosix

extension Bench {
    // MARK: handshakes

    /// Full TLS handshakes, flat out: `concurrency` clients each connect,
    /// finish the handshake, and close, again and again for `duration` s.
    func handshakes(concurrency: Int, duration: Double) async throws -> Report {
        guard target.tls != nil else { throw BenchError("handshakes needs --tls (and --ca for a private CA)") }
        let done = Counter()
        let failures = Counter()
        let latencies = ListBox<UInt64>()
        let cpu0 = proc?.cpuSeconds()
        let start = nowNanos()
        let end = start + UInt64(duration * 1e9)
        let target = target
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    while nowNanos() < end {
                        let began = nowNanos()
                        do {
                            let c = try await target.client()
                            latencies.append(nowNanos() - began)
                            done.add()
                            await c.close()
                        } catch {
                            failures.add()
                        }
                    }
                }
            }
        }
        let seconds = Double(nowNanos() - start) / 1e9
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for value in latencies.all { histogram.record(value) }
        var report = Report(scenario: "handshakes")
        report.parameters = ["concurrency": "\(concurrency)"]
        report.seconds = seconds
        report.rates["handshakes_per_s"] = Double(done.count) / seconds
        report.counts["handshakes"] = done.count
        report.latency["handshake"] = LatencySummary(histogram)
        report.errors = failures.count
        if let cpu0, let cpu1 = proc?.cpuSeconds(), done.count > 0 {
            report.server["cpu_seconds"] = cpu1 - cpu0
            report.server["cpu_us_per_handshake"] = (cpu1 - cpu0) * 1e6 / Double(done.count)
        }
        report.notes.append(
            "client and server share this machine; a handshake costs the client a key exchange and a signature check too")
        return report
    }

    // MARK: handshake flood

    /// Direct traffic at `rate` (over `target`), first alone, then while
    /// `flooders` raw TCP peers replay a recorded ClientHello at the TLS
    /// listener `tlsServer` and hang up once the server has answered: each
    /// costs the server a full handshake's work (key share, signature) and
    /// the flooders almost nothing, so the flood can exceed what the server
    /// can handshake.
    func handshakeFlood(tlsServer: Target, pairs: Int, rate: Double, flooders: Int, duration: Double) async throws
        -> Report
    {
        guard let tls = tlsServer.tls else { throw BenchError("handshake-flood needs --tls-server with --ca") }
        let hello = try Self.recordClientHello(tls: tls, host: tlsServer.host)
        let baseline = try await direct(pairs: pairs, rate: rate, inflight: 1, warmup: 1, duration: duration, tag: "hb")

        let answered = Counter()
        let attempts = Counter()
        let stop = StopFlag()
        let floods = (0..<max(1, flooders)).map { _ in
            Task {
                while !stop.isSet {
                    attempts.add()
                    if await Self.replay(hello, to: tlsServer) { answered.add() }
                }
            }
        }
        let cpu0 = proc?.cpuSeconds()
        let floodStart = nowNanos()
        let during = try await direct(pairs: pairs, rate: rate, inflight: 1, warmup: 1, duration: duration, tag: "hf")
        let floodSeconds = Double(nowNanos() - floodStart) / 1e9
        let cpu1 = proc?.cpuSeconds()
        stop.set()
        for flood in floods { await flood.value }

        var report = Report(scenario: "handshake-flood")
        report.parameters = [
            "pairs": "\(pairs)", "rate": "\(rate)", "flooders": "\(flooders)", "duration_s": "\(duration)",
        ]
        report.seconds = duration
        report.rates["flood_connections_per_s"] = Double(attempts.count) / floodSeconds
        report.rates["flood_server_answers_per_s"] = Double(answered.count) / floodSeconds
        report.rates["chat_acked_per_s_alone"] = baseline.rates["acked_sends_per_s"] ?? 0
        report.rates["chat_acked_per_s_during_flood"] = during.rates["acked_sends_per_s"] ?? 0
        report.latency["chat_ack_alone"] = baseline.latency["ack"]
        report.latency["chat_ack_during_flood"] = during.latency["ack"]
        if let a = baseline.latency["ack"], let b = during.latency["ack"] { report.rates["chat_p99_shift_ms"] = b.p99Ms - a.p99Ms }
        if let cpu0, let cpu1 { report.server["cpu_cores_during_flood"] = (cpu1 - cpu0) / floodSeconds }
        report.errors = baseline.errors + during.errors
        return report
    }

    /// The first flight of a TLS client (its ClientHello), made once.
    static func recordClientHello(tls: ChatTLS, host: String) throws -> ByteBuffer {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(tls.makeHandler(host: host))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var hello = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { hello.writeBuffer(&part) }
        _ = try? channel.finish(acceptAlreadyClosed: true)
        guard hello.readableBytes > 0 else { throw BenchError("the TLS client wrote no ClientHello") }
        return hello
    }

    /// Connects, writes `hello`, waits (up to 2 s) for the server's first
    /// bytes, and closes. True when the server answered.
    static func replay(_ hello: ByteBuffer, to target: Target) async -> Bool {
        let answered = target.group.next().makePromise(of: Bool.self)
        do {
            let channel = try await ClientBootstrap(group: target.group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(FirstBytes(answered))
                    }
                }
                .connect(host: target.host, port: target.port).get()
            // Closed with a reset, so the flood does not fill the ephemeral
            // ports with TIME_WAIT.
            _ = try? await (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            channel.writeAndFlush(hello, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { answered.succeed(false) }
            let result = try await answered.futureResult.get()
            try? await channel.close()
            return result
        } catch {
            answered.succeed(false)
            return false
        }
    }
}

/// Completes a promise with true on the first bytes read, false on close.
final class FirstBytes: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Bool>

    init(_ promise: EventLoopPromise<Bool>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { promise.succeed(true) }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(false)
        context.fireChannelInactive()
    }
}
