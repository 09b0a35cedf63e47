import ChatProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Same layout as Linux `struct ucred` (not visible from Glibc in Swift).
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// chatctl's Unix control socket. The socket file is created mode 0600 and
/// every accepted connection is checked with SO_PEERCRED: only root and the
/// daemon's own uid (or `allowedUIDs`) are served.
public final class ControlListener: Sendable {
    public let channel: any Channel
    public let path: String

    private init(channel: any Channel, path: String) {
        self.channel = channel
        self.path = path
    }

    public static func bind(
        path: String, router: ControlRouter, group: any EventLoopGroup, allowedUIDs: Set<UInt32>? = nil,
        maxFrameLength: Int = 1 << 20, logger: Logger
    ) async throws -> ControlListener {
        let allowed = allowedUIDs ?? [0, getuid()]
        // A stale socket from a crash would make bind fail.
        if let type = try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType,
            type == .typeSocket
        {
            unlink(path)
        }
        let old = umask(0o177)
        defer { umask(old) }
        let channel = try await ServerBootstrap(group: group)
            .backingOffOnAcceptErrors()
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameLength: maxFrameLength)))
                    try sync.addHandler(ControlConnectionHandler(router: router, allowed: allowed, logger: logger))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false)
            .get()
        chmod(path, 0o600)
        return ControlListener(channel: channel, path: path)
    }

    public func close() async {
        try? await channel.close()
        unlink(path)
    }
}

final class ControlConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    private let router: ControlRouter
    private let allowed: Set<UInt32>
    private var logger: Logger
    private var peer: PeerCredentials?

    init(router: ControlRouter, allowed: Set<UInt32>, logger: Logger) {
        self.router = router
        self.allowed = allowed
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let provider = context.channel as? any SocketOptionProvider else {
            authorize(nil, context: context)
            return
        }
        // On the event loop this future is already complete, so the callback
        // runs before the first read.
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        future.whenComplete { result in
            bound.value.authorize(try? result.get(), context: boundContext.value)
        }
    }

    private func authorize(_ credentials: PeerCredentials?, context: ChannelHandlerContext) {
        guard let credentials, allowed.contains(credentials.uid) else {
            let uid = credentials.map { "\($0.uid)" } ?? "unknown"
            logger.warning("control connection refused", metadata: ["chatd.peer_uid": "\(uid)"])
            let refusal = Frame.error(
                op: 0, id: 0, code: .forbidden,
                message: "access refused: uid \(uid) is not root or the chatd user")
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(refusal.encoded())).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        peer = credentials
        logger[metadataKey: "chatd.peer_uid"] = "\(credentials.uid)"
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer else { return }
        switch unwrapInboundIn(data) {
        case .frame(let frame):
            let router = self.router
            let channel = context.channel
            Task {
                let response = await router.route(frame, peerUID: peer.uid)
                channel.writeAndFlush(response.encoded(), promise: nil)
            }
        case .oversized(_, let op, let id, let length):
            context.writeAndFlush(
                wrapOutboundOut(Frame.error(op: op, id: id, code: .tooLarge, message: "frame length \(length) too large").encoded()),
                promise: nil)
        case .malformed:
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
