/// Domain types shared by the services, the store and the server. Plain values,
/// no I/O. Times are Unix epoch milliseconds.

public typealias UserID = Int64
public typealias RoomID = Int64
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

public struct Room: Sendable, Equatable {
    public var id: RoomID
    public var name: String
    public var description: String
    public var visibility: Visibility
    public var createdBy: UserID
    public var createdAt: Millis
    public var headSeq: Seq
    public var memberCount: Int
    /// The viewer's role, nil when the viewer is not a member.
    public var myRole: MemberRole?

    public init(
        id: RoomID, name: String, description: String, visibility: Visibility, createdBy: UserID,
        createdAt: Millis, headSeq: Seq, memberCount: Int, myRole: MemberRole?
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.visibility = visibility
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.headSeq = headSeq
        self.memberCount = memberCount
        self.myRole = myRole
    }
}

public struct Member: Sendable, Equatable {
    public var user: User
    public var role: MemberRole
    public var joinedAt: Millis

    public init(user: User, role: MemberRole, joinedAt: Millis) {
        self.user = user
        self.role = role
        self.joinedAt = joinedAt
    }
}

public enum EventKind: String, Sendable, CaseIterable {
    case message
    case memberJoined = "member_joined"
    case memberAdded = "member_added"
    case memberLeft = "member_left"
    case roomCreated = "room_created"
    case roleChanged = "role_changed"
}

/// One entry of a conversation's durable event sequence.
public struct Event: Sendable, Equatable {
    public var conversationID: RoomID
    public var seq: Seq
    public var kind: EventKind
    public var senderID: UserID
    public var clientMsgID: String?
    public var text: String?
    public var subjectUserID: UserID?
    public var role: MemberRole?
    public var createdAt: Millis

    public init(
        conversationID: RoomID, seq: Seq, kind: EventKind, senderID: UserID, clientMsgID: String? = nil,
        text: String? = nil, subjectUserID: UserID? = nil, role: MemberRole? = nil, createdAt: Millis
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

public enum HistoryAnchor: Sendable, Equatable {
    case newest
    case after(Seq)
    case before(Seq)
}

public struct HistoryPage: Sendable {
    public var events: [Event]
    public var hasMore: Bool
    public var headSeq: Seq

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
