import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A stand-in for a UnifiedPush distributor and a Matrix push gateway on
/// loopback (the push scenario): answers every request 200 with
/// `{"rejected":[]}` and counts requests and body bytes, in total, per kind
/// (`/up/...`: UnifiedPush endpoint, `/_matrix/push/v1/notify`: gateway)
/// and per second. It runs on its own event loop thread.
final class PushSink: Sendable {
    struct Counts: Sendable {
        var requests = 0
        var bytes = 0
        var unified = 0
        var gateway = 0
        /// Neither path, or not a POST (still answered 200).
        var other = 0
    }

    private struct State {
        var counts = Counts()
        /// Requests per second since `started`.
        var perSecond: [Int] = []
        var unifiedPaths: Set<String> = []
        var pushkeys: Set<String> = []
    }

    static let unifiedPrefix = "/up/"
    static let gatewayPath = "/_matrix/push/v1/notify"
    static let answer = #"{"rejected":[]}"#

    private let state = Mutex(State())
    let started = nowNanos()
    /// How long each answer waits (a remote gateway's latency); 0: at once.
    let delay: TimeAmount

    init(delayMs: Int = 0) { delay = .milliseconds(Int64(max(0, delayMs))) }
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let server = Mutex<(any Channel)?>(nil)

    /// Listens on host:port (0: any free port); returns the port.
    func start(host: String, port: Int) async throws -> Int {
        let sink = self
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(PushSinkHandler(sink: sink))
                }
            }
            .bind(host: host, port: port).get()
        server.withLock { $0 = channel }
        return channel.localAddress?.port ?? port
    }

    func stop() async {
        let channel = server.withLock { $0 }
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    /// One request answered. `pushkey`: the first pushkey of a gateway body.
    fileprivate func record(method: HTTPMethod, uri: String, bytes: Int, pushkey: String?) {
        let second = Int((nowNanos() - started) / 1_000_000_000)
        state.withLock { s in
            s.counts.requests += 1
            s.counts.bytes += bytes
            if method == .POST && uri.hasPrefix(Self.unifiedPrefix) {
                s.counts.unified += 1
                s.unifiedPaths.insert(uri)
            } else if method == .POST && uri == Self.gatewayPath {
                s.counts.gateway += 1
                if let pushkey { s.pushkeys.insert(pushkey) }
            } else {
                s.counts.other += 1
            }
            if s.perSecond.count <= second { s.perSecond.append(contentsOf: repeatElement(0, count: second + 1 - s.perSecond.count)) }
            s.perSecond[second] += 1
        }
    }

    var counts: Counts { state.withLock { $0.counts } }

    /// Distinct UnifiedPush endpoints and gateway pushkeys notified so far.
    var distinct: (unified: Int, pushkeys: Int) { state.withLock { ($0.unifiedPaths.count, $0.pushkeys.count) } }

    /// The busiest whole second inside [start, end) (monotonic nanoseconds).
    func peakPerSecond(from start: UInt64, to end: UInt64) -> Int {
        let first = Int((max(start, started) - started) / 1_000_000_000)
        let last = Int((max(end, started) - started) / 1_000_000_000)
        return state.withLock { s in
            guard first < s.perSecond.count, first < last else { return 0 }
            return s.perSecond[first..<min(last, s.perSecond.count)].max() ?? 0
        }
    }

    /// Waits until no request arrived for `quiet` seconds (at most `limit`
    /// seconds); returns how long it waited.
    func waitForQuiet(quiet: Double = 1, limit: Double = 60) async throws -> Double {
        let begin = nowNanos()
        var last = counts.requests
        var lastChange = begin
        while true {
            try await Task.sleep(for: .milliseconds(100))
            let now = nowNanos()
            let n = counts.requests
            if n != last {
                last = n
                lastChange = now
            }
            if Double(now - lastChange) / 1e9 >= quiet || Double(now - begin) / 1e9 >= limit {
                return Double(lastChange - begin) / 1e9
            }
        }
    }
}

/// One HTTP/1.1 connection of the sink (keep-alive, as async-http-client pools them).
private final class PushSinkHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let sink: PushSink
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var bytes = 0
    private static let answer = ByteBuffer(string: PushSink.answer)
    private static let maxKept = 16 * 1024

    init(sink: PushSink) { self.sink = sink }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
            bytes = 0
        case .body(var chunk):
            bytes += chunk.readableBytes
            if head?.uri == PushSink.gatewayPath, (body?.readableBytes ?? 0) < Self.maxKept {
                if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
            }
        case .end:
            guard let head else { return }
            self.head = nil
            sink.record(method: head.method, uri: head.uri, bytes: bytes, pushkey: body.flatMap(Self.firstPushkey))
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(Self.answer.readableBytes))
            let keepAlive = head.isKeepAlive
            headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            let response = HTTPResponseHead(version: head.version, status: .ok, headers: headers)
            if sink.delay == .zero {
                answer(response, keepAlive: keepAlive, context: context)
            } else {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: sink.delay) {
                    guard bound.value.1.channel.isActive else { return }
                    bound.value.0.answer(response, keepAlive: keepAlive, context: bound.value.1)
                }
            }
        }
    }

    private func answer(_ response: HTTPResponseHead, keepAlive: Bool, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(Self.answer))), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    /// `"pushkey":"<key>"` in a gateway body (chatd writes compact JSON).
    private static func firstPushkey(_ buffer: ByteBuffer) -> String? {
        let text = String(buffer: buffer)
        guard let start = text.range(of: #""pushkey":""#) else { return nil }
        let rest = text[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
