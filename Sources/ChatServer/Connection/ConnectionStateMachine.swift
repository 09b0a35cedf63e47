import ChatCore
import ChatProtocol

/// The life of one client connection, with no I/O: the handler feeds it
/// events and runs the actions it returns.
///
///     awaitingHello --Hello--> open --Register/Login/Resume--> authenticating
///     authenticating --succeeded--> authenticated --Logout--> open
///     authenticating --failed--> open
///     any --close--> closed
///
/// It also owns the connection's bounds: requests in flight (reading pauses at
/// the cap), requests held while authentication is pending or while the
/// outbound budget is spent, the idle and authentication timeouts, token
/// expiry, and slow consumers.
///
/// Outbound memory: answers and pushes share one budget per connection
/// (`outboundBudget`, much smaller before authentication). A request starts
/// only while the bytes reserved for the answers of requests already running
/// are under the budget (`Op.answerSize`: a small reservation for acks, a
/// frame's worth for pages) and the channel is writable; otherwise it is held
/// in arrival order. Reading pauses while the channel is not writable. A peer
/// that stays over the budget for `slowConsumerGraceMs`, or lets unsent push
/// bytes reach twice the budget, is a slow consumer and is closed.
public struct ConnectionStateMachine: Sendable {
    public struct Settings: Sendable, Equatable {
        public var maxInflight: Int
        public var idleTimeoutMs: Int64
        public var authTimeoutMs: Int64
        /// Bytes of answers and pushes that may be queued or reserved for an
        /// authenticated connection.
        public var outboundBudget: Int
        /// The same before authentication: a peer that has proven nothing
        /// gets little.
        public var unauthenticatedOutboundBudget: Int
        /// What a request whose answer is a page (History, Sync...) reserves:
        /// the largest frame the server sends.
        public var largeAnswerReserve: Int
        /// How long a connection may stay over its outbound budget.
        public var slowConsumerGraceMs: Int64

        public init(
            maxInflight: Int, idleTimeoutMs: Int64, authTimeoutMs: Int64, outboundBudget: Int = 4 << 20,
            unauthenticatedOutboundBudget: Int = 64 << 10, largeAnswerReserve: Int = 1 << 20,
            slowConsumerGraceMs: Int64 = 10_000
        ) {
            self.maxInflight = maxInflight
            self.idleTimeoutMs = idleTimeoutMs
            self.authTimeoutMs = authTimeoutMs
            self.outboundBudget = outboundBudget
            self.unauthenticatedOutboundBudget = unauthenticatedOutboundBudget
            self.largeAnswerReserve = largeAnswerReserve
            self.slowConsumerGraceMs = slowConsumerGraceMs
        }
    }

    /// What a small answer (an ack, an error) reserves: far above any of
    /// them, so the sum bounds the queue.
    static let smallAnswerReserve = 8 << 10

    enum State: Sendable, Equatable {
        case awaitingHello
        case open
        case authenticating
        case authenticated(Session)
        case closed
    }

    /// What to do with a received frame.
    public enum FrameAction: Sendable, Equatable {
        /// Run the op. `session` is set for ops that need authentication.
        case process(Op, session: Session?)
        /// Hold the frame until the pending authentication finishes, then
        /// feed it again.
        case hold
        /// Answer with an error; the connection stays open.
        case reject(ErrorCode, String)
        /// Answer with an error (if `id` is meaningful), say goodbye, close.
        case rejectAndClose(ErrorCode, String, GoodbyeReason)
        /// The connection is closing: drop the frame.
        case ignore
    }

    public enum GoodbyeReason: Sendable, Equatable {
        case idleTimeout, authTimeout, protocolError, tokenExpired, deviceRevoked, accountDisabled
        case passwordChanged, serverShutdown, slowConsumer
        /// An operator ended the connection (chatctl sessions kick).
        case kicked
        /// Another connection of the device logged out or refreshed the token.
        case tokenEnded
    }

    /// What to do with push frames for this connection.
    public enum PushAction: Sendable, Equatable {
        case write
        /// The peer is not reading: say goodbye (slow consumer) and close.
        case close(GoodbyeReason)
        /// Not authenticated or closing: drop them.
        case drop
    }

    public enum TimerAction: Sendable, Equatable {
        /// Check again at this monotonic time.
        case checkAgain(atMs: Int64)
        case close(GoodbyeReason)
        case none
    }

    private(set) var state: State = .awaitingHello
    public let settings: Settings
    public private(set) var inflight = 0
    public private(set) var held = 0
    /// Bytes of the frames held.
    public private(set) var heldBytes = 0
    /// Bytes reserved for the answers of the requests running.
    public private(set) var reservedBytes = 0
    /// Since when the channel has been over its high-water mark (not writable).
    public private(set) var outboundBlockedSinceMs: Int64?
    private var lastReceivedMs: Int64
    /// When an unauthenticated connection is closed: connect (or logout) + auth timeout.
    private var authDeadlineMs: Int64

    public init(settings: Settings, nowMs: Int64) {
        self.settings = settings
        lastReceivedMs = nowMs
        authDeadlineMs = nowMs + settings.authTimeoutMs
    }

    public var session: Session? {
        if case .authenticated(let session) = state { return session }
        return nil
    }

    public var isClosed: Bool { state == .closed }

    /// Whether the handler may read more from the socket.
    public var shouldRead: Bool {
        state != .closed && inflight + held < settings.maxInflight && outboundBlockedSinceMs == nil
            && heldBytes < outboundBudget
    }

    /// The outbound budget for the connection's current state.
    public var outboundBudget: Int {
        session == nil ? settings.unauthenticatedOutboundBudget : settings.outboundBudget
    }

    /// Whether a request may start now (else it is held): the channel is
    /// writable and the answers already reserved leave room.
    private var mayStart: Bool {
        outboundBlockedSinceMs == nil && (reservedBytes == 0 || reservedBytes < outboundBudget)
    }

    /// Whether the handler should feed its oldest held frame again now.
    public var mayReleaseHeld: Bool {
        held > 0 && state != .closed && state != .authenticating && mayStart
    }

    // MARK: Events

    /// A complete frame arrived. `monotonicMs` drives idle detection,
    /// `wallMs` token expiry.
    /// `bytes` is the frame's size (held frames count against the budget);
    /// `released` marks a held frame fed again, which may not pass the frames
    /// still held before it.
    public mutating func frameReceived(
        rawKind: UInt8, flags: UInt8, op rawOp: UInt16, bytes: Int = 0, released: Bool = false, monotonicMs: Int64,
        wallMs: Int64
    ) -> FrameAction {
        if state == .closed { return .ignore }
        if !released { lastReceivedMs = monotonicMs }
        guard rawKind == FrameKind.request.rawValue else {
            return .reject(.badFrame, "clients send only request frames (kind 1), got kind \(rawKind)")
        }
        guard flags == 0 else { return .reject(.badFrame, "unknown flags 0x\(String(flags, radix: 16))") }
        guard let op = Op(rawValue: rawOp) else { return .reject(.unknownOp, "unknown op \(rawOp)") }
        // Frames held for the budget run in arrival order: a newcomer queues behind them.
        if !released && held > 0 && state != .authenticating { return hold(bytes) }

        switch state {
        case .closed:
            return .ignore
        case .awaitingHello:
            guard op == .hello else { return .reject(.helloRequired, "the first request must be Hello") }
            return start(op, session: nil, bytes: bytes)
        case .authenticating:
            switch op.requirement {
            case .hello: return start(op, session: nil, bytes: bytes)
            case .none, .unauthenticated, .authenticated: return hold(bytes)
            }
        case .open:
            switch op.requirement {
            case .none: return .reject(.wrongState, "Hello was already received")
            case .hello: return start(op, session: nil, bytes: bytes)
            case .unauthenticated:
                guard mayStart else { return hold(bytes) }
                state = .authenticating
                return start(op, session: nil, bytes: bytes)
            case .authenticated: return .reject(.unauthenticated, "log in first")
            }
        case .authenticated(let session):
            if session.tokenExpiresAt <= wallMs {
                state = .closed
                return .rejectAndClose(.tokenExpired, "token expired; log in again", .tokenExpired)
            }
            switch op.requirement {
            case .none: return .reject(.wrongState, "Hello was already received")
            case .hello, .authenticated: return start(op, session: session, bytes: bytes)
            case .unauthenticated: return .reject(.wrongState, "already authenticated; log out first")
            }
        }
    }

    /// The stream cannot be parsed any further.
    public mutating func malformedStream() -> FrameAction {
        if state == .closed { return .ignore }
        state = .closed
        return .rejectAndClose(.badFrame, "frame length below header size", .protocolError)
    }

    /// A held frame of `bytes` is being fed again (`mayReleaseHeld`).
    public mutating func heldFrameReleased(bytes: Int = 0) {
        held = max(0, held - 1)
        heldBytes = max(0, heldBytes - bytes)
    }

    /// The answer of a processed request was written.
    public mutating func requestCompleted(_ op: Op? = nil) {
        inflight = max(0, inflight - 1)
        if let op { reservedBytes = max(0, reservedBytes - reserve(for: op)) }
    }

    /// The channel went over its high-water mark: reading pauses and, unless
    /// it drains, the grace for slow consumers runs from now.
    public mutating func outboundBlocked(monotonicMs now: Int64) {
        if outboundBlockedSinceMs == nil { outboundBlockedSinceMs = now }
    }

    /// The channel drained under its low-water mark: reading may resume and
    /// held frames may start.
    public mutating func outboundDrained() {
        outboundBlockedSinceMs = nil
    }

    /// Pushes of `bytes` are to be written while `unsentBytes` (flushed, not
    /// yet taken by the kernel) wait. Only asked when the channel is not
    /// writable: bytes written in this event-loop round and not yet flushed
    /// are no sign of a slow peer and are not counted.
    public mutating func pushesArrived(bytes: Int, unsentBytes: Int) -> PushAction {
        guard state != .closed, session != nil else { return .drop }
        if unsentBytes + bytes > 2 * outboundBudget {
            state = .closed
            return .close(.slowConsumer)
        }
        return .write
    }

    /// Hello was answered: the connection may authenticate.
    public mutating func helloAnswered() {
        if state == .awaitingHello { state = .open }
    }

    public mutating func authenticationSucceeded(_ session: Session) {
        if state == .authenticating { state = .authenticated(session) }
    }

    public mutating func authenticationFailed() {
        if state == .authenticating { state = .open }
    }

    /// The token was rotated: keep the new expiry.
    public mutating func sessionRefreshed(_ session: Session) {
        if case .authenticated = state { state = .authenticated(session) }
    }

    public mutating func loggedOut(monotonicMs now: Int64) {
        if case .authenticated = state {
            state = .open
            authDeadlineMs = now + settings.authTimeoutMs
        }
    }

    /// The server ends this connection for `reason` (revocation, shutdown...).
    /// Returns false if it was already closing.
    public mutating func closeRequested() -> Bool {
        if state == .closed { return false }
        state = .closed
        return true
    }

    /// The periodic timer fired.
    public mutating func timerFired(monotonicMs now: Int64) -> TimerAction {
        if state == .closed { return .none }
        var next = lastReceivedMs + settings.idleTimeoutMs
        if let since = outboundBlockedSinceMs {
            let graceEnd = since + settings.slowConsumerGraceMs
            if now >= graceEnd {
                state = .closed
                return .close(.slowConsumer)
            }
            next = min(next, graceEnd)
        }
        if session == nil {
            if now >= authDeadlineMs {
                state = .closed
                return .close(.authTimeout)
            }
            next = min(next, authDeadlineMs)
        }
        if now >= lastReceivedMs + settings.idleTimeoutMs {
            state = .closed
            return .close(.idleTimeout)
        }
        return .checkAgain(atMs: next)
    }

    private mutating func start(_ op: Op, session: Session?, bytes: Int) -> FrameAction {
        guard mayStart else { return hold(bytes) }
        inflight += 1
        reservedBytes += reserve(for: op)
        return .process(op, session: session)
    }

    private mutating func hold(_ bytes: Int) -> FrameAction {
        held += 1
        heldBytes += bytes
        return .hold
    }

    private func reserve(for op: Op) -> Int {
        switch op.answerSize {
        case .small: Self.smallAnswerReserve
        case .page: settings.largeAnswerReserve
        }
    }
}
