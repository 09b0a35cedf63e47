/// Friends and blocks (spec/PROTOCOL.md §7.2, §7.3), as decisions over
/// snapshots with no I/O: the two users' accounts, the friendship rows
/// between them and the block state, read in the write that acts on them.
public enum FriendPolicy {
    /// One direction of the relation between two users: a pending request or a friendship row.
    public enum Link: String, Sendable, Equatable, CaseIterable {
        case pending
        case accepted
    }

    /// The relation between the caller and another user, from the caller's side.
    public struct Relation: Sendable, Equatable {
        /// The caller's row towards the other user.
        public var outgoing: Link?
        /// The other user's row towards the caller.
        public var incoming: Link?

        public init(outgoing: Link? = nil, incoming: Link? = nil) {
            self.outgoing = outgoing
            self.incoming = incoming
        }

        public var areFriends: Bool { outgoing == .accepted || incoming == .accepted }
    }

    /// What a FriendRequest does.
    public enum RequestOutcome: Sendable, Equatable {
        /// The other user had asked already: they become friends.
        case befriend
        /// A new pending request.
        case request
    }

    /// FriendRequest (60), checks in the order of §7.2.
    public static func request(
        from caller: UserID, to target: UserID, callerAccount: AccountSnapshot?, targetAccount: AccountSnapshot?,
        blocked: Bool, relation: Relation
    ) throws(ChatFailure) -> RequestOutcome {
        guard caller != target else { throw ChatFailure.invalid("user_id", "you cannot befriend yourself") }
        try AccountPolicy.checkActive(callerAccount)
        guard targetAccount?.disabled == false else { throw ChatFailure(.notFound, "no such user") }
        guard !blocked else { throw ChatFailure(.forbidden, "friend requests between these users are blocked") }
        if relation.outgoing == .accepted { throw ChatFailure(.conflict, "already friends") }
        if relation.outgoing == .pending { throw ChatFailure(.conflict, "a friend request is already pending") }
        return relation.incoming == .pending ? .befriend : .request
    }

    /// AcceptFriend (61): there must be a pending request from the other user.
    public static func checkAccept(_ relation: Relation) throws(ChatFailure) {
        guard relation.incoming == .pending else { throw ChatFailure(.notFound, "no friend request from this user") }
    }

    /// DeclineFriend (62) and CancelFriendRequest (63): the request they end must be there.
    public static func checkEndRequest(exists: Bool) throws(ChatFailure) {
        guard exists else { throw ChatFailure(.notFound, "no such friend request") }
    }

    /// RemoveFriend (64).
    public static func checkRemove(_ relation: Relation) throws(ChatFailure) {
        guard relation.areFriends else { throw ChatFailure(.notFound, "not friends with this user") }
    }

    /// Block (66): anyone else who exists, disabled included. Returns
    /// false when the block is there already (the call succeeds, nothing happens).
    public static func block(
        _ target: UserID, by caller: UserID, targetExists: Bool, alreadyBlocked: Bool
    ) throws(ChatFailure) -> Bool {
        guard caller != target else { throw ChatFailure.invalid("user_id", "you cannot block yourself") }
        guard targetExists else { throw ChatFailure(.notFound, "no such user") }
        return !alreadyBlocked
    }

    /// Unblock (67): only a block the caller made.
    public static func checkUnblock(blocked: Bool) throws(ChatFailure) {
        guard blocked else { throw ChatFailure(.notFound, "this user is not blocked") }
    }
}
