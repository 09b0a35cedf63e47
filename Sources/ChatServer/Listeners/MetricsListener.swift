import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// What the metrics endpoint answers to a request line; no I/O.
public enum MetricsRoute: Equatable, Sendable {
    case metrics
    case health
    case notFound
    case methodNotAllowed

    public static func decide(method: HTTPMethod, uri: String) -> MetricsRoute {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        let route: MetricsRoute
        switch path {
        case "/metrics": route = .metrics
        case "/health": route = .health
        default: return .notFound
        }
        return method == .GET || method == .HEAD ? route : .methodNotAllowed
    }
}

/// The optional Prometheus endpoint (config `metrics.listen`): HTTP/1.1 with
/// NIO's codec. `GET /metrics` answers the text exposition format;
/// `GET /health` answers 200 only when the database is writable.
public final class MetricsListener: Sendable {
    public let channel: any Channel

    /// The exposition text, rendered when scraped.
    public typealias Render = @Sendable () -> [UInt8]
    /// Whether the database can be written (an empty write through the writer).
    public typealias Health = @Sendable () async -> Bool

    private init(channel: any Channel) { self.channel = channel }

    public var localPort: Int? { channel.localAddress?.port }

    public static func bind(
        host: String, port: Int, group: any EventLoopGroup, logger: Logger, render: @escaping Render,
        health: @escaping Health
    ) async throws -> MetricsListener {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .backingOffOnAcceptErrors()
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A scraper that connects and says nothing is dropped.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: .seconds(30)))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render, health: health))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("metrics endpoint listening", metadata: ["chatd.metrics": "\(host):\(channel.localAddress?.port ?? port)"])
        return MetricsListener(channel: channel)
    }

    public func close() async {
        try? await channel.close()
    }
}

/// One request at a time per connection; the response closes it.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let render: MetricsListener.Render
    let health: MetricsListener.Health
    private var pending: (MetricsRoute, HTTPMethod, HTTPVersion)?

    init(render: @escaping MetricsListener.Render, health: @escaping MetricsListener.Health) {
        self.render = render
        self.health = health
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            pending = (MetricsRoute.decide(method: head.method, uri: head.uri), head.method, head.version)
        case .body:
            break
        case .end:
            guard let (route, method, version) = pending else { return }
            pending = nil
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let boundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            switch route {
            case .metrics:
                respond(bound.value, version, method, .ok, "text/plain; version=0.0.4; charset=utf-8", render())
            case .notFound:
                respond(bound.value, version, method, .notFound, "text/plain", Array("not found\n".utf8))
            case .methodNotAllowed:
                respond(bound.value, version, method, .methodNotAllowed, "text/plain", Array("GET only\n".utf8))
            case .health:
                let health = self.health
                context.eventLoop.makeFutureWithTask { await health() }.whenSuccess { writable in
                    boundSelf.value.respond(
                        bound.value, version, method, writable ? .ok : .serviceUnavailable, "text/plain",
                        Array((writable ? "ok\n" : "database not writable\n").utf8))
                }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func respond(
        _ context: ChannelHandlerContext, _ version: HTTPVersion, _ method: HTTPMethod, _ status: HTTPResponseStatus,
        _ contentType: String, _ body: [UInt8]
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        if method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
