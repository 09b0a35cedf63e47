import ChatProtocol
import NIOCore
import ChatClient
import NIOPosix
import SwiftProtobuf

/// A lean protocol connection for load generation: no tasks or timers per
/// request, everything on the channel's event loop. Responses go to a
/// callback registered with the request; pushes to `onPush`.
final class BenchHandler: ChannelInboundHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundOut = ByteBuffer

    private var nextID: UInt32 = 1
    private var pending: [UInt32: (Frame) -> Void] = [:]
    var onPush: ((Frame) -> Void)?
    var onClose: (() -> Void)?
    private(set) var context: ChannelHandlerContext?
    var errors = 0

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Must run on the event loop.
    func send(op: UInt16, payload: ByteBuffer, flush: Bool = true, onResponse: @escaping (Frame) -> Void) {
        guard let context else { return }
        let id = nextID
        nextID &+= 1
        if nextID == 0 { nextID = 1 }
        pending[id] = onResponse
        let frame = Frame(kind: .request, op: op, id: id, payload: payload)
        context.write(wrapOutboundOut(frame.encoded(allocator: context.channel.allocator)), promise: nil)
        if flush { context.flush() }
    }

    func flush() { context?.flush() }

    var inflight: Int { pending.count }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .frame(let frame) = unwrapInboundIn(data) else {
            context.close(promise: nil)
            return
        }
        switch frame.kind {
        case .response, .error:
            if frame.kind == .error { errors += 1 }
            pending.removeValue(forKey: frame.id)?(frame)
        case .push:
            onPush?(frame)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let callbacks = pending
        pending.removeAll()
        let closed = Frame.error(op: 0, id: 0, code: .unavailable, message: "connection closed")
        for (_, callback) in callbacks { callback(closed) }
        onClose?()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// IP_BIND_ADDRESS_NO_PORT from <linux/in.h>, which Glibc's module does not export.
private let ipBindAddressNoPort: SocketOptionName = 24

struct BenchConnection: @unchecked Sendable {
    let channel: any Channel
    let handler: BenchHandler

    var eventLoop: any EventLoop { channel.eventLoop }

    static func connect(
        host: String, port: Int, source: String?, receiveBuffer: Int? = nil, tls: ChatTLS? = nil, group: any EventLoopGroup
    ) -> EventLoopFuture<BenchConnection> {
        var bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Requests written before the handshake ends wait in the TLS handler.
                    if let tls { try channel.pipeline.syncOperations.addHandler(tls.makeHandler(host: host)) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameLength: 16 << 20)))
                    try channel.pipeline.syncOperations.addHandler(BenchHandler())
                }
            }
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        if let source, let address = try? SocketAddress(ipAddress: source, port: 0) {
            // IP_BIND_ADDRESS_NO_PORT (Linux, <linux/in.h>): the port is
            // chosen at connect, for the whole address pair. Without it bind
            // picks one alone, searching past every port in use on the
            // source address, TIME_WAIT ones of earlier runs included: a
            // connect scenario run less than a minute after another (19,800
            // connections) measured 600-1,800 connections/s instead of 4,400.
            bootstrap = bootstrap
                .channelOption(ChannelOptions.Types.SocketOption(level: SocketOptionLevel(IPPROTO_IP), name: ipBindAddressNoPort), value: 1)
                .bind(to: address)
        }
        return bootstrap.connect(address: host, port: port).flatMapThrowing { channel in
            let handler = try channel.pipeline.syncOperations.handler(type: BenchHandler.self)
            return BenchConnection(channel: channel, handler: handler)
        }
    }

    /// Sends one request from any thread; the callback runs on the event loop.
    func request(_ op: Op, _ message: some SwiftProtobuf.Message, onResponse: @escaping @Sendable (Frame) -> Void) {
        let payload = message.payloadBuffer()
        let me = self  // @unchecked Sendable: the handler is only touched on its loop
        if eventLoop.inEventLoop {
            handler.send(op: op.rawValue, payload: payload, onResponse: onResponse)
        } else {
            eventLoop.execute { me.handler.send(op: op.rawValue, payload: payload, onResponse: onResponse) }
        }
    }

    /// Async request for setup steps.
    func call(_ op: Op, _ message: some SwiftProtobuf.Message) async throws -> Frame {
        try await withCheckedThrowingContinuation { continuation in
            request(op, message) { frame in
                if frame.kind == .error {
                    let e = (try? Chatd_V1_ErrorResponse(payload: frame.payload))
                    continuation.resume(throwing: BenchError("\(op) failed: \(e?.code ?? 0) \(e?.message ?? "")", code: e?.code ?? 0))
                } else {
                    continuation.resume(returning: frame)
                }
            }
        }
    }

    func close() { channel.close(promise: nil) }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    /// The server's error code, when the server answered with one.
    var code: UInt32
    init(_ d: String, code: UInt32 = 0) {
        description = d
        self.code = code
    }
}

/// Monotonic nanoseconds (same clock in every thread of this process).
@inline(__always) func nowNanos() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
