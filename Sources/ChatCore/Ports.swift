/// The interfaces ChatCore needs from the outside. Implementations live at the
/// edges: ChatStore (SQLite), ChatCrypto (libsodium), ChatServer (live
/// connections). Tests use in-memory fakes or the real store on `:memory:`.

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
    /// `DomainLimits.tokenBytes` random bytes.
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
    /// Closes every live connection of these devices with `reason`.
    @discardableResult
    func endSessions(devices: [DeviceRowID], reason: SessionEndReason) -> Int
    /// Closes every live connection of this user with `reason`.
    @discardableResult
    func endSessions(user: UserID, reason: SessionEndReason) -> Int
}

public enum SessionEndReason: Sendable, Equatable {
    case deviceRevoked
    case accountDisabled
    case passwordChanged
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
    // Users
    func createUser(_ user: NewUser) async throws -> UserAccount
    func account(id: UserID) async throws -> UserAccount?
    func account(usernameKey: String) async throws -> UserAccount?
    func updateProfile(user: UserID, _ change: ProfileChange) async throws -> User
    func setPasswordHash(user: UserID, hash: String) async throws
    func setDisabled(user: UserID, _ disabled: Bool) async throws
    func setRole(user: UserID, _ role: ServerRole) async throws
    func listUsers(_ filter: UserFilter) async throws -> PageResult<UserAccount>

    // Devices and tokens
    /// Creates or re-activates the device (user, deviceID) and gives it a new token.
    func bindDevice(user: UserID, _ binding: DeviceBinding) async throws -> Device
    /// The device holding this token hash, with its user; revoked devices hold none.
    func device(tokenHash: [UInt8]) async throws -> (Device, UserAccount)?
    func device(user: UserID, deviceID: String) async throws -> Device?
    func devices(user: UserID?, includeRevoked: Bool, limit: Int) async throws -> [Device]
    func touchDevice(_ device: DeviceRowID, now: Millis, address: String) async throws
    func setToken(device: DeviceRowID, hash: [UInt8]?, expiresAt: Millis?) async throws
    /// Ends the tokens of every device of `user` except `except`; returns the devices that held one.
    func endTokens(user: UserID, except: DeviceRowID?) async throws -> [DeviceRowID]
    func revokeDevice(_ device: DeviceRowID, now: Millis) async throws

    // Rooms
    func createRoom(
        name: String, nameKey: String, description: String, visibility: Visibility, creator: UserID, now: Millis
    ) async throws -> Room
    func room(id: RoomID, viewer: UserID?) async throws -> Room?
    func room(nameKey: String, viewer: UserID?) async throws -> Room?
    func listRooms(visibility: Visibility?, page: Page, viewer: UserID?) async throws -> PageResult<Room>
    func listRooms(memberOf user: UserID, page: Page) async throws -> PageResult<Room>
    func role(room: RoomID, user: UserID) async throws -> MemberRole?
    /// Adds `user`; nil when already a member. `by` nil: the user joined by itself.
    func addMember(room: RoomID, user: UserID, by: UserID?, now: Millis) async throws -> Event?
    /// Removes `user`, handing ownership on when the owner leaves; nil when not a member.
    func removeMember(room: RoomID, user: UserID, now: Millis) async throws -> [Event]?
    func members(room: RoomID, page: Page) async throws -> PageResult<Member>
    /// Every (room, user) membership, for the in-memory index.
    func allMemberships() async throws -> [(RoomID, UserID)]

    // Messages
    func appendMessage(
        room: RoomID, sender: UserID, clientMsgID: String, text: String, now: Millis
    ) async throws -> AppendResult
    func history(room: RoomID, anchor: HistoryAnchor, limit: Int) async throws -> HistoryPage

    // Audit and stats
    func audit(_ entry: AuditEntry) async throws
    func auditEntries(user: UserID?, limit: Int) async throws -> [AuditEntry]
    func counts() async throws -> StoreCounts
}
