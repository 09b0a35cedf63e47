/// Who may do what in a room, group or direct chat: the visibility rule
/// (spec/PROTOCOL.md §5.2) and the permission table (§5.3), as decisions
/// over snapshots with no I/O. The services run them inside the write
/// transaction that acts on the answer.
///
/// `authorize` covers the first three steps every op checks in order:
/// (1) visibility and membership, (2) the conversation's kind, (3) the
/// caller's role. The rules about a target member, a message or a block
/// follow in `ModerationPolicy` and `MessagePolicy`.
public enum ConversationPolicy {
    /// The ops of the permission table, one per row.
    public enum Action: String, Sendable, CaseIterable {
        case getConversation
        case join
        case listMembers
        case history
        case markRead
        case typing
        case send
        case react
        case edit
        case deleteMessage
        case invite
        case leave
        case kick
        case ban
        case unban
        case mute
        case setRole
        case transferOwnership
        case update
        case deleteConversation
    }

    static let noSuchConversation = ChatFailure(.notFound, "no such conversation")
    static let notMember = ChatFailure(.notMember, "not a member of this conversation")

    /// Steps (1)–(3) of §5.3 for `action` by the user whose standing this
    /// is. Returns the caller's membership; nil only where a non-member may
    /// act: GetConversation and JoinRoom on a public room, and a server
    /// admin's DeleteConversation.
    @discardableResult
    public static func authorize(
        _ action: Action, _ standing: Standing, serverAdmin: Bool = false
    ) throws(ChatFailure) -> Membership? {
        guard let conversation = standing.conversation else { throw noSuchConversation }
        // A server admin's DeleteConversation reaches any conversation (§5.7).
        if action == .deleteConversation, serverAdmin { return standing.membership }
        guard let membership = standing.membership else {
            guard conversation.isPublicRoom else { throw noSuchConversation }
            switch action {
            case .getConversation, .join: return nil
            case .typing: throw noSuchConversation
            case .listMembers, .history, .markRead, .send, .react, .edit, .deleteMessage, .invite, .leave, .kick, .ban,
                .unban, .mute, .setRole, .transferOwnership, .update, .deleteConversation:
                throw notMember
            }
        }
        if conversation.kind == .direct, let refusal = refusalInDirect(action) {
            throw ChatFailure(.forbidden, refusal)
        }
        if let (required, refusal) = requiredRole(action), membership.role < required {
            throw ChatFailure(.forbidden, refusal)
        }
        return membership
    }

    /// `authorize` for the ops only members may do: their membership.
    public static func member(_ action: Action, _ standing: Standing) throws(ChatFailure) -> Membership {
        guard let membership = try authorize(action, standing) else { throw notMember }
        return membership
    }

    /// Why a member cannot do `action` in a direct chat; nil: they can.
    static func refusalInDirect(_ action: Action) -> String? {
        switch action {
        case .invite: "direct chats have exactly two members"
        case .leave: "a direct chat cannot be left"
        case .kick, .ban, .unban, .mute, .setRole, .transferOwnership: "direct chats have no moderation"
        case .update: "direct chats have no name or topic"
        case .deleteConversation: "a direct chat cannot be deleted"
        case .getConversation, .join, .listMembers, .history, .markRead, .typing, .send, .react, .edit, .deleteMessage:
            nil
        }
    }

    /// The lowest role that may do `action`, and the refusal below it; nil: every member may.
    static func requiredRole(_ action: Action) -> (MemberRole, String)? {
        switch action {
        case .invite: (.admin, "only the owner or an admin can add members")
        case .kick, .ban, .unban, .mute, .update: (.admin, "only the owner or an admin can do this")
        case .setRole, .transferOwnership: (.owner, "only the owner can change roles")
        case .deleteConversation: (.owner, "only the owner can delete this conversation")
        case .getConversation, .join, .listMembers, .history, .markRead, .typing, .send, .react, .edit, .deleteMessage,
            .leave:
            nil
        }
    }

    // MARK: Membership

    /// Whether a user may be added (JoinRoom, Invite, an initial member):
    /// not banned, and the account active (checked in the write: an account
    /// disabled or deleted meanwhile is not added). `account` nil: no such user.
    public static func admit(_ account: AccountSnapshot?, banned: Bool) throws(ChatFailure) {
        guard !banned else { throw ChatFailure(.forbidden, "banned from this conversation") }
        guard let account, !account.disabled else { throw ChatFailure(.notFound, "no such user") }
    }

    /// Invite, after the caller's role: the target exists and is active,
    /// and neither of the two blocks the other (§5.6, §7.3).
    public static func checkInvitee(_ account: AccountSnapshot?, blocked: Bool) throws(ChatFailure) {
        guard let account, !account.disabled else { throw ChatFailure(.notFound, "no such user") }
        guard !blocked else { throw ChatFailure(.forbidden, "one of you blocks the other") }
    }

    /// OpenDirect's checks on the other user (§5.4): not the caller, an
    /// active account, and no block between the two either way.
    public static func checkDirectPeer(
        _ peer: UserID, creator: UserID, account: AccountSnapshot?, blocked: Bool
    ) throws(ChatFailure) {
        guard peer != creator else { throw ChatFailure.invalid("user_id", "a direct chat needs another user") }
        guard let account, !account.disabled else { throw ChatFailure(.notFound, "no such user") }
        guard !blocked else { throw ChatFailure(.forbidden, "direct messages between these users are blocked") }
    }

    /// CreateGroup adds an initial member only if the account is active and
    /// neither the creator nor they block the other; anyone else is skipped (§5.4).
    public static func isAddableAtCreation(_ account: AccountSnapshot, blocked: Bool) -> Bool {
        !account.disabled && !blocked
    }

    /// A direct chat is between its creator and one other user.
    public static func directPeer(creator: UserID?, members: [UserID]) throws(ChatFailure) -> (UserID, UserID) {
        guard let creator, let peer = members.first, peer != creator else {
            throw ChatFailure.invalid("user_id", "a direct chat needs another user")
        }
        return (creator, peer)
    }

    /// What a removal records: MEMBER_LEFT, MEMBER_KICKED or MEMBER_BANNED,
    /// with the reason given to the removed user.
    public static func removalReason(_ kind: EventKind) -> String {
        kind == .memberLeft ? "left" : kind == .memberKicked ? "kicked" : "banned"
    }

    /// A room named in `rooms.default` that exists already must be public:
    /// every new user joins it.
    public static func checkDefaultRoom(_ name: String, visibility: Visibility) throws(ChatFailure) {
        guard visibility == .public else { throw ChatFailure.invalid("rooms.default", "\(name) exists as a private room") }
    }

    /// Who becomes owner when the owner leaves (§5.6): the longest-serving
    /// admin, else the longest-serving of the other members; nil leaves
    /// it ownerless. `anyone` is asked only when there is no admin.
    public static func heir(
        longestServingAdmin: UserID?, longestServing anyone: () throws -> UserID?
    ) rethrows -> UserID? {
        if let admin = longestServingAdmin { return admin }
        return try anyone()
    }

    /// Roles an owner hands out with SetMemberRole (OWNER moves only by TransferOwnership).
    public static func checkAssignable(_ role: MemberRole) throws(ChatFailure) {
        guard role == .member || role == .admin else {
            throw ChatFailure.invalid("role", "role must be MEMBER or ADMIN (use TransferOwnership for OWNER)")
        }
    }

    /// A role change of a member whose role is `current` to `new`. The
    /// owner's role is never lowered (the conversation would be left
    /// ownerless); ownership moves only to someone else, and the owners
    /// before become admins (`ownersStepDown`).
    public static func changeRole(from current: MemberRole?, to new: MemberRole) throws(ChatFailure) -> RoleChange {
        guard let current else { throw ChatFailure(.notFound, "not a member of this conversation") }
        if current == .owner && new != .owner {
            throw ChatFailure(.forbidden, "the owner's role changes only when ownership moves to someone else")
        }
        if new == .owner { return .transferOwnership }
        guard current != new else { throw ChatFailure(.conflict, "the member already has this role") }
        return .set(new)
    }

    /// What a role change writes.
    public enum RoleChange: Sendable, Equatable {
        /// The member gets this role.
        case set(MemberRole)
        /// Every other owner becomes admin, then the member becomes owner.
        case transferOwnership
    }
}
