import ChatCore
import ChatProtocol
import NIOCore

/// The life of one client connection, with no I/O: the handler feeds it
/// events and runs the actions it returns. Every per-connection decision is
/// here; times come in as arguments (the handler reads the clocks).
///
///     awaitingHello --Hello--> open --Register/Login/Resume--> authenticating
///     authenticating --succeeded--> authenticated --Logout--> open
///     authenticating --failed--> open
///     any --server ends it, requests in flight--> closing --answered--> closed
///     any --close--> closed
///
/// It also owns the connection's bounds: requests in flight (reading pauses at
/// the cap), the frames held while authentication is pending or while the
/// outbound budget is spent (the one ledger of them), whether a read is
/// pending, the idle and authentication timeouts, token expiry, refusal while
/// the server drains, and slow consumers.
///
/// Outbound memory: answers and pushes share one budget per connection
/// (`outboundBudget`, much smaller before authentication). A request starts
/// only while the bytes queued in the channel plus those reserved for the
/// answers of requests already running are under the budget
/// (`Op.answerSize`: a small reservation for acks, a frame's worth for pages)
/// and the channel is writable, or when nothing is reserved and the channel
/// is writable (so a connection always makes progress); otherwise it is held
/// in arrival order. Queued plus reserved bytes therefore stay under the
/// budget plus one reservation. Reading pauses while the channel is not
/// writable. A peer that stays over the budget for `slowConsumerGraceMs`, or
/// lets unsent push bytes reach twice the budget, is a slow consumer and is
/// closed.
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
        /// The server ended the connection while requests were in flight:
        /// their answers go out, then the goodbye with this reason.
        case closing(GoodbyeReason)
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

    /// What to answer a Hello.
    public enum HelloDecision: Sendable, Equatable {
        /// Answer with this protocol version; the connection may authenticate.
        case accept(version: UInt32)
        case refuse(ErrorCode, String, field: String)
    }

    /// What to do when the server ends the connection.
    public enum EndAction: Sendable, Equatable {
        /// Say goodbye with the reason and close now.
        case sayGoodbye(GoodbyeReason)
        /// Requests are in flight: `goodbyeDue()` says when to say goodbye
        /// (their answers first), `closingTimedOut()` when to stop waiting.
        case awaitAnswers
        /// Already closing or closed.
        case none
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
    /// The frames held, oldest first (rare: allocated small).
    private var heldFrames = CircularBuffer<Frame>(initialCapacity: 1)
    public var held: Int { heldFrames.count }
    /// Bytes of the frames held.
    public private(set) var heldBytes = 0
    /// The channel asked to read while reading was paused.
    private var readPending = false
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

    /// Closing or closed: no new requests, no pushes.
    public var isClosed: Bool {
        switch state {
        case .closing, .closed: true
        default: false
        }
    }

    /// Closing with requests in flight: their answers are still written.
    public var isAwaitingAnswers: Bool {
        if case .closing = state { return true }
        return false
    }

    /// Whether the handler may read more from the socket.
    public var shouldRead: Bool {
        !isClosed && inflight + held < settings.maxInflight && outboundBlockedSinceMs == nil
            && heldBytes < outboundBudget
    }

    /// The outbound budget for the connection's current state.
    public var outboundBudget: Int {
        session == nil ? settings.unauthenticatedOutboundBudget : settings.outboundBudget
    }

    /// Whether a request may start now (else it is held): the channel is
    /// writable and the bytes it has queued (`queuedBytes`, written and not
    /// yet taken by the kernel) plus the answers already reserved leave room.
    private func mayStart(queuedBytes: Int) -> Bool {
        outboundBlockedSinceMs == nil && (reservedBytes == 0 || queuedBytes + reservedBytes < outboundBudget)
    }

    /// Whether the oldest held frame may be fed again now, with `queuedBytes`
    /// waiting in the channel.
    public func mayReleaseHeld(queuedBytes: Int) -> Bool {
        held > 0 && !isClosed && state != .authenticating && mayStart(queuedBytes: queuedBytes)
    }

    // MARK: Events

    /// A complete frame arrived (or, `released`, a held one is fed again: it
    /// may not pass the frames still held before it). `queuedBytes` are the
    /// bytes waiting in the channel (outbound budget); `monotonicMs` drives
    /// idle detection, `wallMs` token expiry; while `draining`, requests that
    /// need the services are refused. A frame the machine holds goes into its
    /// ledger; `releaseHeld(queuedBytes:)` gives it back when it may run.
    public mutating func frameReceived(
        _ frame: Frame, released: Bool = false, draining: Bool = false, queuedBytes: Int = 0, monotonicMs: Int64,
        wallMs: Int64
    ) -> FrameAction {
        let action = decide(
            rawKind: frame.rawKind, flags: frame.flags, op: frame.op, bytes: Self.size(of: frame), released: released,
            draining: draining, queuedBytes: queuedBytes, monotonicMs: monotonicMs, wallMs: wallMs)
        if action == .hold {
            if released { heldFrames.prepend(frame) } else { heldFrames.append(Self.detached(frame)) }
        }
        return action
    }

    /// The frame with a payload of its own: a frame read is a slice of the
    /// receive buffer, and a held one would keep all of it alive (a megabyte
    /// or more after a large frame), far past the bytes the ledger counts.
    /// Held frames are rare; the copy is small.
    static func detached(_ frame: Frame) -> Frame {
        var payload = ByteBufferAllocator().buffer(capacity: frame.payload.readableBytes)
        payload.writeImmutableBuffer(frame.payload)
        return Frame(rawKind: frame.rawKind, flags: frame.flags, op: frame.op, id: frame.id, payload: payload)
    }

    /// The oldest held frame, when it may be fed again now (`frameReceived`
    /// with `released: true`); nil otherwise.
    public mutating func releaseHeld(queuedBytes: Int) -> Frame? {
        guard mayReleaseHeld(queuedBytes: queuedBytes), let frame = heldFrames.popFirst() else { return nil }
        heldBytes = max(0, heldBytes - Self.size(of: frame))
        return frame
    }

    /// What a held frame costs: its payload plus header and bookkeeping.
    static func size(of frame: Frame) -> Int { frame.payload.readableBytes + 64 }

    private mutating func decide(
        rawKind: UInt8, flags: UInt8, op rawOp: UInt16, bytes: Int, released: Bool, draining: Bool, queuedBytes: Int,
        monotonicMs: Int64, wallMs: Int64
    ) -> FrameAction {
        if isClosed { return .ignore }
        if !released { lastReceivedMs = monotonicMs }
        guard rawKind == FrameKind.request.rawValue else {
            return .reject(.badFrame, "clients send only request frames (kind 1), got kind \(rawKind)")
        }
        guard flags == 0 else { return .reject(.badFrame, "unknown flags 0x\(String(flags, radix: 16))") }
        guard let op = Op(rawValue: rawOp) else { return .reject(.unknownOp, "unknown op \(rawOp)") }
        // Frames held for the budget run in arrival order: a newcomer queues behind them.
        if !released && held > 0 && state != .authenticating { return hold(bytes) }

        switch state {
        case .closing, .closed:
            return .ignore
        case .awaitingHello:
            guard op == .hello else { return .reject(.helloRequired, "the first request must be Hello") }
            return start(op, session: nil, bytes: bytes, draining: draining, queuedBytes: queuedBytes)
        case .authenticating:
            switch op.requirement {
            case .hello: return start(op, session: nil, bytes: bytes, draining: draining, queuedBytes: queuedBytes)
            case .none, .unauthenticated, .authenticated: return hold(bytes)
            }
        case .open:
            switch op.requirement {
            case .none: return .reject(.wrongState, "Hello was already received")
            case .hello: return start(op, session: nil, bytes: bytes, draining: draining, queuedBytes: queuedBytes)
            case .unauthenticated: return start(op, session: nil, bytes: bytes, draining: draining, queuedBytes: queuedBytes, authenticates: true)
            case .authenticated: return .reject(.unauthenticated, "log in first")
            }
        case .authenticated(let session):
            if session.tokenExpiresAt <= wallMs {
                state = .closed
                return .rejectAndClose(.tokenExpired, "token expired; log in again", .tokenExpired)
            }
            switch op.requirement {
            case .none: return .reject(.wrongState, "Hello was already received")
            case .hello, .authenticated: return start(op, session: session, bytes: bytes, draining: draining, queuedBytes: queuedBytes)
            case .unauthenticated: return .reject(.wrongState, "already authenticated; log out first")
            }
        }
    }

    /// The Hello request's fields (spec §3.1): a version this server speaks,
    /// a client name of 1–64 bytes, a version of at most 64.
    public mutating func helloReceived(protocolVersion: UInt32, clientName: String, clientVersion: String) -> HelloDecision {
        guard protocolVersion >= 1 else {
            return .refuse(
                .unsupportedVersion,
                "protocol_version \(protocolVersion) is not supported; this server speaks \(chatProtocolVersion)", field: "")
        }
        if clientName.isEmpty { return .refuse(.invalidField, "client_name must not be empty", field: "client_name") }
        for (field, value) in [("client_name", clientName), ("client_version", clientVersion)]
        where value.utf8.count > Self.maxClientNameBytes {
            return .refuse(.tooLarge, "\(field) is longer than \(Self.maxClientNameBytes) bytes", field: field)
        }
        helloAnswered()
        return .accept(version: min(protocolVersion, chatProtocolVersion))
    }

    /// Hello's client_name and client_version (spec §10).
    static let maxClientNameBytes = 64

    /// The stream cannot be parsed any further.
    public mutating func malformedStream() -> FrameAction {
        if isClosed { return .ignore }
        state = .closed
        return .rejectAndClose(.badFrame, "frame length below header size", .protocolError)
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
        guard !isClosed, session != nil else { return .drop }
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

    /// The connection closes now (the peer went away, a refusal, a protocol
    /// error). Returns false if it was already closing.
    public mutating func closeRequested() -> Bool {
        if isClosed { return false }
        state = .closed
        return true
    }

    /// The socket closed: the frames held will never run (a request still
    /// in flight may keep the handler, hence this machine, for a while).
    public mutating func dropHeld() {
        heldFrames.removeAll()
        heldBytes = 0
    }

    /// Another part of the server ends this connection for `reason`
    /// (revocation, kick, shutdown): at once, or after the answers of the
    /// requests in flight (e.g. a device revoking itself gets its answer).
    public mutating func endRequested(_ reason: GoodbyeReason) -> EndAction {
        if isClosed { return .none }
        if inflight > 0 {
            state = .closing(reason)
            return .awaitAnswers
        }
        state = .closed
        return .sayGoodbye(reason)
    }

    /// Closing, and the last answer is out: the goodbye's reason (once).
    public mutating func goodbyeDue() -> GoodbyeReason? {
        guard case .closing(let reason) = state, inflight == 0 else { return nil }
        state = .closed
        return reason
    }

    /// Closing took too long (a stuck request): the goodbye's reason (once).
    public mutating func closingTimedOut() -> GoodbyeReason? {
        guard case .closing(let reason) = state else { return nil }
        state = .closed
        return reason
    }

    /// The channel asks for more bytes (NIO's read): true to read now; false
    /// pauses reading until `resumeReading()` says otherwise.
    public mutating func readRequested() -> Bool {
        if shouldRead { return true }
        readPending = true
        return false
    }

    /// After an event that may free room (an answer, a drained channel):
    /// true when a paused read should be issued now (once).
    public mutating func resumeReading() -> Bool {
        guard readPending && shouldRead else { return false }
        readPending = false
        return true
    }

    /// The periodic timer fired.
    public mutating func timerFired(monotonicMs now: Int64) -> TimerAction {
        if isClosed { return .none }
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

    private mutating func start(
        _ op: Op, session: Session?, bytes: Int, draining: Bool, queuedBytes: Int, authenticates: Bool = false
    ) -> FrameAction {
        guard mayStart(queuedBytes: queuedBytes) else { return hold(bytes) }
        // Hello and Typing are answered on the event loop, without the services.
        if draining && op != .hello && op != .typing { return .reject(.unavailable, "server is shutting down") }
        if authenticates { state = .authenticating }
        inflight += 1
        reservedBytes += reserve(for: op)
        return .process(op, session: session)
    }

    private mutating func hold(_ bytes: Int) -> FrameAction {
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
