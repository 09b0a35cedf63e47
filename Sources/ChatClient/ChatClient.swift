import ChatProtocol
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import SwiftProtobuf

/// A server push, decoded.
public enum ChatPush: Sendable {
    case event(Chatd_V1_Event)
    case goodbye(Chatd_V1_GoodbyePush)
    case accountEvent(Chatd_V1_AccountEvent)
    case read(Chatd_V1_ReadPush)
    case presence(Chatd_V1_PresencePush)
    case typing(Chatd_V1_TypingPush)
    case delivered(Chatd_V1_DeliveredPush)
    /// A push type this client does not know (newer server).
    case unknown(type: UInt16, payload: ByteBuffer)
}

public enum ChatClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error response.
    case server(code: UInt32, message: String, retryAfterMs: UInt32, field: String)
    /// The server refused the connection itself (a connection-level error
    /// frame, id 0: e.g. the control socket's peer check), before or instead
    /// of answering the request.
    case connectionRefused(code: UInt32, message: String)
    /// The connection closed before the response arrived.
    case connectionClosed
    /// No response within the request timeout.
    case timedOut
    /// The server sent something this client cannot parse.
    case protocolViolation(String)

    /// The error code as a known value, when it is one.
    public var code: ErrorCode? {
        switch self {
        case .server(let code, _, _, _), .connectionRefused(let code, _): return ErrorCode(rawValue: code)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .server(let code, let message, let retry, _):
            let name = ErrorCode(rawValue: code).map { "\($0)" } ?? "error \(code)"
            return retry > 0 ? "\(name): \(message) (retry after \(retry) ms)" : "\(name): \(message)"
        case .connectionRefused(_, let message): return "connection refused by the server: \(message)"
        case .connectionClosed: return "connection closed"
        case .timedOut: return "request timed out"
        case .protocolViolation(let detail): return "protocol violation: \(detail)"
        }
    }
}

/// A connection to chatd (client protocol over TCP, or the control protocol
/// over a Unix socket). Requests may be issued concurrently from many tasks;
/// they are pipelined and matched to responses by id. Pushes arrive on
/// `pushes`.
public final class ChatConnection: Sendable {
    let channel: any Channel
    private let nextID = Atomic<UInt32>(1)
    /// The server's pushes, in order. At most `maxBufferedPushes` (given to
    /// `connect`) wait in it: when the application falls that far behind,
    /// the connection is closed rather than buffering without bound.
    public let pushes: AsyncStream<ChatPush>
    public static let defaultMaxBufferedPushes = 100_000
    public let requestTimeout: TimeAmount
    let connectionError: ConnectionErrorBox

    init(channel: any Channel, pushes: AsyncStream<ChatPush>, requestTimeout: TimeAmount, connectionError: ConnectionErrorBox) {
        self.channel = channel
        self.pushes = pushes
        self.requestTimeout = requestTimeout
        self.connectionError = connectionError
    }

    /// Connects over TCP, with TLS when `tls` is given (to chatd's TLS
    /// listener). With TLS it returns once the handshake is done; a failed
    /// handshake throws a `ChatTLSError` naming the part that failed.
    public static func connect(
        host: String, port: Int, tls: ChatTLS? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxFrameLength: Int = 16 << 20, requestTimeout: TimeAmount = .seconds(30), maxBufferedPushes: Int = defaultMaxBufferedPushes
    ) async throws -> ChatConnection {
        let bootstrap = ClientBootstrap(group: group).channelOption(.socketOption(.tcp_nodelay), value: 1)
        guard let tls else {
            return try await connect(
                bootstrap: bootstrap, maxFrameLength: maxFrameLength, requestTimeout: requestTimeout,
                maxBufferedPushes: maxBufferedPushes
            ) {
                try await $0.connect(address: host, port: port).get()
            }
        }
        let ready = group.next().makePromise(of: Void.self)
        let connection = try await connect(
            bootstrap: bootstrap, maxFrameLength: maxFrameLength, requestTimeout: requestTimeout,
            maxBufferedPushes: maxBufferedPushes,
            first: { sync in
                try sync.addHandler(tls.makeHandler(host: host))
                try sync.addHandler(TLSReadyHandler(ready: ready))
            }
        ) {
            try await $0.connect(address: host, port: port)
                .always { if case .failure(let error) = $0 { ready.fail(error) } }
                .get()
        }
        do {
            try await ready.futureResult.get()
        } catch {
            await connection.close()
            throw await tls.explain(error, host: host, port: port, group: group)
        }
        return connection
    }

    /// Connects to a Unix socket (the control socket).
    public static func connect(
        unixSocket path: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxFrameLength: Int = 16 << 20, requestTimeout: TimeAmount = .seconds(30), maxBufferedPushes: Int = defaultMaxBufferedPushes
    ) async throws -> ChatConnection {
        try await connect(
            bootstrap: ClientBootstrap(group: group), maxFrameLength: maxFrameLength, requestTimeout: requestTimeout,
            maxBufferedPushes: maxBufferedPushes
        ) { try await $0.connect(unixDomainSocketPath: path).get() }
    }

    private static func connect(
        bootstrap: ClientBootstrap, maxFrameLength: Int, requestTimeout: TimeAmount, maxBufferedPushes: Int,
        first: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void = { _ in },
        _ open: (ClientBootstrap) async throws -> any Channel
    ) async throws -> ChatConnection {
        let (stream, continuation) = AsyncStream<ChatPush>.makeStream(bufferingPolicy: .bufferingOldest(max(1, maxBufferedPushes)))
        let errorBox = ConnectionErrorBox()
        let channel = try await open(
            bootstrap.channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try first(sync)
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameLength: maxFrameLength)))
                    try sync.addHandler(ClientHandler(pushes: continuation, connectionError: errorBox))
                }
            })
        return ChatConnection(channel: channel, pushes: stream, requestTimeout: requestTimeout, connectionError: errorBox)
    }

    /// Sends a request and waits for its response frame. An error response
    /// throws `ChatClientError.server`.
    public func send(op: UInt16, payload: ByteBuffer) async throws -> Frame {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let frame = Frame(kind: .request, op: op, id: id, payload: payload)
        return try await send(frame)
    }

    /// Sends an arbitrary frame (tests of malformed input) and waits for the
    /// response carrying its id.
    public func send(_ frame: Frame) async throws -> Frame {
        try await response(to: frame, in: write(frame, flush: true))
    }

    /// Sends several requests in one write and waits for all their
    /// responses, in order: one round trip where awaiting each would cost
    /// one per request. The first error response (in the order of `frames`)
    /// is thrown, after every response has arrived.
    public func send(pipelined frames: [Frame]) async throws -> [Frame] {
        let slots = frames.indices.map { write(frames[$0], flush: $0 == frames.count - 1) }
        var results: [Result<Frame, any Error>] = []
        for (frame, slot) in zip(frames, slots) {
            do { results.append(.success(try await response(to: frame, in: slot))) } catch { results.append(.failure(error)) }
        }
        return try results.map { try $0.get() }
    }

    /// Hands `frame` to the pipeline (flushed or not) and returns the slot
    /// its response will complete.
    private func write(_ frame: Frame, flush: Bool) -> ResponseSlot {
        let slot = ResponseSlot(channel.eventLoop.makePromise(of: Frame.self))
        // The handler arms the timeout when it registers the request, so a
        // timed-out entry is also removed from its table.
        // A write that never reaches the handler (the channel closed first)
        // must not leave the caller waiting for the timeout.
        let written = channel.eventLoop.makePromise(of: Void.self)
        let errorBox = connectionError
        written.futureResult.whenFailure { _ in
            if let refusal = errorBox.frame {
                slot.succeed(refusal)
            } else {
                slot.fail(errorBox.closeReason ?? ChatClientError.connectionClosed)
            }
        }
        let request = OutboundRequest(frame: frame, slot: slot, timeout: requestTimeout)
        if flush {
            channel.writeAndFlush(request, promise: written)
        } else {
            channel.write(request, promise: written)
        }
        return slot
    }

    /// Waits for the response in `slot` to `frame`; an error response throws.
    private func response(to frame: Frame, in slot: ResponseSlot) async throws -> Frame {
        let response = try await slot.future.get()
        if response.kind == .error {
            let error = try Chatd_V1_ErrorResponse(payload: response.payload)
            if response.id == 0 && frame.id != 0 { throw ChatClientError.connectionRefused(code: error.code, message: error.message) }
            throw ChatClientError.server(
                code: error.code, message: error.message, retryAfterMs: error.retryAfterMs, field: error.field)
        }
        return response
    }

    /// Writes raw bytes (tests of malformed streams).
    public func writeRaw(_ bytes: ByteBuffer) async throws {
        try await channel.writeAndFlush(RawBytes(buffer: bytes))
    }

    /// Typed request: encodes `request`, decodes the response as `Response`.
    public func call<Response: SwiftProtobuf.Message>(
        _ op: UInt16, _ request: some SwiftProtobuf.Message, as: Response.Type = Response.self
    ) async throws -> Response {
        try Self.decode(try await send(op: op, payload: request.payloadBuffer()), as: Response.self)
    }

    /// A request frame for `op` with this connection's next id, for
    /// `send(pipelined:)`.
    public func request(_ op: Op, _ message: some SwiftProtobuf.Message) -> Frame {
        Frame(kind: .request, op: op.rawValue, id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, payload: message.payloadBuffer())
    }

    /// A response frame's payload as `Response`.
    public static func decode<Response: SwiftProtobuf.Message>(_ frame: Frame, as: Response.Type = Response.self) throws -> Response {
        do {
            return try Response(payload: frame.payload)
        } catch {
            throw ChatClientError.protocolViolation("response to op \(frame.op) does not parse: \(error)")
        }
    }

    public func call<Response: SwiftProtobuf.Message>(
        _ op: Op, _ request: some SwiftProtobuf.Message, as: Response.Type = Response.self
    ) async throws -> Response {
        try await call(op.rawValue, request, as: Response.self)
    }

    public var isActive: Bool { channel.isActive }

    /// Stops (or resumes) reading from the server: backpressure for a client
    /// that cannot keep up. A server whose queue for this connection grows
    /// past its limit closes it as a slow consumer.
    public func setReading(_ reading: Bool) async throws {
        try await channel.setOption(.autoRead, value: reading).get()
        if reading { channel.read() }
    }

    public func close() async {
        try? await channel.close()
    }

    /// Completes when the server closes the connection.
    public func closed() async {
        try? await channel.closeFuture.get()
    }
}

extension ClientBootstrap {
    /// Connects to `host`, straight to it when it is an IP address:
    /// `connect(host:port:)` hands even "127.0.0.1" to getaddrinfo on a
    /// dispatch queue and runs Happy Eyeballs' timers around the answer (a
    /// thread hop and two scheduled tasks per connection: chatbench's
    /// reconnect storm ran 1.22x as fast without them). A name is resolved
    /// as before.
    public func connect(address host: String, port: Int) -> EventLoopFuture<any Channel> {
        if let address = try? SocketAddress(ipAddress: host, port: port) { return connect(to: address) }
        return connect(host: host, port: port)
    }
}

struct OutboundRequest {
    var frame: Frame
    var slot: ResponseSlot
    var timeout: TimeAmount
}

/// A connection-level error frame (id 0), e.g. a refused control peer; and
/// why the connection ended, when the server said so in a TLS alert (with
/// TLS 1.3 a server refuses a client certificate only after the client's
/// side of the handshake is done, so the refusal reaches the first requests).
final class ConnectionErrorBox: Sendable {
    private let value = Mutex<(frame: Frame?, closeReason: ChatTLSError?)>((nil, nil))
    var frame: Frame? { value.withLock { $0.frame } }
    var closeReason: ChatTLSError? { value.withLock { $0.closeReason } }
    func set(_ frame: Frame) { value.withLock { $0.frame = frame } }
    func closed(by reason: ChatTLSError) { value.withLock { $0.closeReason = $0.closeReason ?? reason } }
}

/// A response promise that completes once, whichever of the response, the
/// timeout, the close or a failed write comes first.
final class ResponseSlot: Sendable {
    private let promise: EventLoopPromise<Frame>
    private let done = Atomic<Bool>(false)

    init(_ promise: EventLoopPromise<Frame>) { self.promise = promise }

    var future: EventLoopFuture<Frame> { promise.futureResult }

    func onComplete(_ body: @escaping @Sendable () -> Void) { promise.futureResult.whenComplete { _ in body() } }

    func succeed(_ frame: Frame) {
        if done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            promise.succeed(frame)
        }
    }

    func fail(_ error: any Error) {
        if done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            promise.fail(error)
        }
    }
}

struct RawBytes {
    var buffer: ByteBuffer
}

final class ClientHandler: ChannelDuplexHandler {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = Any
    typealias OutboundOut = ByteBuffer

    private var pending: [UInt32: ResponseSlot] = [:]
    /// A connection-level error (id 0), e.g. a refused control peer: every
    /// request on this connection is answered with it.
    private var connectionError: Frame?
    private let errorBox: ConnectionErrorBox
    private let pushes: AsyncStream<ChatPush>.Continuation

    init(pushes: AsyncStream<ChatPush>.Continuation, connectionError: ConnectionErrorBox) {
        self.pushes = pushes
        errorBox = connectionError
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let value = unwrapOutboundIn(data)
        if let request = value as? OutboundRequest {
            if let connectionError {
                request.slot.succeed(connectionError)
                promise?.succeed(())
                return
            }
            guard context.channel.isActive else {
                let error: any Error = errorBox.closeReason ?? ChatClientError.connectionClosed
                request.slot.fail(error)
                promise?.fail(error)
                return
            }
            pending[request.frame.id] = request.slot
            let id = request.frame.id
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let task = context.eventLoop.scheduleTask(in: request.timeout) {
                if let slot = bound.value.pending.removeValue(forKey: id) { slot.fail(ChatClientError.timedOut) }
            }
            request.slot.onComplete { task.cancel() }
            context.write(wrapOutboundOut(request.frame.encoded(allocator: context.channel.allocator)), promise: promise)
        } else if let raw = value as? RawBytes {
            context.write(wrapOutboundOut(raw.buffer), promise: promise)
        } else {
            promise?.fail(ChatClientError.protocolViolation("unexpected outbound value"))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .frame(let frame):
            switch frame.kind {
            case .response, .error:
                if let slot = pending.removeValue(forKey: frame.id) {
                    slot.succeed(frame)
                } else if frame.id == 0 && frame.kind == .error {
                    connectionError = frame
                    errorBox.set(frame)
                    for (_, p) in pending { p.succeed(frame) }
                    pending.removeAll()
                }
            case .push:
                switch PushType(rawValue: frame.op) {
                case .event:
                    if let push = try? Chatd_V1_EventPush(payload: frame.payload) { deliver(.event(push.event), context) }
                case .goodbye:
                    if let push = try? Chatd_V1_GoodbyePush(payload: frame.payload) { deliver(.goodbye(push), context) }
                case .accountEvent:
                    if let push = try? Chatd_V1_AccountEventPush(payload: frame.payload) { deliver(.accountEvent(push.event), context) }
                case .read:
                    if let push = try? Chatd_V1_ReadPush(payload: frame.payload) { deliver(.read(push), context) }
                case .presence:
                    if let push = try? Chatd_V1_PresencePush(payload: frame.payload) { deliver(.presence(push), context) }
                case .typing:
                    if let push = try? Chatd_V1_TypingPush(payload: frame.payload) { deliver(.typing(push), context) }
                case .delivered:
                    if let push = try? Chatd_V1_DeliveredPush(payload: frame.payload) { deliver(.delivered(push), context) }
                case nil:
                    deliver(.unknown(type: frame.op, payload: frame.payload), context)
                }
            case .request, nil:
                break
            }
        case .oversized, .malformed:
            context.close(promise: nil)
        }
    }

    /// Hands a push to the stream; one the stream has no room for (the
    /// application stopped reading it: `maxBufferedPushes`) closes the
    /// connection instead of growing without bound. The client reconnects
    /// and catches up (ConversationSync), as after any lost connection.
    private func deliver(_ push: ChatPush, _ context: ChannelHandlerContext) {
        if case .dropped = pushes.yield(push) { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error: any Error = errorBox.closeReason ?? ChatClientError.connectionClosed
        for (_, slot) in pending { slot.fail(error) }
        pending.removeAll()
        pushes.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let alert = ChatTLSError.alert(in: error) { errorBox.closed(by: alert) }
        context.close(promise: nil)
    }
}
