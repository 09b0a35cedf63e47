/// Friends, blocks and user search.
///
/// Blocking: a blocked user cannot send the blocker friend requests or open
/// or write a direct chat with them (either direction). Messages in shared
/// rooms and groups are still delivered; clients hide or flag them using
/// the block list (ListBlocked and BLOCKED_CHANGED account events).
public final class FriendService: Sendable {
    let store: any Store
    let clock: any WallClock

    public init(store: any Store, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    public static let defaultSearchLimit = 20
    public static let maxSearchLimit = 100
    public static let maxQueryBytes = 64

    /// Returns true when this request completed a friendship (the other
    /// user had already asked).
    public func request(_ session: Session, userID: UserID, username: String) async throws -> Bool {
        let target = try await resolve(userID, username)
        return try await store.requestFriend(from: session.userID, to: target, now: clock.nowMs())
    }

    public func accept(_ session: Session, userID: UserID, username: String) async throws {
        try await store.acceptFriend(user: session.userID, requester: try await resolve(userID, username), now: clock.nowMs())
    }

    public func decline(_ session: Session, userID: UserID, username: String) async throws {
        try await store.declineFriend(user: session.userID, requester: try await resolve(userID, username), now: clock.nowMs())
    }

    public func cancel(_ session: Session, userID: UserID, username: String) async throws {
        try await store.cancelFriendRequest(user: session.userID, addressee: try await resolve(userID, username), now: clock.nowMs())
    }

    public func remove(_ session: Session, userID: UserID, username: String) async throws {
        try await store.removeFriend(user: session.userID, friend: try await resolve(userID, username), now: clock.nowMs())
    }

    public func lists(_ session: Session) async throws -> FriendLists {
        try await store.friendLists(user: session.userID)
    }

    public func block(_ session: Session, userID: UserID, username: String) async throws {
        try await store.block(user: session.userID, target: try await resolve(userID, username), now: clock.nowMs())
    }

    public func unblock(_ session: Session, userID: UserID, username: String) async throws {
        try await store.unblock(user: session.userID, target: try await resolve(userID, username), now: clock.nowMs())
    }

    public func blocked(_ session: Session) async throws -> [User] {
        try await store.blockedUsers(user: session.userID)
    }

    public func search(_ session: Session, query: String, after: UserID, limit: Int) async throws -> PageResult<User> {
        let query = query.trimmingWhitespace()
        try Validate.text(query, field: "query", max: Self.maxQueryBytes, min: 1)
        let limit = Validate.pageLimit(limit, default: Self.defaultSearchLimit, max: Self.maxSearchLimit)
        return try await store.searchUsers(query: query, after: after, limit: limit)
    }

    private func resolve(_ id: UserID, _ username: String) async throws -> UserID {
        if id != 0 {
            guard try await store.account(id: id) != nil else { throw ChatFailure(.notFound, "no such user") }
            return id
        }
        guard !username.isEmpty else { throw ChatFailure.invalid("user_id", "give user_id or username") }
        if username.utf8.count > DomainLimits.usernameMaxBytes {
            throw ChatFailure.tooLong("username", max: DomainLimits.usernameMaxBytes)
        }
        guard let account = try await store.account(usernameKey: Validate.usernameKey(username)) else {
            throw ChatFailure(.notFound, "no such user")
        }
        return account.user.id
    }
}
