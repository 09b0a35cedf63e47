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
    func admitHandshake(nowMs: Millis) -> RateLimiter.Decision {
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
/// against the handshake budget and, when it is spent, stops accepting until
/// it refills (connections wait in the kernel's backlog; nobody is closed).
final class HandshakeBudgetHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel

    private let endpoint: TLSEndpoint
    private var paused = false

    init(endpoint: TLSEndpoint) { self.endpoint = endpoint }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        let now = Millis(NIODeadline.now().uptimeNanoseconds / 1_000_000)
        guard case .limited(let retryAfterMs) = endpoint.admitHandshake(nowMs: now), !paused,
            let options = context.channel.syncOptions
        else { return }
        paused = true
        try? options.setOption(.autoRead, value: false)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .milliseconds(retryAfterMs)) {
            bound.value.paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
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
