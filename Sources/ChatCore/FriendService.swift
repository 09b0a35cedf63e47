/// Friends, blocks and user search.
///
/// Blocking: a blocked user cannot send the blocker friend requests or open
/// or write a direct chat with them (either direction). Messages in shared
/// rooms and groups are still delivered; clients hide or flag them using
/// the block list (ListBlocked and BLOCKED_CHANGED account events).
/// The rules are `FriendPolicy`'s, run inside each op's one write
/// transaction (`StoreTransaction+Friends`).
public final class FriendService: Sendable {
    let store: any Store
    let clock: any WallClock

    public init(store: any Store, clock: any WallClock) {
        self.store = store
        self.clock = clock
    }

    public static let defaultListLimit = 100
    public static let maxListLimit = 500
    public static let defaultSearchLimit = 20
    public static let maxSearchLimit = 100
    public static let maxQueryBytes = 64

    /// Returns true when this request completed a friendship (the other
    /// user had already asked).
    public func request(_ session: Session, userID: UserID, username: String) async throws -> Bool {
        let (user, target, now) = (session.userID, try await resolve(userID, username), clock.nowMs())
        return try await store.transaction { tx in try tx.requestFriend(from: user, to: target, now: now) }
    }

    public func accept(_ session: Session, userID: UserID, username: String) async throws {
        let (user, requester, now) = (session.userID, try await resolve(userID, username), clock.nowMs())
        try await store.transaction { tx in try tx.acceptFriend(user: user, requester: requester, now: now) }
    }

    public func decline(_ session: Session, userID: UserID, username: String) async throws {
        let (user, requester, now) = (session.userID, try await resolve(userID, username), clock.nowMs())
        try await store.transaction { tx in
            try tx.endFriendRequest(from: requester, to: user, kind: .friendRequestDeclined, now: now)
        }
    }

    public func cancel(_ session: Session, userID: UserID, username: String) async throws {
        let (user, addressee, now) = (session.userID, try await resolve(userID, username), clock.nowMs())
        try await store.transaction { tx in
            try tx.endFriendRequest(from: user, to: addressee, kind: .friendRequestCanceled, now: now)
        }
    }

    public func remove(_ session: Session, userID: UserID, username: String) async throws {
        let (user, friend, now) = (session.userID, try await resolve(userID, username), clock.nowMs())
        try await store.transaction { tx in try tx.removeFriend(user: user, friend: friend, now: now) }
    }

    /// One page of one of the caller's friend lists (§7.2); `limit` 0 is the default.
    public func page(_ session: Session, _ list: FriendList, after: FriendCursor, limit: Int) async throws -> PageResult<FriendEntry> {
        let limit = Validate.pageLimit(limit, default: Self.defaultListLimit, max: Self.maxListLimit)
        return try await store.friendPage(user: session.userID, list, after: after, limit: limit)
    }

    public func block(_ session: Session, userID: UserID, username: String) async throws {
        let (user, target, now) = (session.userID, try await resolve(userID, username), clock.nowMs())
        try await store.transaction { tx in try tx.block(user: user, target: target, now: now) }
    }

    public func unblock(_ session: Session, userID: UserID, username: String) async throws {
        let (user, target, now) = (session.userID, try await resolve(userID, username), clock.nowMs())
        try await store.transaction { tx in try tx.unblock(user: user, target: target, now: now) }
    }

    /// One page of the users the caller blocks, by id (§7.3).
    public func blocked(_ session: Session, after: UserID, limit: Int) async throws -> PageResult<User> {
        let limit = Validate.pageLimit(limit, default: Self.defaultListLimit, max: Self.maxListLimit)
        return try await store.blockedUsers(user: session.userID, after: after, limit: limit)
    }

    public func search(_ session: Session, query: String, after: UserID, limit: Int) async throws -> PageResult<User> {
        let query = query.trimmingWhitespace()
        try Validate.text(query, field: "query", max: Self.maxQueryBytes, min: 1)
        let limit = Validate.pageLimit(limit, default: Self.defaultSearchLimit, max: Self.maxSearchLimit)
        return try await store.searchUsers(query: query, after: after, limit: limit)
    }

    /// A user reference (§7.1); an id must name an existing user (disabled ones included).
    private func resolve(_ id: UserID, _ username: String) async throws -> UserID {
        let found: UserAccount?
        switch try UserReference(id: id, username: username) {
        case .id(let id): found = try await store.account(id: id)
        case .usernameKey(let key): found = try await store.account(usernameKey: key)
        }
        guard let found else { throw ChatFailure(.notFound, "no such user") }
        return found.user.id
    }
}
