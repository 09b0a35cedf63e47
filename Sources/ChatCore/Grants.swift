/// An invite link of a room or group, or a registration token: a secret
/// that lets its holder in (spec/PROTOCOL.md §5.14 and §4.3). Only a keyed
/// hash of the secret is stored, as for session tokens.
public struct Grant: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// An invite link: joins `conversationID`.
        case invite
        /// A registration token: registers while registration is closed.
        case registration
    }

    public var id: Int64
    public var kind: Kind
    /// The conversation an invite joins; nil for registration tokens.
    public var conversationID: ConversationID?
    /// The user who created an invite; nil for registration tokens (the operator).
    public var createdBy: UserID?
    public var createdAt: Millis
    public var expiresAt: Millis?
    /// 0: unlimited.
    public var maxUses: Int
    public var uses: Int
    public var revokedAt: Millis?

    public init(
        id: Int64, kind: Kind, conversationID: ConversationID?, createdBy: UserID?, createdAt: Millis, expiresAt: Millis?,
        maxUses: Int, uses: Int, revokedAt: Millis?
    ) {
        self.id = id
        self.kind = kind
        self.conversationID = conversationID
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.maxUses = maxUses
        self.uses = uses
        self.revokedAt = revokedAt
    }

    /// Neither revoked, expired nor used up at `now`.
    public func isLive(at now: Millis) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true) && (maxUses == 0 || uses < maxUses)
    }
}

/// What creating a grant stores.
public struct NewGrant: Sendable, Equatable {
    public var kind: Grant.Kind
    public var conversationID: ConversationID?
    public var createdBy: UserID?
    public var tokenHash: [UInt8]
    public var createdAt: Millis
    public var expiresAt: Millis?
    public var maxUses: Int

    public init(
        kind: Grant.Kind, conversationID: ConversationID?, createdBy: UserID?, tokenHash: [UInt8], createdAt: Millis,
        expiresAt: Millis?, maxUses: Int
    ) {
        self.kind = kind
        self.conversationID = conversationID
        self.createdBy = createdBy
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.maxUses = maxUses
    }
}
