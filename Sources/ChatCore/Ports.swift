// The interfaces ChatCore needs from the outside. Implementations live at the
// edges: ChatStore (SQLite), ChatCrypto (libsodium), ChatServer (live
// connections). Tests use in-memory fakes or the real store on `:memory:`.

/// Password hashing (Argon2id). Implementations run the work off the event
/// loops on a bounded pool and throw `ChatFailure.rateLimited` when it is full.
public protocol PasswordHasher: Sendable {
    func hash(_ password: String) async throws -> String
    func verify(_ password: String, hash: String) async throws -> Bool
    /// True when `hash` was made with other limits than the configured ones.
    func needsRehash(_ hash: String) -> Bool
}

/// Token and key operations.
public protocol TokenCrypto: Sendable {
    /// `WireLimits.tokenBytes` random bytes.
    func newToken() -> [UInt8]
    /// The keyed hash stored in place of the token.
    func tokenHash(_ token: [UInt8]) -> [UInt8]
    /// `count` random bytes (nonces, device ids).
    func randomBytes(_ count: Int) -> [UInt8]
    /// Ed25519 detached signature check.
    func verifySignature(_ signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool
}

/// Live connections, as the services need to act on them.
public protocol SessionDirectory: Sendable {
    /// Closes every live connection of these devices with `reason`, except
    /// the connection `except` (the one that asked, for Logout and RefreshToken).
    @discardableResult
    func endSessions(devices: [DeviceRowID], reason: SessionEndReason, except: UInt64?) -> Int
    /// Closes every live connection of this user with `reason`.
    @discardableResult
    func endSessions(user: UserID, reason: SessionEndReason) -> Int
}

extension SessionDirectory {
    @discardableResult
    public func endSessions(devices: [DeviceRowID], reason: SessionEndReason) -> Int {
        endSessions(devices: devices, reason: reason, except: nil)
    }
}

public enum SessionEndReason: Sendable, Equatable {
    case deviceRevoked
    case accountDisabled
    case passwordChanged
    /// The device's token was ended (Logout) or replaced (RefreshToken) on
    /// another connection.
    case tokenEnded
}

/// What a device login writes.
public struct DeviceBinding: Sendable {
    public var deviceID: String
    public var name: String
    public var platform: String
    public var publicKey: [UInt8]?
    public var tokenHash: [UInt8]
    public var tokenExpiresAt: Millis
    public var address: String
    public var now: Millis

    public init(
        deviceID: String, name: String, platform: String, publicKey: [UInt8]?, tokenHash: [UInt8],
        tokenExpiresAt: Millis, address: String, now: Millis
    ) {
        self.deviceID = deviceID
        self.name = name
        self.platform = platform
        self.publicKey = publicKey
        self.tokenHash = tokenHash
        self.tokenExpiresAt = tokenExpiresAt
        self.address = address
        self.now = now
    }
}

public struct NewUser: Sendable {
    /// Rooms the new user joins at once (the configured default rooms).
    public var joinRooms: [ConversationID] = []
    public var username: String
    public var usernameKey: String
    public var email: String
    public var displayName: String
    public var passwordHash: String
    public var role: ServerRole
    public var now: Millis

    public init(
        username: String, usernameKey: String, email: String, displayName: String, passwordHash: String,
        role: ServerRole, now: Millis
    ) {
        self.username = username
        self.usernameKey = usernameKey
        self.email = email
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.role = role
        self.now = now
    }
}

public struct ProfileChange: Sendable, Equatable {
    public var displayName: String?
    public var avatarURL: String?
    public var statusText: String?

    public init(displayName: String? = nil, avatarURL: String? = nil, statusText: String? = nil) {
        self.displayName = displayName
        self.avatarURL = avatarURL
        self.statusText = statusText
    }
}

public struct NewConversation: Sendable {
    public var kind: ConversationKind
    public var name: String
    public var nameKey: String?
    public var description: String
    public var visibility: Visibility
    public var creator: UserID?
    /// Initial members besides the creator.
    public var members: [UserID]
    public var now: Millis

    public init(
        kind: ConversationKind, name: String, nameKey: String?, description: String, visibility: Visibility,
        creator: UserID?, members: [UserID], now: Millis
    ) {
        self.kind = kind
        self.name = name
        self.nameKey = nameKey
        self.description = description
        self.visibility = visibility
        self.creator = creator
        self.members = members
        self.now = now
    }
}

public struct NewMessage: Sendable {
    public var conversation: ConversationID
    public var sender: UserID
    public var clientMsgID: String
    public var type: MessageType
    public var text: String
    public var attachment: Attachment?
    public var replyTo: Seq?
    /// Usernames written as @name in the text; members among them are mentioned.
    public var mentionKeys: [String]
    public var now: Millis

    public init(
        conversation: ConversationID, sender: UserID, clientMsgID: String, type: MessageType, text: String,
        attachment: Attachment?, replyTo: Seq?, mentionKeys: [String], now: Millis
    ) {
        self.conversation = conversation
        self.sender = sender
        self.clientMsgID = clientMsgID
        self.type = type
        self.text = text
        self.attachment = attachment
        self.replyTo = replyTo
        self.mentionKeys = mentionKeys
        self.now = now
    }
}

public struct Membership: Sendable, Equatable {
    public var role: MemberRole
    public var readSeq: Seq
    public var mutedUntil: Millis?
    /// The delivered position as stored (§6.3); see `effectiveDeliveredSeq`.
    public var deliveredSeq: Seq
    /// The member's own notification settings (§6.6).
    public var notifications: NotificationSettings

    public init(
        role: MemberRole, readSeq: Seq, mutedUntil: Millis?, deliveredSeq: Seq = 0,
        notifications: NotificationSettings = NotificationSettings()
    ) {
        self.role = role
        self.readSeq = readSeq
        self.mutedUntil = mutedUntil
        self.deliveredSeq = deliveredSeq
        self.notifications = notifications
    }

    /// A read position implies delivery: delivered = max(delivered, read).
    public var effectiveDeliveredSeq: Seq { max(deliveredSeq, readSeq) }
}

public struct UserFilter: Sendable, Equatable {
    public var page: Page
    public var usernamePrefix: String
    public var onlyDisabled: Bool
    public var role: ServerRole?

    public init(page: Page, usernamePrefix: String = "", onlyDisabled: Bool = false, role: ServerRole? = nil) {
        self.page = page
        self.usernamePrefix = usernamePrefix
        self.onlyDisabled = onlyDisabled
        self.role = role
    }
}

public struct StoreCounts: Sendable, Equatable {
    public var users: Int64
    public var rooms: Int64
    public var messages: Int64
    public var databaseBytes: Int64

    public init(users: Int64, rooms: Int64, messages: Int64, databaseBytes: Int64) {
        self.users = users
        self.rooms = rooms
        self.messages = messages
        self.databaseBytes = databaseBytes
    }
}

/// Result of appending a message: the stored event, and whether it was a
/// retry of an earlier send with the same client_msg_id.
public struct AppendResult: Sendable, Equatable {
    public var event: Event
    public var duplicate: Bool

    public init(event: Event, duplicate: Bool) {
        self.event = event
        self.duplicate = duplicate
    }
}

/// Persistence. Every method is safe to call from any task; none blocks an
/// event loop. Writes are durable when they return. Methods that append
/// conversation events hand them, after commit and in commit order, to the
/// store's event observer (see ChatStore).
public protocol Store: Sendable {
    /// Runs `body` in one write transaction (see `StoreTransaction`):
    /// everything it wrote commits together, or nothing does when it throws.
    /// Returns when the transaction is durable.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
    /// `transaction` for a write within one conversation that touches no
    /// account row (a send, an edit, a reaction, a read position). A store
    /// that commits writes in parallel lanes keeps each conversation's in
    /// one lane (PostgreSQL); the others treat it as `transaction`.
    func transaction<T: Sendable>(
        conversation: ConversationID, _ body: @escaping @Sendable (any StoreTransaction) throws -> T
    ) async throws -> T
    /// A send: `StoreTransaction.appendMessage` in `transaction(conversation:)`
    /// (StoreTransaction+Messages). A store may say it is a send, so that
    /// its snapshot is read together with those of other sends (PostgreSQL).
    func appendMessage(_ message: NewMessage) async throws -> AppendResult

    // Users
    func account(id: UserID) async throws -> UserAccount?
    func account(usernameKey: String) async throws -> UserAccount?
    func setDisabled(user: UserID, _ disabled: Bool) async throws
    func setRole(user: UserID, _ role: ServerRole) async throws
    func listUsers(_ filter: UserFilter) async throws -> PageResult<UserAccount>

    // Devices and tokens
    /// The device holding this token hash, with its user; revoked devices hold none.
    func device(tokenHash: [UInt8]) async throws -> (Device, UserAccount)?
    func device(user: UserID, deviceID: String) async throws -> Device?
    func devices(user: UserID?, includeRevoked: Bool, limit: Int) async throws -> [Device]
    func touchDevice(_ device: DeviceRowID, now: Millis, address: String) async throws
    func setToken(device: DeviceRowID, hash: [UInt8]?, expiresAt: Millis?) async throws
    /// Gives the device a new token only while it holds `old` and is not
    /// revoked; false when it no longer does.
    func replaceToken(device: DeviceRowID, from old: [UInt8], to hash: [UInt8], expiresAt: Millis) async throws -> Bool

    // Push notifications (§4.8)
    /// Push targets, by user then device: one user's, or everyone's (nil).
    func pushTargets(user: UserID?) async throws -> [PushTarget]
    /// What each note's notification says now: the user's targets on
    /// devices that are signed in (an unexpired token, not revoked) at
    /// `now`, membership, settings and counts; the sender's username when
    /// `withSender`. One answer per note, in order.
    func pushContexts(_ notes: [PushQueue.Note], now: Millis, withSender: Bool) async throws -> [PushContext]

    // Conversations
    func conversation(id: ConversationID, viewer: UserID?) async throws -> Conversation?
    func room(nameKey: String, viewer: UserID?) async throws -> Conversation?
    /// Rooms (all, or one visibility), ordered by id.
    func listRooms(visibility: Visibility?, page: Page, viewer: UserID?) async throws -> PageResult<Conversation>
    /// The user's conversations, newest activity first, before (activity, id).
    func listConversations(
        memberOf user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int
    ) async throws -> PageResult<Conversation>
    /// The same list with the user's read state of each conversation.
    /// `receiptsListMax`: conversations with at most this many members list
    /// every member's positions (`ReceiptPolicy.detail`).
    func conversationStates(
        memberOf user: UserID, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int, receiptsListMax: Int
    ) async throws -> PageResult<ConversationState>
    func membership(conversation: ConversationID, user: UserID) async throws -> Membership?
    func isBanned(conversation: ConversationID, user: UserID) async throws -> Bool
    /// Removes the conversation's events, oldest first, in bounded
    /// transactions (a long history never holds the writer for long); the
    /// conversation itself stays (see `deleteConversation`).
    func deleteHistory(of conversation: ConversationID) async throws
    func members(conversation: ConversationID, page: Page) async throws -> PageResult<Member>
    /// Every (conversation, user) membership, for the in-memory index.
    func allMemberships() async throws -> [(ConversationID, UserID)]
    /// Ids of the conversations every new user joins, creating missing rooms.
    func ensureRooms(names: [String], now: Millis) async throws -> [ConversationID]

    // Operator (chatctl)
    /// Gives every account that is not disabled a SYSTEM_NOTICE account event; returns how many.
    func appendSystemNotice(text: String, now: Millis) async throws -> Int
    /// Audit rows matching `filter`, newest first.
    func auditRecords(_ filter: AuditFilter) async throws -> PageResult<AuditRecord>

    // Messages
    func history(conversation: ConversationID, anchor: HistoryAnchor, limit: Int, viewer: UserID) async throws -> HistoryPage
    func sync(
        user: UserID, after accountSeq: Seq, limit: Int, includeConversations: Bool, maxConversations: Int,
        receiptsListMax: Int
    ) async throws -> SyncResult

    // Friends, blocks, users
    /// A page of one friend list in its order (§7.2); a request's `since` is when it was made.
    func friendPage(user: UserID, _ list: FriendList, after: FriendCursor, limit: Int) async throws -> PageResult<FriendEntry>
    /// A page of the users `user` blocks, ascending by id, after `after`.
    func blockedUsers(user: UserID, after: UserID, limit: Int) async throws -> PageResult<User>
    /// Whether either user blocks the other.
    func blocked(between a: UserID, and b: UserID) async throws -> Bool
    func searchUsers(query: String, after: UserID, limit: Int) async throws -> PageResult<User>
    /// Friends and direct-chat partners, as pairs, for the presence index.
    func allContacts() async throws -> [(UserID, UserID)]
    func setLastSeen(user: UserID, at: Millis) async throws

    // Audit and stats
    func audit(_ entry: AuditEntry) async throws
    func auditEntries(user: UserID?, limit: Int) async throws -> [AuditEntry]
    /// Removes up to `batch` audit rows older than `before`; returns how many.
    func pruneAudit(before: Millis, batch: Int) async throws -> Int
    func counts() async throws -> StoreCounts

    // Search
    /// One page of hits, newest first or by rank, in the viewer's
    /// conversations (or the one given, which the caller checked), looking
    /// at no more than `SearchCursor.maxCandidates` matching messages; `next`
    /// continues after what was examined (nil: nothing more).
    func searchMessages(_ request: SearchRequest) async throws -> (hits: [SearchHit], next: SearchCursor?)

    // Retention
    /// Sets a conversation's own retention (days; 0: forever; nil: the server default).
    func setRetention(conversation: ConversationID, days: Int?) async throws -> Conversation
    func purgeExpired(defaultDays: Int, now: Millis, batch: Int) async throws -> PurgeReport
}

extension Store {
    public func transaction<T: Sendable>(
        conversation: ConversationID, _ body: @escaping @Sendable (any StoreTransaction) throws -> T
    ) async throws -> T {
        try await transaction(body)
    }
}

/// A store that answers `Store.pushContexts` on the calling thread,
/// blocking it, without starting or waking another thread (SQLite: GRDB's
/// synchronous read runs on its caller). The notifier calls it from its own
/// thread, so these reads run at that thread's lower CPU priority instead
/// of at the chat traffic's.
public protocol BlockingPushReads: Sendable {
    func pushContextsBlocking(_ notes: [PushQueue.Note], now: Millis, withSender: Bool) throws -> [PushContext]
}
