// Domain types shared by the services, the store and the server. Plain values,
// no I/O. Times are Unix epoch milliseconds.

public typealias UserID = Int64
public typealias ConversationID = Int64
public typealias DeviceRowID = Int64
public typealias Seq = Int64
public typealias Millis = Int64

public enum ServerRole: String, Sendable, CaseIterable {
    case user
    case admin
}

public enum MemberRole: String, Sendable, CaseIterable, Comparable {
    case member
    case admin
    case owner

    var rank: Int {
        switch self {
        case .member: 0
        case .admin: 1
        case .owner: 2
        }
    }

    public static func < (lhs: MemberRole, rhs: MemberRole) -> Bool { lhs.rank < rhs.rank }

    /// Owners and admins manage membership.
    public var canManageMembers: Bool { self >= .admin }
}

public enum Visibility: String, Sendable, CaseIterable {
    case `public`
    case `private`
}

public struct User: Sendable, Equatable {
    public var id: UserID
    public var username: String
    public var displayName: String
    public var avatarURL: String
    public var statusText: String
    public var role: ServerRole
    public var createdAt: Millis

    public init(
        id: UserID, username: String, displayName: String, avatarURL: String, statusText: String,
        role: ServerRole, createdAt: Millis
    ) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.avatarURL = avatarURL
        self.statusText = statusText
        self.role = role
        self.createdAt = createdAt
    }
}

/// A user as the store holds it, with the fields only the server may see.
public struct UserAccount: Sendable, Equatable {
    public var user: User
    public var email: String
    public var passwordHash: String
    public var disabled: Bool

    public init(user: User, email: String, passwordHash: String, disabled: Bool) {
        self.user = user
        self.email = email
        self.passwordHash = passwordHash
        self.disabled = disabled
    }
}

public struct Device: Sendable, Equatable {
    public var rowID: DeviceRowID
    public var userID: UserID
    /// The client-visible id (client-chosen or server-assigned).
    public var deviceID: String
    public var name: String
    public var platform: String
    public var publicKey: [UInt8]?
    public var createdAt: Millis
    public var lastSeenAt: Millis
    public var lastAddress: String
    public var revokedAt: Millis?
    /// Expiry of the device's current token; nil when it holds none.
    public var tokenExpiresAt: Millis?
    /// The kind of the device's push target (§4.8); nil without one.
    public var push: PushKind?

    public init(
        rowID: DeviceRowID, userID: UserID, deviceID: String, name: String, platform: String,
        publicKey: [UInt8]?, createdAt: Millis, lastSeenAt: Millis, lastAddress: String,
        revokedAt: Millis?, tokenExpiresAt: Millis?
    ) {
        self.rowID = rowID
        self.userID = userID
        self.deviceID = deviceID
        self.name = name
        self.platform = platform
        self.publicKey = publicKey
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.lastAddress = lastAddress
        self.revokedAt = revokedAt
        self.tokenExpiresAt = tokenExpiresAt
    }

    public var isRevoked: Bool { revokedAt != nil }
}

public enum ConversationKind: String, Sendable, CaseIterable {
    case room
    case group
    case direct
}

public struct Conversation: Sendable, Equatable {
    public var id: ConversationID
    public var kind: ConversationKind
    public var name: String
    public var description: String
    public var visibility: Visibility
    /// nil: created by the server (default rooms).
    public var createdBy: UserID?
    public var createdAt: Millis
    public var headSeq: Seq
    public var memberCount: Int
    /// The viewer's role, nil when the viewer is not a member.
    public var myRole: MemberRole?
    public var lastActivityAt: Millis
    /// Direct chats: the member who is not the viewer.
    public var peerUserID: UserID?
    /// Events with seq <= this were removed by the retention policy.
    public var purgedThroughSeq: Seq = 0
    /// The conversation's own retention in days (0: kept forever); nil: the server default.
    public var retentionDays: Int?

    public init(
        id: ConversationID, kind: ConversationKind = .room, name: String, description: String, visibility: Visibility,
        createdBy: UserID?, createdAt: Millis, headSeq: Seq, memberCount: Int, myRole: MemberRole?,
        lastActivityAt: Millis = 0, peerUserID: UserID? = nil
    ) {
        self.id = id
        self.kind = kind
        self.name = name
        self.description = description
        self.visibility = visibility
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.headSeq = headSeq
        self.memberCount = memberCount
        self.myRole = myRole
        self.lastActivityAt = lastActivityAt
        self.peerUserID = peerUserID
    }
}

public struct Member: Sendable, Equatable {
    public var user: User
    public var role: MemberRole
    public var joinedAt: Millis
    public var readSeq: Seq
    public var mutedUntil: Millis?
    /// The delivered position (§6.3), never below `readSeq`.
    public var deliveredSeq: Seq

    public init(
        user: User, role: MemberRole, joinedAt: Millis, readSeq: Seq = 0, mutedUntil: Millis? = nil, deliveredSeq: Seq = 0
    ) {
        self.user = user
        self.role = role
        self.joinedAt = joinedAt
        self.readSeq = readSeq
        self.mutedUntil = mutedUntil
        self.deliveredSeq = max(deliveredSeq, readSeq)
    }
}

public enum EventKind: String, Sendable, CaseIterable {
    case message
    case memberJoined = "member_joined"
    case memberAdded = "member_added"
    case memberLeft = "member_left"
    case roomCreated = "room_created"
    case roleChanged = "role_changed"
    case messageEdited = "message_edited"
    case messageDeleted = "message_deleted"
    case reactionAdded = "reaction_added"
    case reactionRemoved = "reaction_removed"
    case memberKicked = "member_kicked"
    case memberBanned = "member_banned"
    case memberUnbanned = "member_unbanned"
    case memberMuted = "member_muted"
    case conversationUpdated = "conversation_updated"

    /// Events after which the subject is no longer a member.
    public var removesSubject: Bool { self == .memberLeft || self == .memberKicked || self == .memberBanned }
    /// Events after which the subject is a member.
    public var addsSubject: Bool { self == .memberJoined || self == .memberAdded }
}

public enum MessageType: String, Sendable, CaseIterable {
    case text
    case image
    case file
    case system
}

public struct Attachment: Sendable, Equatable {
    public var fileID: String
    public var name: String
    public var size: Int64
    public var mimeType: String
    public var width: Int
    public var height: Int

    public init(fileID: String, name: String, size: Int64, mimeType: String, width: Int = 0, height: Int = 0) {
        self.fileID = fileID
        self.name = name
        self.size = size
        self.mimeType = mimeType
        self.width = width
        self.height = height
    }
}

public struct ReactionSummary: Sendable, Equatable {
    public var emoji: String
    public var count: Int
    public var mine: Bool

    public init(emoji: String, count: Int, mine: Bool) {
        self.emoji = emoji
        self.count = count
        self.mine = mine
    }
}

/// One entry of a conversation's durable event sequence.
public struct Event: Sendable, Equatable {
    public var conversationID: ConversationID
    public var seq: Seq
    public var kind: EventKind
    public var senderID: UserID
    public var clientMsgID: String?
    public var text: String?
    public var subjectUserID: UserID?
    public var role: MemberRole?
    public var createdAt: Millis
    public var messageType: MessageType?
    public var replyToSeq: Seq?
    public var mentions: [UserID]
    public var attachment: Attachment?
    public var targetSeq: Seq?
    public var emoji: String?
    public var editedAt: Millis?
    public var deleted: Bool
    public var name: String?
    public var description: String?
    public var mutedUntil: Millis?
    /// History only: reactions on a message as the viewer sees them.
    public var reactions: [ReactionSummary]

    public init(
        conversationID: ConversationID, seq: Seq, kind: EventKind, senderID: UserID, clientMsgID: String? = nil,
        text: String? = nil, subjectUserID: UserID? = nil, role: MemberRole? = nil, createdAt: Millis,
        messageType: MessageType? = nil, replyToSeq: Seq? = nil, mentions: [UserID] = [], attachment: Attachment? = nil,
        targetSeq: Seq? = nil, emoji: String? = nil, editedAt: Millis? = nil, deleted: Bool = false,
        name: String? = nil, description: String? = nil, mutedUntil: Millis? = nil, reactions: [ReactionSummary] = []
    ) {
        self.conversationID = conversationID
        self.seq = seq
        self.kind = kind
        self.senderID = senderID
        self.clientMsgID = clientMsgID
        self.text = text
        self.subjectUserID = subjectUserID
        self.role = role
        self.createdAt = createdAt
        self.messageType = messageType
        self.replyToSeq = replyToSeq
        self.mentions = mentions
        self.attachment = attachment
        self.targetSeq = targetSeq
        self.emoji = emoji
        self.editedAt = editedAt
        self.deleted = deleted
        self.name = name
        self.description = description
        self.mutedUntil = mutedUntil
        self.reactions = reactions
    }
}

public enum AccountEventKind: String, Sendable, CaseIterable {
    case addedToConversation = "added_to_conversation"
    case removedFromConversation = "removed_from_conversation"
    case conversationDeleted = "conversation_deleted"
    case friendRequestReceived = "friend_request_received"
    case friendRequestSent = "friend_request_sent"
    case friendAdded = "friend_added"
    case friendRequestDeclined = "friend_request_declined"
    case friendRequestCanceled = "friend_request_canceled"
    case friendRemoved = "friend_removed"
    case deviceRevoked = "device_revoked"
    case profileChanged = "profile_changed"
    case blockedChanged = "blocked_changed"
    /// An operator's broadcast to everyone; the text is in `reason`.
    case systemNotice = "system_notice"
    /// The user's notification settings of `conversationID` changed; they
    /// are in `reason` (`NotificationSettings.encoded`).
    case notificationsChanged = "notifications_changed"
    /// One of the user's devices (`deviceID`) set or lost its push target;
    /// `reason` is a `PushTargetChange`.
    case pushTargetChanged = "push_target_changed"
}

/// One entry of a user's own event sequence.
public struct AccountEvent: Sendable, Equatable {
    public var userID: UserID
    public var seq: Seq
    public var kind: AccountEventKind
    public var conversationID: ConversationID?
    public var otherUserID: UserID?
    public var deviceID: String?
    public var reason: String?
    public var createdAt: Millis

    public init(
        userID: UserID, seq: Seq = 0, kind: AccountEventKind, conversationID: ConversationID? = nil, otherUserID: UserID? = nil,
        deviceID: String? = nil, reason: String? = nil, createdAt: Millis
    ) {
        self.userID = userID
        self.seq = seq
        self.kind = kind
        self.conversationID = conversationID
        self.otherUserID = otherUserID
        self.deviceID = deviceID
        self.reason = reason
        self.createdAt = createdAt
    }
}

/// A conversation as one member sees it in Sync.
public struct ConversationState: Sendable, Equatable {
    public var conversation: Conversation
    public var readSeq: Seq
    public var unreadCount: Int
    public var mentionCount: Int
    public var lastMessage: Event?
    /// Receipts (§6.3): every member's positions, ascending by user id, when
    /// the conversation is small enough (`ReceiptPolicy.detail`); else empty.
    public var memberPositions: [MemberPosition] = []
    /// Members other than the viewer whose delivered / read position
    /// reaches `lastMessage` (0 without one, or past `ReceiptPolicy.maxCountedMembers`).
    public var deliveredCount = 0
    public var readCount = 0
    /// The viewer's notification settings (§6.6).
    public var notifications = NotificationSettings()

    public init(conversation: Conversation, readSeq: Seq, unreadCount: Int, mentionCount: Int, lastMessage: Event?) {
        self.conversation = conversation
        self.readSeq = readSeq
        self.unreadCount = unreadCount
        self.mentionCount = mentionCount
        self.lastMessage = lastMessage
    }
}

/// One entry of MarkDelivered: the device stored every event of the
/// conversation up to `seq`.
public struct DeliveredEntry: Sendable, Equatable {
    public var conversation: ConversationID
    public var seq: Seq

    public init(conversation: ConversationID, seq: Seq) {
        self.conversation = conversation
        self.seq = seq
    }
}

/// What one MarkDelivered entry did: the position now in force and
/// whether it moved, or the failure of that entry alone.
public struct DeliveredOutcome: Sendable, Equatable {
    public var conversation: ConversationID
    public var deliveredSeq: Seq
    public var moved: Bool
    public var failure: ChatFailure?

    public init(conversation: ConversationID, deliveredSeq: Seq, moved: Bool, failure: ChatFailure? = nil) {
        self.conversation = conversation
        self.deliveredSeq = deliveredSeq
        self.moved = moved
        self.failure = failure
    }
}

/// One member's delivered and read positions in a conversation.
public struct MemberPosition: Sendable, Equatable {
    public var userID: UserID
    /// Never below `readSeq` (a read position implies delivery).
    public var deliveredSeq: Seq
    public var readSeq: Seq

    public init(userID: UserID, deliveredSeq: Seq, readSeq: Seq) {
        self.userID = userID
        self.deliveredSeq = max(deliveredSeq, readSeq)
        self.readSeq = readSeq
    }
}

public struct SyncResult: Sendable {
    public var accountEvents: [AccountEvent]
    public var hasMore: Bool
    public var accountHeadSeq: Seq
    public var conversations: [ConversationState]
    public var conversationsTruncated: Bool

    public init(
        accountEvents: [AccountEvent], hasMore: Bool, accountHeadSeq: Seq, conversations: [ConversationState],
        conversationsTruncated: Bool
    ) {
        self.accountEvents = accountEvents
        self.hasMore = hasMore
        self.accountHeadSeq = accountHeadSeq
        self.conversations = conversations
        self.conversationsTruncated = conversationsTruncated
    }
}

public struct FriendEntry: Sendable, Equatable {
    public var user: User
    public var since: Millis
    public var lastSeenAt: Millis

    public init(user: User, since: Millis, lastSeenAt: Millis) {
        self.user = user
        self.since = since
        self.lastSeenAt = lastSeenAt
    }
}

/// Everything one write transaction changed that live connections must hear
/// about, handed to the store's observer after commit, in commit order.
public struct CommittedChanges: Sendable {
    public var events: [Event] = []
    public var accountEvents: [AccountEvent] = []
    /// Conversations removed with all their members.
    public var deletedConversations: [(ConversationID, [UserID])] = []
    /// Pairs of users that became, or stopped being, contacts (friends or direct partners).
    public var contactsAdded: [(UserID, UserID)] = []
    public var contactsRemoved: [(UserID, UserID)] = []
    /// Committed by another node on the same database (it announced them):
    /// push notifications are that node's to send.
    public var announced = false

    public init() {}

    public var isEmpty: Bool {
        events.isEmpty && accountEvents.isEmpty && deletedConversations.isEmpty && contactsAdded.isEmpty
            && contactsRemoved.isEmpty
    }
}

/// A page request over an ordered id space.
public struct Page: Sendable, Equatable {
    public var after: Int64
    public var limit: Int

    public init(after: Int64, limit: Int) {
        self.after = after
        self.limit = limit
    }
}

public struct PageResult<Item: Sendable>: Sendable {
    public var items: [Item]
    public var hasMore: Bool

    public init(items: [Item], hasMore: Bool) {
        self.items = items
        self.hasMore = hasMore
    }
}

extension PageResult: Equatable where Item: Equatable {}

public enum HistoryAnchor: Sendable, Equatable {
    case newest
    case after(Seq)
    case before(Seq)
}

public struct HistoryPage: Sendable {
    public var events: [Event]
    public var hasMore: Bool
    public var headSeq: Seq
    /// Events with seq <= this were removed by the retention policy.
    public var purgedThroughSeq: Seq = 0

    public init(events: [Event], hasMore: Bool, headSeq: Seq) {
        self.events = events
        self.hasMore = hasMore
        self.headSeq = headSeq
    }
}

/// One row of the audit table.
public struct AuditEntry: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case register
        case loginSucceeded = "login_ok"
        case loginFailed = "login_failed"
        case loginThrottled = "login_throttled"
        case resumeFailed = "resume_failed"
        case deviceBound = "device_bound"
        case deviceRevoked = "device_revoked"
        case logout
        case passwordChanged = "password_changed"
        case tokenRefreshed = "token_refreshed"
        case adminUserAdd = "admin_user_add"
        case adminUserDisable = "admin_user_disable"
        case adminUserEnable = "admin_user_enable"
        case adminUserPasswd = "admin_user_passwd"
        case adminUserSetRole = "admin_user_set_role"
        case adminDeviceRevoke = "admin_device_revoke"
        case conversationDeleted = "conversation_deleted"
        case adminSessionKick = "admin_session_kick"
        case adminRoomCreate = "admin_room_create"
        case adminRoomDelete = "admin_room_delete"
        case adminMemberAdd = "admin_member_add"
        case adminMemberRemove = "admin_member_remove"
        case adminMemberSetRole = "admin_member_set_role"
        case adminMemberBan = "admin_member_ban"
        case adminMemberUnban = "admin_member_unban"
        case adminBroadcast = "admin_broadcast"
        case adminBackup = "admin_backup"
        case adminLogLevel = "admin_log_level"
        case adminUserDelete = "admin_user_delete"
        case adminRetentionSet = "admin_retention_set"
        case inviteCreated = "invite_created"
        case inviteRedeemed = "invite_redeemed"
        case inviteRevoked = "invite_revoked"
        case adminRegistrationTokenCreate = "admin_registration_token_create"
        case adminRegistrationTokenRevoke = "admin_registration_token_revoke"
        case registrationTokenUsed = "registration_token_used"
        case pushTargetSet = "push_target_set"
        case pushTargetRemoved = "push_target_removed"
        /// The endpoint answered 404/410 or the gateway rejected the pushkey.
        case pushTargetGone = "push_target_gone"
        case adminPushTargetRemove = "admin_push_target_remove"
    }

    public var at: Millis
    public var action: Action
    /// Who acted: "user:<id>", "admin:uid=<uid>", or "anonymous".
    public var actor: String
    public var userID: UserID?
    public var address: String
    public var detail: String

    public init(at: Millis, action: Action, actor: String, userID: UserID?, address: String, detail: String) {
        self.at = at
        self.action = action
        self.actor = actor
        self.userID = userID
        self.address = address
        self.detail = detail
    }
}

/// What one retention pass removed.
public struct PurgeReport: Sendable, Equatable {
    public var conversations = 0
    public var events = 0
    public var messages = 0

    public init() {}
}
