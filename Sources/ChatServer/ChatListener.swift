import ChatProtocol
import Logging
import NIOCore
import NIOPosix

/// The TCP listener for clients: one pipeline per connection of
/// frame decoder (with the configured cap) and connection handler.
public final class ChatListener: Sendable {
    public let channel: any Channel
    let server: ServerContext

    private init(channel: any Channel, server: ServerContext) {
        self.channel = channel
        self.server = server
    }

    public var localPort: Int? { channel.localAddress?.port }

    public static func bind(host: String, port: Int, server: ServerContext, group: any EventLoopGroup) async throws -> ChatListener {
        let channel = try await bootstrap(server: server, group: group).bind(host: host, port: port).get()
        return ChatListener(channel: channel, server: server)
    }

    /// Adopts a listening socket handed over by the service manager
    /// (systemd socket activation, `LISTEN_FDS`).
    public static func adopt(descriptor: CInt, server: ServerContext, group: any EventLoopGroup) async throws -> ChatListener {
        let channel = try await bootstrap(server: server, group: group).withBoundSocket(descriptor).get()
        return ChatListener(channel: channel, server: server)
    }

    private static func bootstrap(server: ServerContext, group: any EventLoopGroup) -> ServerBootstrap {
        let settings = server.settings
        let highWater = max(64 * 1024, settings.maxOutboundBytes)
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameLength: settings.maxFrameLength)))
                    try sync.addHandler(ChatConnectionHandler(server: server))
                }
            }
    }

    /// Stops accepting; open connections are not touched.
    public func close() async {
        try? await channel.close()
    }

    /// Tells every connection the server is going away and closes it.
    public func endAllConnections() {
        for connection in server.registry.allConnections() { connection.end(.serverShutdown) }
    }
}
