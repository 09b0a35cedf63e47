import ChatBuildInfo
import ChatCore
import ChatProtocol
import Logging
import Synchronization

/// Connection-level settings (config `[server]`).
public struct ServerSettings: Sendable, Equatable {
    public var maxFrameLength: Int
    public var maxInflight: Int
    public var idleTimeoutMs: Int64
    public var authTimeoutMs: Int64
    /// Outbound budget of an authenticated connection (answers and pushes
    /// queued or reserved); see ConnectionStateMachine.
    public var maxOutboundBytes: Int
    /// The same before the connection authenticates.
    public var maxOutboundBytesBeforeLogin: Int
    /// How long a connection may stay over its budget before it is closed
    /// as a slow consumer.
    public var slowConsumerGraceMs: Int64
    /// Client connections open at once, in all and from one peer address.
    public var maxConnections: Int
    public var maxConnectionsPerAddress: Int
    /// Requests with page answers (History, Sync, searches...) one user may
    /// have running at once, across connections: the readers are shared.
    public var maxConcurrentPagesPerUser: Int
    public var serverVersion: String

    public init(
        maxFrameLength: Int = Int(Setting.serverMaxFrameBytes.defaultValue),
        maxInflight: Int = Int(Setting.serverMaxInflightRequests.defaultValue),
        idleTimeoutMs: Int64 = Setting.serverIdleTimeoutSeconds.defaultValue * 1000,
        authTimeoutMs: Int64 = Setting.serverAuthTimeoutSeconds.defaultValue * 1000,
        maxOutboundBytes: Int = Int(Setting.serverMaxOutboundBytes.defaultValue),
        maxOutboundBytesBeforeLogin: Int = Int(Setting.serverMaxOutboundBytesBeforeLogin.defaultValue),
        slowConsumerGraceMs: Int64 = Setting.serverSlowConsumerGraceSeconds.defaultValue * 1000,
        maxConnections: Int = Int(Setting.serverMaxConnections.defaultValue),
        maxConnectionsPerAddress: Int = Int(Setting.serverMaxConnectionsPerAddress.defaultValue),
        maxConcurrentPagesPerUser: Int = Int(Setting.serverMaxConcurrentPagesPerUser.defaultValue),
        serverVersion: String = chatdVersion
    ) {
        self.maxFrameLength = maxFrameLength
        self.maxInflight = maxInflight
        self.idleTimeoutMs = idleTimeoutMs
        self.authTimeoutMs = authTimeoutMs
        self.maxOutboundBytes = maxOutboundBytes
        self.maxOutboundBytesBeforeLogin = maxOutboundBytesBeforeLogin
        self.slowConsumerGraceMs = slowConsumerGraceMs
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxConcurrentPagesPerUser = maxConcurrentPagesPerUser
        self.serverVersion = serverVersion
    }

    var machine: ConnectionStateMachine.Settings {
        ConnectionStateMachine.Settings(
            maxInflight: maxInflight, idleTimeoutMs: idleTimeoutMs, authTimeoutMs: authTimeoutMs,
            outboundBudget: maxOutboundBytes, unauthenticatedOutboundBudget: maxOutboundBytesBeforeLogin,
            largeAnswerReserve: maxFrameLength, slowConsumerGraceMs: slowConsumerGraceMs)
    }

    var connectionLimits: ConnectionLimiter.Limits {
        ConnectionLimiter.Limits(maxTotal: maxConnections, maxPerAddress: maxConnectionsPerAddress)
    }
}

/// The version chatd reports (Hello, chatctl status, backups).
public let chatdVersion = BuildInfo.version

extension ServerSettings {
    /// How long a typing=true lasts unless renewed (announced in Hello).
    public static let typingTimeoutMs: UInt32 = 6000
}

/// Everything a connection handler needs, shared by all connections.
public final class ServerContext: Sendable {
    public let router: ClientRouter
    public let registry: SessionRegistry
    public let hub: FanoutHub
    public let crypto: any TokenCrypto
    public let logger: Logger
    public let metrics: ServerMetrics
    public let admission: ConnectionAdmission
    /// Page requests running per user (`maxConcurrentPagesPerUser`).
    let pageReads: KeyedLock<UserID>
    private let settingsBox: Mutex<ServerSettings>
    /// Set when shutdown begins: new requests get `unavailable`.
    let draining = Atomic<Bool>(false)
    /// Requests being processed across all connections.
    let inflight = Atomic<Int>(0)

    public init(
        router: ClientRouter, registry: SessionRegistry, hub: FanoutHub, crypto: any TokenCrypto,
        settings: ServerSettings, logger: Logger, metrics: ServerMetrics = ServerMetrics()
    ) {
        self.metrics = metrics
        self.router = router
        self.registry = registry
        self.hub = hub
        self.crypto = crypto
        self.logger = logger
        admission = ConnectionAdmission(limits: settings.connectionLimits)
        pageReads = KeyedLock(permits: settings.maxConcurrentPagesPerUser)
        settingsBox = Mutex(settings)
    }

    public var settings: ServerSettings { settingsBox.withLock { $0 } }

    public func updateSettings(_ settings: ServerSettings) {
        settingsBox.withLock { $0 = settings }
        admission.update(settings.connectionLimits)
    }

    /// Tells every client connection (of every listener) the server is going
    /// away and closes it.
    public func endAllConnections() {
        for connection in registry.allConnections() { connection.end(.serverShutdown) }
    }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// From now on requests are answered `unavailable`.
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    public var inflightRequests: Int { inflight.load(ordering: .relaxed) }

    func helloLimits() -> Chatd_V1_Limits {
        let s = settings
        let d = router.accounts.limits
        var l = Chatd_V1_Limits()
        l.maxFrameLength = UInt32(s.maxFrameLength)
        l.maxInflightRequests = UInt32(s.maxInflight)
        l.heartbeatIntervalMs = UInt32(clamping: s.idleTimeoutMs / 3)
        l.idleTimeoutMs = UInt32(clamping: s.idleTimeoutMs)
        l.authTimeoutMs = UInt32(clamping: s.authTimeoutMs)
        l.maxMessageBytes = UInt32(d.maxMessageBytes)
        l.maxHistoryLimit = UInt32(d.maxHistoryLimit)
        l.minPasswordBytes = UInt32(d.minPasswordBytes)
        l.maxPasswordBytes = UInt32(d.maxPasswordBytes)
        l.maxRoomNameBytes = UInt32(d.maxRoomNameBytes)
        l.maxDescriptionBytes = UInt32(d.maxDescriptionBytes)
        l.maxDisplayNameBytes = UInt32(d.maxDisplayNameBytes)
        l.maxStatusTextBytes = UInt32(d.maxStatusTextBytes)
        l.maxAvatarURLBytes = UInt32(d.maxAvatarURLBytes)
        l.registrationOpen = d.registrationOpen
        l.typingTimeoutMs = ServerSettings.typingTimeoutMs
        l.receiptsMemberListMax = UInt32(clamping: d.receiptsMemberListMax)
        let f = router.files.limits
        l.maxFileBytes = UInt64(max(0, f.maxFileBytes))
        l.maxChunkBytes = UInt32(clamping: f.maxChunkBytes)
        l.userQuotaBytes = UInt64(max(0, f.userQuotaBytes))
        l.allowedTypes = f.policy.allowed.sorted()
        l.maxOpenUploads = UInt32(clamping: FileLimits.maxOpenUploads)
        l.uploadTtlMs = UInt32(clamping: f.uploadTTLMs)
        return l
    }
}
