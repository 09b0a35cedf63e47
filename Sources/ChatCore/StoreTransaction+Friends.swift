/// Friends and blocks (spec/PROTOCOL.md §7.2, §7.3), each as one
/// transaction: read the relation, decide with `FriendPolicy`, write, and
/// tell both users with account events (the caller first).
extension StoreTransaction {
    /// The relation between `user` and `other`, from `user`'s side.
    public func relation(of user: UserID, with other: UserID) throws -> FriendPolicy.Relation {
        FriendPolicy.Relation(outgoing: try link(from: user, to: other), incoming: try link(from: other, to: user))
    }

    /// Returns true when the request completed a friendship (the other side had asked already).
    public func requestFriend(from user: UserID, to target: UserID, now: Millis) throws -> Bool {
        let outcome = try FriendPolicy.request(
            from: user, to: target, callerAccount: account(user), targetAccount: account(target),
            blocked: isBlocked(user, target), relation: relation(of: user, with: target))
        switch outcome {
        case .befriend:
            try befriend(user, target, now: now)
            return true
        case .request:
            try setLink(.pending, from: user, to: target, at: now)
            try append(AccountEvent(userID: target, kind: .friendRequestReceived, otherUserID: user, createdAt: now))
            try append(AccountEvent(userID: user, kind: .friendRequestSent, otherUserID: target, createdAt: now))
            return false
        }
    }

    public func acceptFriend(user: UserID, requester: UserID, now: Millis) throws {
        try FriendPolicy.checkAccept(relation(of: user, with: requester))
        try befriend(user, requester, now: now)
    }

    /// Ends the pending request `from` → `to` (declined or canceled), telling both.
    public func endFriendRequest(from: UserID, to: UserID, kind: AccountEventKind, now: Millis) throws {
        try FriendPolicy.checkEndRequest(exists: deletePendingRequest(from: from, to: to))
        try append(AccountEvent(userID: from, kind: kind, otherUserID: to, createdAt: now))
        try append(AccountEvent(userID: to, kind: kind, otherUserID: from, createdAt: now))
    }

    public func removeFriend(user: UserID, friend: UserID, now: Millis) throws {
        try FriendPolicy.checkRemove(relation(of: user, with: friend))
        try unfriend(user, friend, now: now)
    }

    public func block(user: UserID, target: UserID, now: Millis) throws {
        guard try FriendPolicy.block(target, by: user, targetExists: account(target) != nil, alreadyBlocked: blocks(user, target))
        else { return }
        try insertBlock(user, target, at: now)
        try endRelation(user, target, now: now)
        try append(AccountEvent(userID: user, kind: .blockedChanged, otherUserID: target, reason: "blocked", createdAt: now))
    }

    public func unblock(user: UserID, target: UserID, now: Millis) throws {
        try FriendPolicy.checkUnblock(blocked: deleteBlock(user, target))
        try append(AccountEvent(userID: user, kind: .blockedChanged, otherUserID: target, reason: "unblocked", createdAt: now))
    }

    /// Ends whatever relates the two users: a friendship (FRIEND_REMOVED to
    /// both) and pending requests either way (FRIEND_REQUEST_CANCELED to
    /// both for each). A block and an account deletion do this.
    func endRelation(_ a: UserID, _ b: UserID, now: Millis) throws {
        let relation = try relation(of: a, with: b)
        if relation.areFriends { try unfriend(a, b, now: now) }
        for (from, to) in [(a, b), (b, a)] where try deletePendingRequest(from: from, to: to) {
            try append(AccountEvent(userID: from, kind: .friendRequestCanceled, otherUserID: to, createdAt: now))
            try append(AccountEvent(userID: to, kind: .friendRequestCanceled, otherUserID: from, createdAt: now))
        }
    }

    /// Two users become friends (a row each way), each told, the first one first.
    func befriend(_ a: UserID, _ b: UserID, now: Millis) throws {
        for (x, y) in [(a, b), (b, a)] {
            try setLink(.accepted, from: x, to: y, at: now)
            try append(AccountEvent(userID: x, kind: .friendAdded, otherUserID: y, createdAt: now))
        }
        contactsAdded(a, b)
    }

    func unfriend(_ a: UserID, _ b: UserID, now: Millis) throws {
        try deleteFriendship(a, b)
        try append(AccountEvent(userID: a, kind: .friendRemoved, otherUserID: b, createdAt: now))
        try append(AccountEvent(userID: b, kind: .friendRemoved, otherUserID: a, createdAt: now))
        contactsRemoved(a, b)
    }
}

extension Store {
    /// Returns true when the request completed a friendship (the other side had asked already).
    public func requestFriend(from: UserID, to: UserID, now: Millis) async throws -> Bool {
        try await transaction { tx in try tx.requestFriend(from: from, to: to, now: now) }
    }
}
