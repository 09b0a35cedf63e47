/// Field limits enforced by the services. Built from configuration; the
/// defaults are ConfigTable's.
public struct DomainLimits: Sendable, Equatable {
    public var minPasswordBytes = Int(Setting.accountsPasswordMinBytes.defaultValue)
    public var maxPasswordBytes = Int(Setting.accountsPasswordMaxBytes.defaultValue)
    public var maxMessageBytes = Int(Setting.limitsMaxMessageBytes.defaultValue)
    public var maxRoomNameBytes = Int(Setting.limitsMaxRoomNameBytes.defaultValue)
    public var maxDescriptionBytes = Int(Setting.limitsMaxDescriptionBytes.defaultValue)
    public var maxDisplayNameBytes = Int(Setting.limitsMaxDisplayNameBytes.defaultValue)
    public var maxStatusTextBytes = Int(Setting.limitsMaxStatusTextBytes.defaultValue)
    public var maxAvatarURLBytes = Int(Setting.limitsMaxAvatarUrlBytes.defaultValue)
    public var maxHistoryLimit = Int(Setting.limitsMaxHistoryLimit.defaultValue)
    /// Conversations with at most this many members list every member's
    /// delivered and read positions in Sync and ListConversations (§6.3).
    public var receiptsMemberListMax = Int(Setting.limitsReceiptsMemberListMax.defaultValue)
    /// Token lifetime, fixed at issue: Resume does not extend it, RefreshToken
    /// issues a new token with a new lifetime.
    public var tokenTTLMs: Millis = Setting.accountsTokenTtlDays.defaultValue * 86_400_000
    public var registrationOpen = Setting.accountsRegistrationOpen.defaultValue
    /// Messages and other events older than this are removed (0: kept forever),
    /// unless a conversation has its own retention.
    public var defaultRetentionDays = Int(Setting.retentionDefaultDays.defaultValue)
    /// Audit rows older than this are removed (0: kept forever).
    public var auditRetentionDays = Int(Setting.retentionAuditDays.defaultValue)
    /// Rooms and groups one user may create per window.
    public var conversationCreations = Int(Setting.limitsConversationsCreatedPerUser.defaultValue)
    public var conversationCreationWindowMs: Millis = Setting.limitsConversationCreationWindowSeconds.defaultValue * 1000

    public init() {}
}

/// Bounds the protocol fixes (spec/PROTOCOL.md §10, "fixed"): a client may
/// rely on them, so no configuration changes them. Each says why it is what
/// it is. Configurable limits are in `ConfigTable` and reach the services
/// through `DomainLimits` and `FileLimits`.
public enum WireLimits {
    /// Usernames are handles people type and read: 3–32 bytes of [a-z0-9_.-].
    public static let usernameMinBytes = 3
    public static let usernameMaxBytes = 32
    /// The longest address RFC 5321 allows in a path.
    public static let maxEmailBytes = 254
    /// A client-chosen device id (a UUID's text is 36 bytes).
    public static let maxDeviceIDBytes = 64
    public static let maxDeviceNameBytes = 64
    public static let maxPlatformBytes = 32
    /// A client-chosen idempotency key (a UUID or a ULID fits).
    public static let maxClientMsgIDBytes = 64
    /// Ed25519 key and signature sizes (Resume proves the device key).
    public static let publicKeyBytes = 32
    public static let signatureBytes = 64
    /// Session tokens: 256 random bits.
    public static let tokenBytes = 32
    /// Pages of conversations and public rooms: default and most per request.
    public static let defaultPageLimit = 50
    public static let maxPageLimit = 200
    /// Pages of members: larger, a member row is small.
    public static let defaultMemberPageLimit = 100
    public static let maxMemberPageLimit = 500
    /// chatctl list pages (users, rooms, room members).
    public static let defaultControlPageLimit = 100
    public static let maxControlPageLimit = 1000
}
