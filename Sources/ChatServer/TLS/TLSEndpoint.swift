import ChatCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Synchronization

/// The TLS side of the client listener: the credentials in force (replaced
/// by a reload, so new connections get a renewed certificate while open ones
/// keep theirs), the handshake timeout, and the rate at which handshakes are
/// accepted. Shared by the listener's pipelines; every part is reloadable.
public final class TLSEndpoint: Sendable {
    public struct Limits: Sendable, Equatable {
        /// A connection whose handshake has not finished by then is closed.
        public var handshakeTimeout: TimeAmount
        /// New TLS connections accepted per second (each costs a handshake:
        /// a signature and a key exchange on an event loop); past it the
        /// listener stops accepting until the budget refills, so the kernel's
        /// backlog holds the rest. 0: no limit.
        public var handshakesPerSecond: Int

        public init(handshakeTimeout: TimeAmount = .seconds(10), handshakesPerSecond: Int = 0) {
            self.handshakeTimeout = handshakeTimeout
            self.handshakesPerSecond = handshakesPerSecond
        }
    }

    private struct State {
        var credentials: TLSCredentials
        var limits: Limits
        var budget: RateLimiter
    }

    private let state: Mutex<State>

    public init(credentials: TLSCredentials, limits: Limits) {
        state = Mutex(State(credentials: credentials, limits: limits, budget: Self.budget(limits)))
    }

    public var credentials: TLSCredentials { state.withLock { $0.credentials } }
    public var limits: Limits { state.withLock { $0.limits } }

    /// New connections get `credentials`; open ones keep what they had.
    public func replace(_ credentials: TLSCredentials) {
        state.withLock { $0.credentials = credentials }
    }

    public func update(_ limits: Limits) {
        state.withLock {
            if $0.limits.handshakesPerSecond != limits.handshakesPerSecond { $0.budget = Self.budget(limits) }
            $0.limits = limits
        }
    }

    /// Spends one handshake of the budget; `.limited` says how long until the
    /// next is affordable.
    public func admitHandshake(nowMs: Millis) -> RateLimiter.Decision {
        state.withLock {
            guard $0.limits.handshakesPerSecond > 0 else { return .allowed }
            return $0.budget.consume("", now: nowMs)
        }
    }

    /// A second's worth of handshakes may come at once; the budget refills
    /// steadily over the second.
    private static func budget(_ limits: Limits) -> RateLimiter {
        RateLimiter(capacity: max(1, limits.handshakesPerSecond), windowMs: 1000, maxKeys: 1)
    }
}

/// On the TLS listener's own channel: counts each accepted connection
/// against the handshake budget. When it is spent, the connection is held
/// (not yet registered, so not yet read) and accepting stops; both resume as
/// the budget refills. The kernel's backlog holds later connections: nobody
/// is closed, the handshakes are spread over time.
final class HandshakeBudgetHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel

    private let endpoint: TLSEndpoint
    /// Accepted connections waiting for the budget (at most one read's worth).
    private var held: [NIOAny] = []
    private var drain: Scheduled<Void>?

    init(endpoint: TLSEndpoint) { self.endpoint = endpoint }

    private static func nowMs() -> Millis { Millis(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Held connections go first: while any waits, a release is scheduled.
        guard held.isEmpty else {
            held.append(data)
            return
        }
        let decision = endpoint.admitHandshake(nowMs: Self.nowMs())
        guard case .limited(let retryAfterMs) = decision else {
            context.fireChannelRead(data)
            return
        }
        held.append(data)
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
        schedule(context, in: .milliseconds(retryAfterMs))
    }

    /// Lets held connections through as the budget allows; accepting resumes
    /// when none is left waiting.
    private func release(_ context: ChannelHandlerContext) {
        drain = nil
        while !held.isEmpty {
            if case .limited(let retryAfterMs) = endpoint.admitHandshake(nowMs: Self.nowMs()) {
                schedule(context, in: .milliseconds(retryAfterMs))
                return
            }
            context.fireChannelRead(held.removeFirst())
        }
        try? context.channel.syncOptions?.setOption(.autoRead, value: true)
    }

    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        drain = context.eventLoop.scheduleTask(in: delay) { bound.value.0.release(bound.value.1) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        drain?.cancel()
        drain = nil
        for data in held { (unwrapInboundIn(data)).close(promise: nil) }
        held.removeAll()
        context.fireChannelInactive()
    }
}

/// Right after the TLS handler of a connection: closes it if the handshake
/// has not completed within the timeout, counts handshakes, and leaves the
/// pipeline once the handshake is done. A handshake that fails (a plaintext
/// client, an untrusted client certificate) is closed by NIOSSL; its error
/// passes on to the connection handler, which logs it at debug level.
final class TLSHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private let metrics: ServerMetrics
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, metrics: ServerMetrics) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let metrics = metrics
        timer = context.eventLoop.scheduleTask(in: timeout) {
            metrics.tlsHandshakes(.timedOut)
            bound.value.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            metrics.tlsHandshakes(.completed)
            timer?.cancel()
            timer = nil
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if timer != nil { metrics.tlsHandshakes(.failed) }
        context.fireErrorCaught(error)
    }
}
