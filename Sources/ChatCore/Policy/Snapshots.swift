// The plain values the policies decide on. A store reads them inside its
// write transaction (`StoreTransaction`), so a rule always sees the rows as
// they are when its write lands.

/// A conversation as the rules see it: what it is, not what it holds.
public struct ConversationSnapshot: Sendable, Equatable {
    public var id: ConversationID
    public var kind: ConversationKind
    public var visibility: Visibility
    /// Seq of its newest event.
    public var headSeq: Seq

    public init(id: ConversationID, kind: ConversationKind, visibility: Visibility, headSeq: Seq = 0) {
        self.id = id
        self.kind = kind
        self.visibility = visibility
        self.headSeq = headSeq
    }

    /// Visible to every authenticated user (spec/PROTOCOL.md §5.2).
    public var isPublicRoom: Bool { kind == .room && visibility == .public }
}

/// An account as the rules see it. A deleted account is a disabled
/// tombstone, so `disabled` covers both.
public struct AccountSnapshot: Sendable, Equatable {
    public var id: UserID
    /// For messages only; empty in a `Standing` (the send path does not read it).
    public var username: String
    public var disabled: Bool
    public var serverRole: ServerRole

    public init(id: UserID, username: String = "", disabled: Bool = false, serverRole: ServerRole = .user) {
        self.id = id
        self.username = username
        self.disabled = disabled
        self.serverRole = serverRole
    }
}

/// One user's standing in one conversation, read as one row: the
/// conversation (nil: there is none), the user's membership (nil: not a
/// member) and the user's account (nil: no such user).
public struct Standing: Sendable, Equatable {
    public var conversation: ConversationSnapshot?
    public var membership: Membership?
    public var account: AccountSnapshot?

    public init(conversation: ConversationSnapshot?, membership: Membership?, account: AccountSnapshot?) {
        self.conversation = conversation
        self.membership = membership
        self.account = account
    }
}

/// What a send reads before it decides, read together: the sender's
/// standing, the event the sender stored earlier under the request's
/// client_msg_id, and whether a block stops the sender writing (§7.3:
/// either member of a direct chat blocking the other; false elsewhere).
public struct SendSnapshot: Sendable, Equatable {
    public var standing: Standing
    public var prior: Event?
    public var blocked: Bool

    public init(standing: Standing, prior: Event?, blocked: Bool) {
        self.standing = standing
        self.prior = prior
        self.blocked = blocked
    }
}
