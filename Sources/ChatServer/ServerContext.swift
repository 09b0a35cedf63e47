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
    /// Bytes queued for one connection before it counts as a slow consumer.
    public var maxOutboundBytes: Int
    public var serverVersion: String

    public init(
        maxFrameLength: Int = 1 << 20, maxInflight: Int = 64, idleTimeoutMs: Int64 = 90_000,
        authTimeoutMs: Int64 = 20_000, maxOutboundBytes: Int = 4 << 20, serverVersion: String = chatdVersion
    ) {
        self.maxFrameLength = maxFrameLength
        self.maxInflight = maxInflight
        self.idleTimeoutMs = idleTimeoutMs
        self.authTimeoutMs = authTimeoutMs
        self.maxOutboundBytes = maxOutboundBytes
        self.serverVersion = serverVersion
    }

    var machine: ConnectionStateMachine.Settings {
        ConnectionStateMachine.Settings(maxInflight: maxInflight, idleTimeoutMs: idleTimeoutMs, authTimeoutMs: authTimeoutMs)
    }
}

public let chatdVersion = "0.2.0"

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
        settingsBox = Mutex(settings)
    }

    public var settings: ServerSettings { settingsBox.withLock { $0 } }

    public func updateSettings(_ settings: ServerSettings) { settingsBox.withLock { $0 = settings } }

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
        return l
    }
}
