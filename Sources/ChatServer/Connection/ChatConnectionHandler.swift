import ChatCore
import ChatProtocol
import Foundation
import Logging
import NIOCore

/// The channel handler of one client connection. It translates channel events
/// into state-machine events and runs the resulting actions (the machine
/// decides; this reads the clocks and does the I/O); requests run as tasks
/// on the connection's event loop (`EventLoopTaskExecutor`), which wait for
/// the store without holding the loop, except page-sized ones, which run on
/// Swift's global pool and come back onto the loop with their answer.
final class ChatConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: ServerContext
    private var machine: ConnectionStateMachine
    private var connection: LiveConnection?
    /// This handler's context while it is in the pipeline, for pushes and
    /// server-initiated ends (which arrive as event-loop tasks, not events).
    private var context: ChannelHandlerContext?
    private var connectionContext = ConnectionContext(address: "", nonce: [])
    /// Counted by the server's connection limits (refused ones are not).
    private var admitted = false
    private var flushScheduled = false
    /// Bytes written since the last flush: they leave at the end of this
    /// event-loop round and say nothing about whether the peer reads.
    private var unflushedBytes = 0
    private var timer: NIOScheduledCallback?
    /// The server's logger, not a copy per connection (56 bytes each).
    private var logger: Logger { server.logger }
    /// Logged as metadata at each log call: per-connection metadata on the
    /// logger would cost every idle connection a dictionary.
    private var connectionID: UInt64 = 0
    private var userID: UserID?
    /// Typing notifications per conversation: a burst of 5, then one a
    /// second. Typing in more than 256 conversations at once is refused, not
    /// let through by forgetting the spent buckets.
    private var typingLimiter = RateLimiter(capacity: 5, windowMs: 5000, maxKeys: 256, whenFull: .refuseNewKeys)
    /// MarkDelivered requests (spec §6.3: a client reports in batches).
    private var deliveredLimiter = ReceiptPolicy.reportLimiter()
    /// Frames are decoded here, not by a ByteToMessageHandler in front: that
    /// handler, its pipeline context and its ring of buffers cost every idle
    /// connection about half a kilobyte.
    private var inbound: FrameAssembler
    private var decoding = false

    init(server: ServerContext) {
        self.server = server
        inbound = FrameAssembler(maxFrameLength: server.settings.maxFrameLength)
        machine = ConnectionStateMachine(settings: server.settings.machine, nowMs: Self.monotonicMs())
    }

    private func meta(_ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var m = extra
        m["chatd.conn"] = "\(connectionID)"
        if let userID { m["chatd.user"] = "\(userID)" }
        return m
    }

    static func monotonicMs() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let address = channel.remoteAddress?.ipAddress ?? "local"
        let admission = server.admission.opened(from: address)
        if admission != .admit {
            // Over server.max_connections(_per_address): closed before any frame is read.
            _ = machine.closeRequested()
            server.metrics.connectionsRefused.increment()
            logger.debug("connection refused", metadata: ["chatd.peer": "\(address)", "chatd.reason": "\(admission)"])
            context.close(promise: nil)
            return
        }
        admitted = true
        let id = server.registry.makeID()
        connectionID = id
        connectionContext = ConnectionContext(address: address, nonce: server.crypto.randomBytes(32), connectionID: id)
        let live = LiveConnection(
            id: id, address: address, channel: channel,
            endpoint: Endpoint(NIOLoopBound(self, eventLoop: context.eventLoop)))
        connection = live
        server.registry.opened(live, now: server.router.clock.nowMs())
        applyOutboundBudget(context: context)
        server.metrics.connectionsOpened.increment()
        logger.debug("connection opened", metadata: meta(["chatd.peer": "\(address)"]))
        armTimer(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        _ = machine.closeRequested()
        machine.dropHeld()
        if admitted {
            admitted = false
            server.admission.closed(from: connectionContext.address)
        }
        timer?.cancel()
        timer = nil
        if let connection, let offline = server.registry.closed(connection.id) {
            server.hub.presence.wentOffline(offline)
        }
        // The LiveConnection's endpoint holds this handler: without this, the
        // two keep each other (and the channel) alive after the close.
        connection = nil
        // A truncated frame at the end is dropped: the peer is gone.
        inbound = FrameAssembler(maxFrameLength: server.settings.maxFrameLength)
        logger.debug("connection closed", metadata: meta())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: meta(["chatd.error": "\(error)"]))
        context.close(promise: nil)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbound.append(unwrapInboundIn(data))
        // Handling a frame may lead to another read on this stack: its bytes
        // were appended above, and the loop below takes them in turn.
        guard !decoding else { return }
        decodeBuffered(context: context)
    }

    /// Handles the frames received, while the machine lets the connection
    /// read: once its in-flight cap, held frames or outbound budget are
    /// spent (refusals included), the rest stay undecoded bytes until
    /// `resumeReadingIfPossible`. NIO reads up to 16 times per readable
    /// event before it asks this handler again; without this, every frame of
    /// such a burst (about a megabyte: 87,000 frames of 12 bytes) was
    /// answered before any budget applied.
    private func decodeBuffered(context: ChannelHandlerContext) {
        decoding = true
        defer { decoding = false }
        while machine.shouldRead, let item = inbound.next() { received(item, context: context) }
    }

    private func received(_ item: InboundFrame, context: ChannelHandlerContext) {
        switch item {
        case .frame(let frame):
            handle(frame, context: context)
        case .oversized(let kind, let op, let id, let length):
            let code: ErrorCode = kind == FrameKind.request.rawValue ? .tooLarge : .badFrame
            write(
                Frame.error(
                    op: op, id: id, code: code,
                    message: "frame length \(length) exceeds max_frame_length \(server.settings.maxFrameLength)"),
                context: context, flush: true)
        case .malformed:
            run(machine.malformedStream(), frame: nil, context: context)
        }
    }

    private func handle(_ frame: Frame, released: Bool = false, context: ChannelHandlerContext) {
        let action = machine.frameReceived(
            frame, released: released, draining: server.isDraining, queuedBytes: queuedBytes(context: context),
            monotonicMs: Self.monotonicMs(), wallMs: server.router.clock.nowMs())
        run(action, frame: frame, context: context)
    }

    private func run(_ action: ConnectionStateMachine.FrameAction, frame: Frame?, context: ChannelHandlerContext) {
        switch action {
        case .process(let op, let session):
            guard let frame else { return }
            if op == .hello {
                answerHello(frame, context: context)
            } else if op == .typing, let session {
                answerTyping(frame, session: session, context: context)
            } else if op == .markDelivered,
                case .limited(let retry) = deliveredLimiter.consume("", now: server.router.clock.nowMs())
            {
                machine.requestCompleted(.markDelivered)
                answerLocally(
                    .markDelivered,
                    Frame.error(
                        op: frame.op, id: frame.id, code: .rateLimited, message: "MarkDelivered more often than 5 a second; batch them",
                        retryAfterMs: UInt32(clamping: retry)), context: context)
                resumeReadingIfPossible(context: context)
            } else {
                dispatch(op, frame: frame, session: session, context: context)
            }
        case .hold:
            break  // in the machine's ledger until releaseHeld() gives it back
        case .reject(let code, let message):
            guard let frame else { return }
            let refusal = Frame.error(op: frame.op, id: frame.id, code: code, message: message)
            // Refused by the connection's state (unauthenticated, wrong_state...): counted under the op when it is one.
            if let op = Op(rawValue: frame.op) { server.metrics.requestAnswered(op: op, response: refusal) }
            write(refusal, context: context, flush: true)
        case .rejectAndClose(let code, let message, let reason):
            write(
                Frame.error(op: frame?.op ?? 0, id: frame?.id ?? 0, code: code, message: message), context: context,
                flush: false)
            sayGoodbyeAndClose(reason, context: context)
        case .ignore:
            break
        }
    }

    private func dispatch(_ op: Op, frame: Frame, session: Session?, context: ChannelHandlerContext) {
        let router = server.router
        let connectionContext = self.connectionContext
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let channel = context.channel
        let server = self.server
        server.inflight.wrappingAdd(1, ordering: .relaxed)
        // Only an authentication needs the ending generation (SessionRegistry).
        let generation = op.requirement == .unauthenticated ? server.registry.generation : 0
        let started = server.metrics.enabled ? ContinuousClock.now : nil
        // On this loop, not Swift's global pool: a request then wakes no
        // other thread to start, nor to come back with its answer (the
        // store's resumption is a task on this loop, as the answer's write
        // is). Routes never block a thread: the stores, file I/O and
        // password hashing run elsewhere and are awaited. Page-sized
        // answers (History, Sync, searches, downloads...) stay on the pool:
        // building one can take milliseconds, which the loop's other
        // connections would wait for.
        let executor: (any TaskExecutor)? = op.answerSize == .page ? nil : EventLoopTaskExecutor(loop)
        Task(executorPreference: executor) {
            defer { server.inflight.wrappingSubtract(1, ordering: .relaxed) }
            let outcome: ClientRouter.Outcome
            if op.answerSize == .page, let user = session?.userID {
                // One user's pages share the database readers fairly with everyone else's.
                outcome = await server.pageReads.withLock(user) {
                    // A connection that closed while its page waited for the
                    // user's turn gets nothing: its answer would be dropped,
                    // and a client reconnecting in a loop would queue pages
                    // (and their frames) without end.
                    guard channel.isActive else {
                        return .reply(Frame.error(op: frame.op, id: frame.id, code: .unavailable, message: "connection closed"))
                    }
                    return await router.route(op: op, frame: frame, session: session, context: connectionContext)
                }
            } else {
                outcome = await router.route(op: op, frame: frame, session: session, context: connectionContext)
            }
            server.metrics.requestAnswered(op: op, response: outcome.frame, duration: started.map { ContinuousClock.now - $0 })
            if loop.inEventLoop {  // unless the task ran on the global pool
                bound.value.finish(op, outcome, context: boundContext.value, since: generation)
            } else {
                loop.execute { bound.value.finish(op, outcome, context: boundContext.value, since: generation) }
            }
        }
    }

    /// Applies a request's outcome on the event loop.
    private func finish(
        _ op: Op, _ outcome: ClientRouter.Outcome, context: ChannelHandlerContext, since generation: UInt64 = 0
    ) {
        let awaited = machine.isAwaitingAnswers
        machine.requestCompleted(op)
        if machine.isClosed {
            // Ended by the server while this ran: the answer, then (after the last one) the goodbye.
            guard awaited, context.channel.isActive else { return }
            write(outcome.frame, context: context, flush: true)
            if let reason = machine.goodbyeDue() { sayGoodbyeAndClose(reason, context: context) }
            return
        }
        let frame: Frame
        switch outcome {
        case .reply(let f):
            frame = f
        case .authenticated(let f, let session):
            frame = f
            machine.authenticationSucceeded(session)
            if let connection {
                switch server.registry.authenticated(
                    connection.id, user: session.userID, device: session.deviceRowID, deviceID: session.deviceID,
                    now: server.router.clock.nowMs(),
                    since: generation)
                {
                case .ended(let ended, let offline):
                    // Revoked, disabled or re-keyed while this login was checked.
                    if let offline { server.hub.presence.wentOffline(offline) }
                    write(frame, context: context, flush: false)
                    _ = machine.closeRequested()
                    sayGoodbyeAndClose(ProtoMap.goodbye(ended), context: context)
                    return
                case .bound(let cameOnline, let offline):
                    if let offline { server.hub.presence.wentOffline(offline) }
                    if cameOnline { server.hub.presence.cameOnline(session.userID) }
                }
            }
            userID = session.userID
            applyOutboundBudget(context: context)
            logger.debug("authenticated", metadata: meta(["chatd.device": "\(session.deviceID)"]))
        case .authenticationFailed(let f):
            frame = f
            machine.authenticationFailed()
        case .refreshed(let f, let session):
            frame = f
            machine.sessionRefreshed(session)
        case .loggedOut(let f):
            frame = f
            machine.loggedOut(monotonicMs: Self.monotonicMs())
            if let connection, let offline = server.registry.loggedOut(connection.id) {
                server.hub.presence.wentOffline(offline)
            }
            userID = nil
            applyOutboundBudget(context: context)
            // The authentication deadline starts again.
            timer?.cancel()
            armTimer(context: context)
        }
        write(frame, context: context, flush: true)
        releaseHeld(context: context)
        resumeReadingIfPossible(context: context)
    }

    private func releaseHeld(context: ChannelHandlerContext) {
        // Frames held during authentication or for the outbound budget run
        // now, in arrival order, while the machine lets them start.
        while let frame = machine.releaseHeld(queuedBytes: queuedBytes(context: context)) {
            let waiting = machine.held
            handle(frame, released: true, context: context)
            if machine.held > waiting { break }  // held again (cannot happen while it may release; never spin)
        }
    }

    /// Bytes written to the channel and not yet taken by the kernel (flushed
    /// or not): with the answers reserved, what the outbound budget counts.
    private func queuedBytes(context: ChannelHandlerContext) -> Int {
        (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    /// The channel's water marks follow the machine's budget (small until
    /// the connection authenticates).
    private func applyOutboundBudget(context: ChannelHandlerContext) {
        let budget = machine.outboundBudget
        let marks = ChannelOptions.Types.WriteBufferWaterMark(low: budget / 2, high: budget)
        try? context.channel.syncOptions?.setOption(.writeBufferWaterMark, value: marks)
    }

    private func answerHello(_ frame: Frame, context: ChannelHandlerContext) {
        defer { resumeReadingIfPossible(context: context) }
        machine.requestCompleted(.hello)
        answerLocally(.hello, helloResponse(frame), context: context)
    }

    /// Writes a response made on the event loop (Hello, Typing) and counts it
    /// like the routed ones.
    private func answerLocally(_ op: Op, _ response: Frame, context: ChannelHandlerContext) {
        server.metrics.requestAnswered(op: op, response: response)
        write(response, context: context, flush: true)
    }

    private func helloResponse(_ frame: Frame) -> Frame {
        let hello: Chatd_V1_HelloRequest
        do {
            hello = try Chatd_V1_HelloRequest(payload: frame.payload)
        } catch {
            return Frame.error(op: frame.op, id: frame.id, code: .badPayload, message: "payload does not parse")
        }
        let version: UInt32
        switch machine.helloReceived(
            protocolVersion: hello.protocolVersion, clientName: hello.clientName, clientVersion: hello.clientVersion)
        {
        case .accept(let accepted):
            version = accepted
        case .refuse(let code, let message, let field):
            return Frame.error(op: frame.op, id: frame.id, code: code, message: message, field: field)
        }
        var response = Chatd_V1_HelloResponse()
        response.protocolVersion = version
        response.serverName = "chatd"
        response.serverVersion = server.settings.serverVersion
        response.limits = server.helloLimits()
        response.nonce = Data(connectionContext.nonce)
        if let signer = server.router.push?.signer { response.pushVapidKey = Data(signer.publicKey) }
        logger.debug("hello", metadata: meta(["chatd.client": "\(hello.clientName)/\(hello.clientVersion)"]))
        return Frame.response(op: frame.op, id: frame.id, response)
    }

    /// Typing is ephemeral and needs no database: it is answered here, on
    /// the event loop, from the hub's in-memory membership.
    private func answerTyping(_ frame: Frame, session: Session, context: ChannelHandlerContext) {
        defer { resumeReadingIfPossible(context: context) }
        machine.requestCompleted(.typing)
        answerLocally(.typing, typingResponse(frame, session: session), context: context)
    }

    private func typingResponse(_ frame: Frame, session: Session) -> Frame {
        let request: Chatd_V1_TypingRequest
        do {
            request = try Chatd_V1_TypingRequest(payload: frame.payload)
        } catch {
            return Frame.error(op: frame.op, id: frame.id, code: .badPayload, message: "payload does not parse")
        }
        let conversation = ProtoMap.id(request.conversationID)
        guard server.hub.isMember(session.userID, of: conversation) else {
            return Frame.error(op: frame.op, id: frame.id, code: .notFound, message: "no such conversation among yours")
        }
        let now = server.router.clock.nowMs()
        if case .limited(let retry) = typingLimiter.consume(String(conversation), now: now) {
            return Frame.error(
                op: frame.op, id: frame.id, code: .rateLimited, message: "too many typing notifications",
                retryAfterMs: UInt32(clamping: retry))
        }
        server.hub.pushTyping(
            conversation: conversation, user: session.userID, typing: request.typing,
            expiresInMs: ServerSettings.typingTimeoutMs)
        return Frame.response(op: frame.op, id: frame.id, Chatd_V1_Empty())
    }

    // MARK: Server-initiated

    /// Another part of the server ends this connection (revocation, shutdown).
    fileprivate func serverEnded(_ reason: ConnectionStateMachine.GoodbyeReason) {
        guard let channel = connection?.channel, channel.isActive else { return }
        let action = machine.endRequested(reason)
        guard action != .none else { return }
        guard let context else {
            channel.close(promise: nil)
            return
        }
        switch action {
        case .sayGoodbye(let reason):
            sayGoodbyeAndClose(reason, context: context)
        case .awaitAnswers:
            // E.g. a device revoking itself: answer the request, then close,
            // but do not wait for a stuck request forever.
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(5)) {
                guard let reason = bound.value.machine.closingTimedOut() else { return }
                bound.value.sayGoodbyeAndClose(reason, context: boundContext.value)
            }
        case .none:
            break
        }
    }

    fileprivate func writePushes(_ pushes: PushFrames) {
        guard !machine.isClosed, machine.session != nil, let context, let channel = connection?.channel,
            channel.isActive
        else { return }
        var bytes = 0
        for buffer in pushes.buffers { bytes += buffer.readableBytes }
        if !channel.isWritable {
            // Over the high-water mark. Bytes written this round and not yet
            // flushed do not count: only what the peer has not taken does.
            let buffered = (try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
            switch machine.pushesArrived(bytes: bytes, unsentBytes: max(0, buffered - unflushedBytes)) {
            case .write:
                break
            case .drop:
                return
            case .close(let reason):
                closeSlowConsumer(reason, context: context)
                return
            }
        }
        for buffer in pushes.buffers { context.write(wrapOutboundOut(buffer), promise: nil) }
        unflushedBytes += bytes
        server.metrics.pushesSent.increment(by: pushes.count)
        flushSoon(context: context)
    }

    private func closeSlowConsumer(_ reason: ConnectionStateMachine.GoodbyeReason, context: ChannelHandlerContext) {
        logger.notice("closing slow consumer", metadata: meta())
        server.metrics.slowConsumers.increment()
        sayGoodbyeAndClose(reason, context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            machine.outboundDrained()
            releaseHeld(context: context)
            resumeReadingIfPossible(context: context)
        } else {
            machine.outboundBlocked(monotonicMs: Self.monotonicMs())
            // The slow-consumer grace may end before the next check.
            timer?.cancel()
            armTimer(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    private func sayGoodbyeAndClose(_ reason: ConnectionStateMachine.GoodbyeReason, context: ChannelHandlerContext) {
        var goodbye = Chatd_V1_GoodbyePush()
        goodbye.reason = ProtoMap.goodbye(reason)
        goodbye.message = "\(reason)"
        if reason == .serverShutdown { goodbye.reconnectAfterMs = 1000 }
        logger.info("closing connection", metadata: meta(["chatd.reason": "\(reason)"]))
        let channel = context.channel
        timer?.cancel()
        timer = nil
        unflushedBytes = 0
        context.writeAndFlush(wrapOutboundOut(Frame.push(.goodbye, goodbye).encoded())).whenComplete { _ in
            channel.close(promise: nil)
        }
        // A peer that stopped reading (a slow consumer) never lets the goodbye
        // finish: close anyway. Nothing more is queued for it meanwhile.
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    // MARK: Timer

    private func armTimer(context: ChannelHandlerContext) {
        switch machine.timerFired(monotonicMs: Self.monotonicMs()) {
        case .checkAgain(let atMs):
            let delay = max(1, atMs - Self.monotonicMs())
            // The handler itself is the callback: no promise, future or
            // closures per connection (a scheduled task cost each idle
            // connection about 0.3 KiB). Nil once the loop is shutting down.
            timer = try? context.eventLoop.assumeIsolated().scheduleCallback(in: .milliseconds(delay), handler: self)
        case .close(.slowConsumer):
            closeSlowConsumer(.slowConsumer, context: context)
        case .close(let reason):
            sayGoodbyeAndClose(reason, context: context)
        case .none:
            break
        }
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    private func resumeReadingIfPossible(context: ChannelHandlerContext) {
        // Frames already received go first: the socket is read again only
        // once they are handled and there is still room.
        if inbound.pending != nil, !decoding, machine.shouldRead { decodeBuffered(context: context) }
        if machine.resumeReading() { context.read() }
    }

    private func write(_ frame: Frame, context: ChannelHandlerContext, flush: Bool) {
        // A large answer (a page, a file chunk) goes out in pieces whose
        // storage is what the outbound budget counts (Frame.pieceBytes).
        frame.encodedPieces(allocator: context.channel.allocator) { piece in
            unflushedBytes += piece.readableBytes
            context.write(wrapOutboundOut(piece), promise: nil)
        }
        if flush { flushSoon(context: context) }
    }

    /// Flushes once after the event-loop tasks already queued have run, so
    /// responses and pushes that complete together leave in one write call.
    private func flushSoon(context: ChannelHandlerContext) {
        if flushScheduled { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            bound.value.flushScheduled = false
            bound.value.unflushedBytes = 0
            boundContext.value.flush()
        }
    }
}

extension ChatConnectionHandler: NIOScheduledCallbackHandler {
    /// The connection's timer (idle, authentication and slow-consumer
    /// deadlines), on its event loop.
    func handleScheduledCallback(eventLoop: some EventLoop) {
        timer = nil
        guard let context else { return }
        armTimer(context: context)
    }
}

extension ChatConnectionHandler {
    /// The handler as the registry and the fan-out reach it, from any thread.
    fileprivate final class Endpoint: ConnectionEndpoint {
        private let handler: NIOLoopBound<ChatConnectionHandler>

        init(_ handler: NIOLoopBound<ChatConnectionHandler>) { self.handler = handler }

        var eventLoop: any EventLoop { handler.eventLoop }

        func end(_ reason: ConnectionStateMachine.GoodbyeReason) {
            handler.eventLoop.execute { self.handler.value.serverEnded(reason) }
        }

        func pushInLoop(_ pushes: PushFrames) { handler.value.writePushes(pushes) }
    }
}
