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
///
/// A socket file already at the path is removed only when nothing listens on
/// it (left by a crash); a live one makes `bind` throw
/// `ControlSocketInUseError`. `close` removes the file only while it is still
/// the one this listener bound (same device and inode), never one another
/// process has put there since.
public final class ControlListener: Sendable {
    public let channel: any Channel
    public let path: String
    /// The socket file this listener created.
    private let file: FileIdentity?

    private init(channel: any Channel, path: String, file: FileIdentity?) {
        self.channel = channel
        self.path = path
        self.file = file
    }

    public static func bind(
        path: String, router: ControlRouter, group: any EventLoopGroup, allowedUIDs: Set<UInt32>? = nil,
        maxFrameLength: Int = 1 << 20, logger: Logger
    ) async throws -> ControlListener {
        let allowed = allowedUIDs ?? [0, getuid()]
        // A stale socket from a crash would make bind fail; a live one belongs
        // to another chatd, whose chatctl access it would cut.
        if let type = try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType,
            type == .typeSocket
        {
            switch UnixSocketProbe.probe(path) {
            case .stale:
                logger.notice("removing a stale control socket", metadata: ["chatd.control": "\(path)"])
                unlink(path)
            case .listening:
                throw ControlSocketInUseError(path: path, reason: "a process is listening on it")
            case .unknown(let reason):
                throw ControlSocketInUseError(path: path, reason: "cannot tell whether a process listens on it: \(reason)")
            }
        }
        let old = umask(0o177)
        defer { umask(old) }
        let channel = try await ServerBootstrap(group: group)
            .backingOffOnAcceptErrors()
            // One read per readable event: the requests of one read are all
            // that can wait here while the connection's reading is held.
            .childChannelOption(.maxMessagesPerRead, value: 1)
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
        return ControlListener(channel: channel, path: path, file: FileIdentity(path: path))
    }

    public func close() async {
        try? await channel.close()
        if let file, FileIdentity(path: path) == file { unlink(path) }
    }
}

/// The control socket path is taken: something listens on the socket file
/// there, or whether it does cannot be told.
public struct ControlSocketInUseError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "control socket \(path) is in use (\(reason))" }
}

/// A file's device and inode: the same path may name another file later.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    init?(path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

/// Whether a process listens on a Unix stream socket file, found by a
/// non-blocking connect: it succeeds, or would block when the listener's
/// backlog is full; ECONNREFUSED means no one listens (the file is stale).
enum UnixSocketProbe {
    enum Result: Equatable {
        case listening, stale
        case unknown(String)
    }

    static func probe(_ path: String) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return .unknown("the path is longer than \(capacity - 1) bytes") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .unknown("socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result == 0 { return .listening }
        switch errno {
        case EAGAIN, EINPROGRESS: return .listening
        case ECONNREFUSED, ENOENT: return .stale
        case let other: return .unknown("connect: \(String(cString: strerror(other)))")
        }
    }
}

/// Serves one control connection. Requests run concurrently (§11.1), at most
/// `maxInFlight` at a time; the rest wait here in arrival order, and while any
/// wait, or the answers back up (the channel is not writable), nothing more
/// is read from the socket. A client that pipelines and never reads thus
/// stops being read instead of growing chatd's memory: what it costs is the
/// requests of one read (one read per readable event on this socket) and the
/// answers of `maxInFlight` requests beyond the channel's high water mark.
final class ControlConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let maxInFlight = 16

    private let router: ControlRouter
    private let allowed: Set<UInt32>
    private var logger: Logger
    private var peer: PeerCredentials?
    /// Frames read and not yet started, oldest first.
    private var waiting = CircularBuffer<Frame>()
    private var inFlight = 0
    /// A read was asked for while requests waited or answers backed up.
    private var readHeld = false

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
        guard peer != nil else { return }
        switch unwrapInboundIn(data) {
        case .frame(let frame):
            waiting.append(frame)
            startWaiting(context: context)
        case .oversized(_, let op, let id, let length):
            context.writeAndFlush(
                wrapOutboundOut(Frame.error(op: op, id: id, code: .tooLarge, message: "frame length \(length) too large").encoded()),
                promise: nil)
        case .malformed:
            context.close(promise: nil)
        }
    }

    func read(context: ChannelHandlerContext) {
        if canRead(context) {
            context.read()
        } else {
            readHeld = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        startWaiting(context: context)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func canRead(_ context: ChannelHandlerContext) -> Bool {
        waiting.isEmpty && inFlight < Self.maxInFlight && context.channel.isWritable
    }

    /// Starts waiting requests while the cap and the channel allow, then
    /// lets a held read through if nothing waits any more.
    private func startWaiting(context: ChannelHandlerContext) {
        guard let peer, context.channel.isActive else { return }
        while inFlight < Self.maxInFlight, context.channel.isWritable, let frame = waiting.popFirst() {
            inFlight += 1
            let router = self.router
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            Task {
                let response = await router.route(frame, peerUID: peer.uid)
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.finished(response, context: context)
                }
            }
        }
        if readHeld, canRead(context) {
            readHeld = false
            context.read()
        }
    }

    private func finished(_ response: Frame, context: ChannelHandlerContext) {
        inFlight -= 1
        guard context.channel.isActive else { return }
        context.writeAndFlush(wrapOutboundOut(response.encoded()), promise: nil)
        startWaiting(context: context)
    }
}
