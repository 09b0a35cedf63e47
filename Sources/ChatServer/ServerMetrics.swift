import ChatProtocol
import CoreMetrics
import Synchronization

/// chatd's metrics, through swift-metrics with an explicit factory (each
/// daemon has its own registry; the tests run several in one process).
/// Without the metrics endpoint the factory is swift-metrics' no-op one.
/// The names are listed in spec/PROTOCOL.md §11.4.
public final class ServerMetrics: Sendable {
    let factory: any MetricsFactory
    let pushesSent: Counter
    let slowConsumers: Counter
    let connectionsOpened: Counter
    let connectionsRefused: Counter
    let messagesStored: Counter
    let writeBatchSize: Recorder
    let commitLatency: CoreMetrics.Timer
    /// Labelled counters, made on first use.
    private let labelled = Mutex<[String: Counter]>([:])

    /// Labels of the histograms, for their buckets.
    public static let writeBatchSizeLabel = "chatd_write_batch_size"
    public static let commitLatencyLabel = "chatd_commit_duration_seconds"
    public static let requestDurationLabel = "chatd_request_duration_seconds"

    /// The `# HELP` text of every metric made through swift-metrics (the
    /// gauges set at scrape time carry theirs where they are made).
    public static let help: [String: String] = [
        "chatd_pushes_sent_total": "Push frames written to client connections.",
        "chatd_slow_consumers_dropped_total": "Connections closed with Goodbye SLOW_CONSUMER.",
        "chatd_connections_opened_total": "Client connections accepted.",
        "chatd_connections_refused_total": "Client connections closed on accept for the connection limits.",
        "chatd_messages_stored_total": "MESSAGE events committed.",
        "chatd_requests_total": "Client requests answered, by op and result (ok or the error code).",
        "chatd_logins_total": "Authentication attempts, by method (password: Login, token: Resume) and result.",
        "chatd_tls_handshakes_total": "TLS handshakes on the client listener, by result.",
        "chatd_push_notifications_total":
            "Push notifications to offline devices, by result: sent, retried, gone (target removed), failed (refused or out of retries), dropped (queue full), skipped (muted, level, no longer a member).",
        writeBatchSizeLabel: "Writes per group-commit batch.",
        commitLatencyLabel: "Time to run and commit one group-commit batch.",
        requestDurationLabel: "Time from a request's start to its answer, by op (requests that go to the services).",
    ]

    /// Request duration histograms, by op's wire number (made up front: the
    /// request path does no lookup under a lock).
    private let requestDurations: [CoreMetrics.Timer?]
    /// `chatd_requests_total{result="ok"}` by op's wire number, made up front
    /// too: an answered request does no label formatting, lock or dictionary
    /// lookup (errors, rarer, go through `counter`).
    private let requestsOK: [Counter?]

    /// False with the no-op factory: request accounting is skipped.
    let enabled: Bool

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        enabled = !(factory is NOOPMetricsHandler)
        pushesSent = Counter(label: "chatd_pushes_sent_total", factory: factory)
        slowConsumers = Counter(label: "chatd_slow_consumers_dropped_total", factory: factory)
        connectionsOpened = Counter(label: "chatd_connections_opened_total", factory: factory)
        connectionsRefused = Counter(label: "chatd_connections_refused_total", factory: factory)
        messagesStored = Counter(label: "chatd_messages_stored_total", factory: factory)
        writeBatchSize = Recorder(label: Self.writeBatchSizeLabel, factory: factory)
        commitLatency = CoreMetrics.Timer(label: Self.commitLatencyLabel, factory: factory)
        let opSlots = Int(Op.allCases.map(\.rawValue).max() ?? 0) + 1
        var durations = [CoreMetrics.Timer?](repeating: nil, count: opSlots)
        var oks = [Counter?](repeating: nil, count: opSlots)
        if enabled {
            for op in Op.allCases {
                durations[Int(op.rawValue)] = CoreMetrics.Timer(
                    label: Self.requestDurationLabel, dimensions: [("op", "\(op)")], factory: factory)
                oks[Int(op.rawValue)] = Counter(
                    label: "chatd_requests_total", dimensions: [("op", "\(op)"), ("result", "ok")], factory: factory)
            }
        }
        requestDurations = durations
        requestsOK = oks
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return labelled.withLock { cache in
            if let counter = cache[key] { return counter }
            let made = Counter(label: label, dimensions: dimensions, factory: factory)
            cache[key] = made
            return made
        }
    }

    /// A client request was answered: counts it by op and result (the error
    /// code's name, or "ok"), and Login and Resume as logins; `duration`,
    /// when given, goes into the op's histogram.
    func requestAnswered(op: Op, response: Frame, duration: Duration? = nil) {
        guard enabled else { return }
        if let duration, let timer = requestDurations[Int(op.rawValue)] { timer.recordNanoseconds(Self.nanoseconds(duration)) }
        var code: ErrorCode?
        if response.rawKind == FrameKind.error.rawValue {
            let wire = (try? Chatd_V1_ErrorResponse(payload: response.payload))?.code
            let failed = wire.flatMap(ErrorCode.init(rawValue:)) ?? .internal
            counter("chatd_requests_total", [("op", "\(op)"), ("result", "\(failed)")]).increment()
            code = failed
        } else {
            requestsOK[Int(op.rawValue)]?.increment()
        }
        let method: String
        switch op {
        case .login: method = "password"
        case .resume: method = "token"
        default: return
        }
        let outcome = code == nil ? "ok" : code == .rateLimited ? "throttled" : "failed"
        counter("chatd_logins_total", [("method", method), ("result", outcome)]).increment()
    }

    public enum HandshakeResult: String, Sendable {
        case completed
        case failed
        case timedOut = "timed_out"
    }

    /// A TLS handshake on the client listener finished, failed or ran out of time.
    func tlsHandshakes(_ result: HandshakeResult) {
        guard enabled else { return }
        counter("chatd_tls_handshakes_total", [("result", result.rawValue)]).increment()
    }

    /// A batch of writes committed (the store's group commit).
    public func batchCommitted(writes: Int, duration: Duration) {
        writeBatchSize.record(writes)
        commitLatency.recordNanoseconds(Self.nanoseconds(duration))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds &* 1_000_000_000 &+ duration.components.attoseconds / 1_000_000_000
    }

    /// A push notification's fate (§4.8): `sent`, `retried`, `gone`, `failed`, `dropped`, `skipped`.
    public func pushNotification(_ result: String, count: Int = 1) {
        guard enabled, count > 0 else { return }
        counter("chatd_push_notifications_total", [("result", result)]).increment(by: count)
    }

    public func messagesCommitted(_ count: Int) {
        if count > 0 { messagesStored.increment(by: count) }
    }
}
