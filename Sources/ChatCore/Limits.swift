/// Field limits enforced by the services. Built from configuration; every
/// default here is the documented default of chatd.conf.example.
public struct DomainLimits: Sendable, Equatable {
    public var minPasswordBytes = 8
    public var maxPasswordBytes = 1024
    public var maxMessageBytes = 8192
    public var maxRoomNameBytes = 64
    public var maxDescriptionBytes = 1024
    public var maxDisplayNameBytes = 64
    public var maxStatusTextBytes = 256
    public var maxAvatarURLBytes = 512
    public var maxHistoryLimit = 200
    /// Token lifetime, fixed at issue: Resume does not extend it, RefreshToken
    /// issues a new token with a new lifetime.
    public var tokenTTLMs: Millis = 30 * 24 * 3600 * 1000
    public var registrationOpen = true
    /// Messages and other events older than this are removed (0: kept forever),
    /// unless a conversation has its own retention.
    public var defaultRetentionDays = 0
    /// Audit rows older than this are removed (0: kept forever).
    public var auditRetentionDays = 365
    /// Rooms and groups one user may create per window.
    public var conversationCreations = 30
    public var conversationCreationWindowMs: Millis = 3_600_000

    public init() {}

    // Fixed by the protocol, not configurable (spec/PROTOCOL.md §10).
    public static let usernameMinBytes = 3
    public static let usernameMaxBytes = 32
    public static let maxEmailBytes = 254
    public static let maxDeviceIDBytes = 64
    public static let maxDeviceNameBytes = 64
    public static let maxPlatformBytes = 32
    public static let maxClientMsgIDBytes = 64
    public static let publicKeyBytes = 32
    public static let signatureBytes = 64
    public static let tokenBytes = 32
    public static let defaultPageLimit = 50
    public static let maxPageLimit = 200
    public static let defaultMemberPageLimit = 100
    public static let maxMemberPageLimit = 500
}
