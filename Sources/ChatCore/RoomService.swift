import Synchronization

/// Rooms, membership and messages: the permission rules of spec/PROTOCOL.md §5.
///
/// Visibility rule: a private room is invisible to non-members: Get and Join
/// answer not_found. Operations that presume membership (members, history,
/// send, leave, invite) answer not_member to a non-member of a public room and
/// not_found to a non-member of a private one.
public final class RoomService: Sendable {
    let store: any Store
    let clock: any WallClock
    private let limitsBox: Mutex<DomainLimits>

    public init(store: any Store, clock: any WallClock, limits: DomainLimits) {
        self.store = store
        self.clock = clock
        limitsBox = Mutex(limits)
    }

    public var limits: DomainLimits { limitsBox.withLock { $0 } }

    public func reconfigure(limits: DomainLimits) { limitsBox.withLock { $0 = limits } }

    public func create(_ session: Session, name: String, description: String, visibility: Visibility) async throws -> Room {
        let limits = self.limits
        let name = try Validate.roomName(name, limits: limits)
        try Validate.text(description, field: "description", max: limits.maxDescriptionBytes, multiline: true)
        return try await store.createRoom(
            name: name, nameKey: Validate.roomNameKey(name), description: description, visibility: visibility,
            creator: session.userID, now: clock.nowMs())
    }

    public func listPublic(_ session: Session, after: RoomID, limit: Int) async throws -> PageResult<Room> {
        try await store.listRooms(
            visibility: .public, page: Page(after: after, limit: pageLimit(limit)), viewer: session.userID)
    }

    public func listMine(_ session: Session, after: RoomID, limit: Int) async throws -> PageResult<Room> {
        try await store.listRooms(memberOf: session.userID, page: Page(after: after, limit: pageLimit(limit)))
    }

    public func get(_ session: Session, room id: RoomID) async throws -> Room {
        try await visibleRoom(id, viewer: session.userID)
    }

    public func join(_ session: Session, room id: RoomID) async throws -> Room {
        let room = try await visibleRoom(id, viewer: session.userID)
        if room.myRole != nil { return room }
        guard room.visibility == .public else { throw ChatFailure(.notFound, "no such room") }
        _ = try await store.addMember(room: id, user: session.userID, by: nil, now: clock.nowMs())
        return try await visibleRoom(id, viewer: session.userID)
    }

    /// Adds a user given by id or username. The caller's right to add members
    /// is checked first, so the call tells nobody else whether a user exists.
    public func invite(_ session: Session, room id: RoomID, userID: UserID, username: String) async throws -> Room {
        let role = try await memberRole(id, viewer: session.userID)
        guard role.canManageMembers else {
            throw ChatFailure(.forbidden, "only the owner or an admin can add members")
        }
        let target = try await resolveUser(id: userID, username: username)
        guard let account = try await store.account(id: target), !account.disabled else {
            throw ChatFailure(.notFound, "no such user")
        }
        guard try await store.addMember(room: id, user: target, by: session.userID, now: clock.nowMs()) != nil else {
            throw ChatFailure(.conflict, "\(account.user.username) is already a member")
        }
        return try await visibleRoom(id, viewer: session.userID)
    }

    /// Resolves an invite target given by id or username.
    func resolveUser(id: UserID, username: String) async throws -> UserID {
        if id != 0 { return id }
        guard !username.isEmpty else { throw ChatFailure.invalid("user_id", "give user_id or username") }
        if username.utf8.count > DomainLimits.usernameMaxBytes {
            throw ChatFailure.tooLong("username", max: DomainLimits.usernameMaxBytes)
        }
        guard let account = try await store.account(usernameKey: Validate.usernameKey(username)) else {
            throw ChatFailure(.notFound, "no such user")
        }
        return account.user.id
    }

    public func leave(_ session: Session, room id: RoomID) async throws {
        _ = try await memberRole(id, viewer: session.userID)
        guard try await store.removeMember(room: id, user: session.userID, now: clock.nowMs()) != nil else {
            throw ChatFailure(.notMember, "not a member of this room")
        }
    }

    public func members(_ session: Session, room id: RoomID, after: UserID, limit: Int) async throws -> PageResult<Member> {
        _ = try await memberRole(id, viewer: session.userID)
        let limit = Validate.pageLimit(limit, default: DomainLimits.defaultMemberPageLimit, max: DomainLimits.maxMemberPageLimit)
        return try await store.members(room: id, page: Page(after: after, limit: limit))
    }

    public func send(_ session: Session, room id: RoomID, clientMsgID: String, text: String) async throws -> AppendResult {
        try Validate.clientMsgID(clientMsgID)
        try Validate.messageText(text, limits: limits)
        // Membership is checked again inside the write transaction; this check
        // gives a non-member of a private room not_found instead of not_member.
        _ = try await memberRole(id, viewer: session.userID)
        return try await store.appendMessage(
            room: id, sender: session.userID, clientMsgID: clientMsgID, text: text, now: clock.nowMs())
    }

    public func history(_ session: Session, room id: RoomID, anchor: HistoryAnchor, limit: Int) async throws -> HistoryPage {
        _ = try await memberRole(id, viewer: session.userID)
        let limit = Validate.pageLimit(limit, default: DomainLimits.defaultPageLimit, max: limits.maxHistoryLimit)
        return try await store.history(room: id, anchor: anchor, limit: limit)
    }

    // MARK: Helpers

    private func pageLimit(_ limit: Int) -> Int {
        Validate.pageLimit(limit, default: DomainLimits.defaultPageLimit, max: DomainLimits.maxPageLimit)
    }

    private func visibleRoom(_ id: RoomID, viewer: UserID) async throws -> Room {
        guard let room = try await store.room(id: id, viewer: viewer),
            room.visibility == .public || room.myRole != nil
        else { throw ChatFailure(.notFound, "no such room") }
        return room
    }

    private func memberRole(_ id: RoomID, viewer: UserID) async throws -> MemberRole {
        let room = try await visibleRoom(id, viewer: viewer)
        guard let role = room.myRole else { throw ChatFailure(.notMember, "not a member of this room") }
        return role
    }
}
