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
/// the cap), requests held while authentication is pending, the idle and
/// authentication timeouts, and token expiry.
public struct ConnectionStateMachine: Sendable {
    public struct Settings: Sendable, Equatable {
        public var maxInflight: Int
        public var idleTimeoutMs: Int64
        public var authTimeoutMs: Int64

        public init(maxInflight: Int, idleTimeoutMs: Int64, authTimeoutMs: Int64) {
            self.maxInflight = maxInflight
            self.idleTimeoutMs = idleTimeoutMs
            self.authTimeoutMs = authTimeoutMs
        }
    }

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
    public var shouldRead: Bool { state != .closed && inflight + held < settings.maxInflight }

    // MARK: Events

    /// A complete frame arrived. `monotonicMs` drives idle detection,
    /// `wallMs` token expiry.
    public mutating func frameReceived(
        rawKind: UInt8, flags: UInt8, op rawOp: UInt16, monotonicMs: Int64, wallMs: Int64
    ) -> FrameAction {
        if state == .closed { return .ignore }
        lastReceivedMs = monotonicMs
        guard rawKind == FrameKind.request.rawValue else {
            return .reject(.badFrame, "clients send only request frames (kind 1), got kind \(rawKind)")
        }
        guard flags == 0 else { return .reject(.badFrame, "unknown flags 0x\(String(flags, radix: 16))") }
        guard let op = Op(rawValue: rawOp) else { return .reject(.unknownOp, "unknown op \(rawOp)") }

        switch state {
        case .closed:
            return .ignore
        case .awaitingHello:
            guard op == .hello else { return .reject(.helloRequired, "the first request must be Hello") }
            return start(op, session: nil)
        case .authenticating:
            switch op.requirement {
            case .hello: return start(op, session: nil)
            case .none, .unauthenticated, .authenticated:
                held += 1
                return .hold
            }
        case .open:
            switch op.requirement {
            case .none: return .reject(.wrongState, "Hello was already received")
            case .hello: return start(op, session: nil)
            case .unauthenticated:
                state = .authenticating
                return start(op, session: nil)
            case .authenticated: return .reject(.unauthenticated, "log in first")
            }
        case .authenticated(let session):
            if session.tokenExpiresAt <= wallMs {
                state = .closed
                return .rejectAndClose(.tokenExpired, "token expired; log in again", .tokenExpired)
            }
            switch op.requirement {
            case .none: return .reject(.wrongState, "Hello was already received")
            case .hello, .authenticated: return start(op, session: session)
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

    /// A held frame is being fed again (after authentication finished).
    public mutating func heldFrameReleased() {
        held = max(0, held - 1)
    }

    /// A response (or error) for a processed request was written.
    public mutating func requestCompleted() {
        inflight = max(0, inflight - 1)
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
        switch state {
        case .closed:
            return .none
        case .awaitingHello, .open, .authenticating:
            let authDeadline = authDeadlineMs
            if now >= authDeadline {
                state = .closed
                return .close(.authTimeout)
            }
            let idleDeadline = lastReceivedMs + settings.idleTimeoutMs
            if now >= idleDeadline {
                state = .closed
                return .close(.idleTimeout)
            }
            return .checkAgain(atMs: min(authDeadline, idleDeadline))
        case .authenticated:
            let idleDeadline = lastReceivedMs + settings.idleTimeoutMs
            if now >= idleDeadline {
                state = .closed
                return .close(.idleTimeout)
            }
            return .checkAgain(atMs: idleDeadline)
        }
    }

    private mutating func start(_ op: Op, session: Session?) -> FrameAction {
        inflight += 1
        return .process(op, session: session)
    }
}
