import ChatProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// A TCP listener for clients: one pipeline per connection of frame decoder
/// (with the configured cap) and connection handler, behind a TLS handler
/// when the listener has a `TLSEndpoint`.
public final class ChatListener: Sendable {
    public let channel: any Channel
    let server: ServerContext
    /// Nil for the plain listener.
    public let tls: TLSEndpoint?

    private init(channel: any Channel, server: ServerContext, tls: TLSEndpoint?) {
        self.channel = channel
        self.server = server
        self.tls = tls
    }

    public var localPort: Int? { channel.localAddress?.port }

    public static func bind(
        host: String, port: Int, server: ServerContext, group: any EventLoopGroup, tls: TLSEndpoint? = nil
    ) async throws -> ChatListener {
        let channel = try await bootstrap(server: server, group: group, tls: tls).bind(host: host, port: port).get()
        return ChatListener(channel: channel, server: server, tls: tls)
    }

    /// Adopts a listening socket handed over by the service manager
    /// (systemd socket activation, `LISTEN_FDS`).
    public static func adopt(descriptor: CInt, server: ServerContext, group: any EventLoopGroup) async throws -> ChatListener {
        let channel = try await bootstrap(server: server, group: group, tls: nil).withBoundSocket(descriptor).get()
        return ChatListener(channel: channel, server: server, tls: nil)
    }

    private static func bootstrap(server: ServerContext, group: any EventLoopGroup, tls: TLSEndpoint?) -> ServerBootstrap {
        let settings = server.settings
        // Until it authenticates a connection gets the small budget; the
        // handler raises the marks at login (ConnectionStateMachine).
        let highWater = settings.maxOutboundBytesBeforeLogin
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                // The accept backoff of backingOffOnAcceptErrors(), and the
                // handshake budget of a TLS listener.
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(AcceptPauseHandler())
                    if let tls { try sync.addHandler(HandshakeBudgetHandler(endpoint: tls)) }
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Each channel keeps its receive buffer between reads: NIO's
            // default first size (2 KiB) was a third of what an idle
            // connection costs, and requests are small (a Resume is about
            // 130 bytes).
            .childChannelOption(.recvAllocator, value: Self.receiveBuffers)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        // The connection handler comes after TLS, so a connection
                        // still shaking hands already counts against the
                        // connection limits and its authentication timeout runs.
                        try sync.addHandler(NIOSSLServerHandler(context: tls.credentials.context))
                        try sync.addHandler(TLSHandshakeHandler(timeout: tls.limits.handshakeTimeout, metrics: server.metrics))
                    }
                    // ChatConnectionHandler decodes the frames itself (less memory per connection).
                    try sync.addHandler(ChatConnectionHandler(server: server))
                }
            }
    }

    /// Receive buffers of client connections: 512 bytes first, doubling
    /// (when a read fills one) up to 64 KiB. The channel keeps the largest
    /// it had, so only connections that sent a burst hold a big one.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536)

    /// Stops accepting; open connections are not touched.
    public func close() async {
        try? await channel.close()
    }
}

extension ServerBootstrap {
    /// Out of file descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM), accepting
    /// pauses for a second instead of spinning on a connection it cannot take.
    func backingOffOnAcceptErrors() -> ServerBootstrap {
        serverChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler())
            }
        }
    }
}

/// Pauses a listener's accepting for `pause` after an accept failed for lack
/// of resources. NIO's AcceptBackoffHandler cannot do it here: when the first
/// accept of a wake-up fails, the listening channel keeps its read pending
/// and stays registered for readability, so no read reaches a handler and
/// epoll wakes it again at once (a loop at 100% CPU). Turning autoRead off
/// unregisters the socket; turning it on again after the pause re-registers.
final class AcceptPauseHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel

    static let recoverable: Set<CInt> = [EMFILE, ENFILE, ENOBUFS, ENOMEM]
    private let pause: TimeAmount
    private var paused = false

    init(pause: TimeAmount = .seconds(1)) { self.pause = pause }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let io = error as? IOError, Self.recoverable.contains(io.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        guard !paused, let options = context.channel.syncOptions else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: pause) {
            bound.value.paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}
