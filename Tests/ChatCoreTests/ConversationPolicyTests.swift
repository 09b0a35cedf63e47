import ChatCore
import Testing

/// spec/PROTOCOL.md §5.3, row by row, without a database: every action by
/// an owner, an admin, a member and a non-member of a public room and of a
/// private conversation (steps 1–3: visibility and membership, kind, role).
struct ConversationPolicyTests {
    typealias Action = ConversationPolicy.Action

    enum Caller: CaseIterable {
        case owner, admin, member, outsiderPublic, outsiderPrivate
    }

    enum Outcome: Equatable {
        case allowed
        case refused(ChatFailure.Kind)
    }

    static let publicRoom = ConversationSnapshot(id: 1, kind: .room, visibility: .public, headSeq: 10)
    static let privateRoom = ConversationSnapshot(id: 2, kind: .room, visibility: .private, headSeq: 10)
    static let group = ConversationSnapshot(id: 3, kind: .group, visibility: .private, headSeq: 10)
    static let direct = ConversationSnapshot(id: 4, kind: .direct, visibility: .private, headSeq: 10)

    static func standing(_ caller: Caller, in conversation: ConversationSnapshot) -> Standing {
        let role: MemberRole? =
            switch caller {
            case .owner: .owner
            case .admin: .admin
            case .member: .member
            case .outsiderPublic, .outsiderPrivate: nil
            }
        return Standing(
            conversation: conversation, membership: role.map { Membership(role: $0, readSeq: 0, mutedUntil: nil) },
            account: AccountSnapshot(id: 7))
    }

    static func outcome(_ action: Action, _ standing: Standing, serverAdmin: Bool = false) -> Outcome {
        do {
            try ConversationPolicy.authorize(action, standing, serverAdmin: serverAdmin)
            return .allowed
        } catch {
            return .refused(error.kind)
        }
    }

    /// The table: owner, admin, member, non-member of a public room, non-member of a private room or group.
    static let table: [Action: [Outcome]] = {
        let ok = Outcome.allowed
        let forbidden = Outcome.refused(.forbidden)
        let notMember = Outcome.refused(.notMember)
        let notFound = Outcome.refused(.notFound)
        return [
            .getConversation: [ok, ok, ok, ok, notFound],
            .join: [ok, ok, ok, ok, notFound],
            .listMembers: [ok, ok, ok, notMember, notFound],
            .history: [ok, ok, ok, notMember, notFound],
            .markRead: [ok, ok, ok, notMember, notFound],
            .typing: [ok, ok, ok, notFound, notFound],
            .send: [ok, ok, ok, notMember, notFound],
            .react: [ok, ok, ok, notMember, notFound],
            .edit: [ok, ok, ok, notMember, notFound],
            .deleteMessage: [ok, ok, ok, notMember, notFound],
            .invite: [ok, ok, forbidden, notMember, notFound],
            .leave: [ok, ok, ok, notMember, notFound],
            .kick: [ok, ok, forbidden, notMember, notFound],
            .ban: [ok, ok, forbidden, notMember, notFound],
            .unban: [ok, ok, forbidden, notMember, notFound],
            .mute: [ok, ok, forbidden, notMember, notFound],
            .setRole: [ok, forbidden, forbidden, notMember, notFound],
            .transferOwnership: [ok, forbidden, forbidden, notMember, notFound],
            .update: [ok, ok, forbidden, notMember, notFound],
            .deleteConversation: [ok, forbidden, forbidden, notMember, notFound],
        ]
    }()

    @Test func everyActionHasARow() {
        #expect(Set(Self.table.keys) == Set(Action.allCases))
    }

    @Test(arguments: Action.allCases)
    func roomsAndGroups(_ action: Action) {
        let expected = Self.table[action] ?? []
        for (caller, outcome) in zip(Caller.allCases, expected) {
            let conversations: [ConversationSnapshot] =
                switch caller {
                case .outsiderPublic: [Self.publicRoom]
                case .outsiderPrivate: [Self.privateRoom, Self.group]
                case .owner, .admin, .member: [Self.publicRoom, Self.privateRoom, Self.group]
                }
            for conversation in conversations {
                #expect(
                    Self.outcome(action, Self.standing(caller, in: conversation)) == outcome,
                    "\(action) by \(caller) in \(conversation.kind) \(conversation.visibility)")
            }
        }
    }

    /// Direct chats: both members are MEMBERs; the ops a direct chat does
    /// not have are forbidden, everything else works as for a member;
    /// non-members see nothing.
    @Test(arguments: Action.allCases)
    func directChats(_ action: Action) {
        let refusedInDirect: Set<Action> = [
            .invite, .leave, .kick, .ban, .unban, .mute, .setRole, .transferOwnership, .update, .deleteConversation,
        ]
        let expected: Outcome = refusedInDirect.contains(action) ? .refused(.forbidden) : .allowed
        #expect(Self.outcome(action, Self.standing(.member, in: Self.direct)) == expected)
        #expect(Self.outcome(action, Self.standing(.outsiderPrivate, in: Self.direct)) == .refused(.notFound))
    }

    /// ² A server admin may delete any conversation, member or not, of any
    /// kind; nothing else is visible to them.
    @Test func serverAdmins() {
        for conversation in [Self.publicRoom, Self.privateRoom, Self.group, Self.direct] {
            for caller in Caller.allCases {
                #expect(Self.outcome(.deleteConversation, Self.standing(caller, in: conversation), serverAdmin: true) == .allowed)
            }
            #expect(
                Self.outcome(.history, Self.standing(.outsiderPrivate, in: conversation), serverAdmin: true)
                    == (conversation == Self.publicRoom ? .refused(.notMember) : .refused(.notFound)))
        }
    }

    @Test func noSuchConversation() {
        let nothing = Standing(conversation: nil, membership: nil, account: AccountSnapshot(id: 7))
        for action in Action.allCases {
            #expect(Self.outcome(action, nothing) == .refused(.notFound))
            #expect(Self.outcome(action, nothing, serverAdmin: true) == .refused(.notFound))
        }
    }

    @Test func joinTellsWhetherTheCallerIsAMember() throws {
        #expect(try ConversationPolicy.authorize(.join, Self.standing(.outsiderPublic, in: Self.publicRoom)) == nil)
        #expect(try ConversationPolicy.authorize(.join, Self.standing(.member, in: Self.publicRoom))?.role == .member)
    }

    // MARK: Membership

    /// The kind of failure `body` throws; nil when it passes.
    static func kind(_ body: () throws -> Void) -> ChatFailure.Kind? {
        do {
            try body()
            return nil
        } catch let failure as ChatFailure {
            return failure.kind
        } catch {
            return .internal
        }
    }

    @Test func admittingAMember() {
        let active = AccountSnapshot(id: 2)
        let disabled = AccountSnapshot(id: 2, disabled: true)
        #expect(Self.kind { try ConversationPolicy.admit(active, banned: false) } == nil)
        #expect(Self.kind { try ConversationPolicy.admit(active, banned: true) } == .forbidden)
        #expect(Self.kind { try ConversationPolicy.admit(disabled, banned: false) } == .notFound)
        #expect(Self.kind { try ConversationPolicy.admit(nil, banned: false) } == .notFound)
        // Banned is told first.
        #expect(Self.kind { try ConversationPolicy.admit(disabled, banned: true) } == .forbidden)
    }

    @Test func invitees() {
        #expect(Self.kind { try ConversationPolicy.checkInvitee(AccountSnapshot(id: 2), blocked: false) } == nil)
        #expect(Self.kind { try ConversationPolicy.checkInvitee(AccountSnapshot(id: 2), blocked: true) } == .forbidden)
        #expect(Self.kind { try ConversationPolicy.checkInvitee(AccountSnapshot(id: 2, disabled: true), blocked: false) } == .notFound)
        #expect(Self.kind { try ConversationPolicy.checkInvitee(nil, blocked: true) } == .notFound)
    }

    @Test func creatingConversations() {
        #expect(Self.kind { _ = try ConversationPolicy.directPeer(creator: 1, members: [2]) } == nil)
        #expect(Self.kind { _ = try ConversationPolicy.directPeer(creator: 1, members: [1]) } == .invalidField)
        #expect(Self.kind { _ = try ConversationPolicy.directPeer(creator: 1, members: []) } == .invalidField)
        #expect(Self.kind { _ = try ConversationPolicy.directPeer(creator: nil, members: [2]) } == .invalidField)
        #expect(ConversationPolicy.isAddableAtCreation(AccountSnapshot(id: 2), blocked: false))
        #expect(!ConversationPolicy.isAddableAtCreation(AccountSnapshot(id: 2), blocked: true))
        #expect(!ConversationPolicy.isAddableAtCreation(AccountSnapshot(id: 2, disabled: true), blocked: false))
    }

    /// `rooms.default` names rooms every new user joins: an existing one must be public.
    @Test func defaultRooms() {
        #expect(Self.kind { try ConversationPolicy.checkDefaultRoom("lobby", visibility: .public) } == nil)
        #expect(Self.kind { try ConversationPolicy.checkDefaultRoom("lobby", visibility: .private) } == .invalidField)
    }

    /// OpenDirect (§5.4): the caller, a disabled or missing user, a block.
    @Test func openingADirectChat() {
        let peer = AccountSnapshot(id: 2)
        #expect(Self.kind { try ConversationPolicy.checkDirectPeer(2, creator: 1, account: peer, blocked: false) } == nil)
        #expect(Self.kind { try ConversationPolicy.checkDirectPeer(1, creator: 1, account: peer, blocked: false) } == .invalidField)
        #expect(Self.kind { try ConversationPolicy.checkDirectPeer(2, creator: 1, account: nil, blocked: false) } == .notFound)
        #expect(
            Self.kind { try ConversationPolicy.checkDirectPeer(2, creator: 1, account: AccountSnapshot(id: 2, disabled: true), blocked: false) }
                == .notFound)
        #expect(Self.kind { try ConversationPolicy.checkDirectPeer(2, creator: 1, account: peer, blocked: true) } == .forbidden)
    }

    /// §5.6: the longest-serving admin, else the longest-serving member.
    @Test func heirs() {
        #expect(ConversationPolicy.heir(longestServingAdmin: 5, longestServing: { 3 }) == 5)
        #expect(ConversationPolicy.heir(longestServingAdmin: nil, longestServing: { 3 }) == 3)
        #expect(ConversationPolicy.heir(longestServingAdmin: nil, longestServing: { nil }) == nil)
        var asked = false
        _ = ConversationPolicy.heir(longestServingAdmin: 5, longestServing: { asked = true; return 3 })
        #expect(!asked)
    }

    /// The owner's role is never lowered; ownership only moves.
    @Test func roleChanges() throws {
        #expect(try ConversationPolicy.changeRole(from: .member, to: .admin) == .set(.admin))
        #expect(try ConversationPolicy.changeRole(from: .admin, to: .member) == .set(.member))
        #expect(try ConversationPolicy.changeRole(from: .admin, to: .owner) == .transferOwnership)
        #expect(try ConversationPolicy.changeRole(from: .owner, to: .owner) == .transferOwnership)
        #expect(Self.kind { _ = try ConversationPolicy.changeRole(from: .owner, to: .admin) } == .forbidden)
        #expect(Self.kind { _ = try ConversationPolicy.changeRole(from: .owner, to: .member) } == .forbidden)
        #expect(Self.kind { _ = try ConversationPolicy.changeRole(from: .admin, to: .admin) } == .conflict)
        #expect(Self.kind { _ = try ConversationPolicy.changeRole(from: nil, to: .admin) } == .notFound)
        #expect(Self.kind { try ConversationPolicy.checkAssignable(.owner) } == .invalidField)
        #expect(Self.kind { try ConversationPolicy.checkAssignable(.admin) } == nil)
    }

    @Test func userReferences() throws {
        #expect(try UserReference(id: 5, username: "ignored") == .id(5))
        #expect(try UserReference(id: 0, username: "Bob") == .usernameKey("bob"))
        #expect(Self.kind { _ = try UserReference(id: 0, username: "") } == .invalidField)
        #expect(Self.kind { _ = try UserReference(id: 0, username: String(repeating: "a", count: 33)) } == .tooLarge)
        #expect(try UserReference.usernameKey("bob").resolve { _ in 9 } == 9)
        #expect(throws: ChatFailure.self) { try UserReference.usernameKey("bob").resolve { _ in nil } }
    }
}

/// The target columns of §5.3 (Kick, Ban, Mute: who may act on whom) and
/// the rules of §5.7.
struct ModerationPolicyTests {
    static func kind(_ body: () throws -> Void) -> ChatFailure.Kind? {
        ConversationPolicyTests.kind(body)
    }

    /// Kick and Mute: an owner acts on admins and members, an admin on
    /// members; nobody on an equal or higher rank, nor on a non-member.
    @Test(arguments: MemberRole.allCases)
    func outranking(_ actor: MemberRole) {
        for target in MemberRole.allCases {
            let expected: ChatFailure.Kind? = actor > target ? nil : .forbidden
            #expect(Self.kind { try ModerationPolicy.checkOutranked(actor: actor, target: target) } == expected)
            #expect(Self.kind { _ = try ModerationPolicy.muteEnd(durationMs: 1000, actor: actor, target: target, now: 0) } == expected)
        }
        #expect(Self.kind { try ModerationPolicy.checkOutranked(actor: actor, target: nil) } == .notFound)
    }

    /// Ban: as Kick for members; non-members may be banned if they exist; never twice.
    @Test func bans() {
        #expect(Self.kind { try ModerationPolicy.checkBan(actor: .admin, target: .member, targetExists: true, alreadyBanned: false) } == nil)
        #expect(Self.kind { try ModerationPolicy.checkBan(actor: .admin, target: .admin, targetExists: true, alreadyBanned: false) } == .forbidden)
        #expect(Self.kind { try ModerationPolicy.checkBan(actor: .owner, target: .admin, targetExists: true, alreadyBanned: false) } == nil)
        #expect(Self.kind { try ModerationPolicy.checkBan(actor: .admin, target: nil, targetExists: true, alreadyBanned: false) } == nil)
        #expect(Self.kind { try ModerationPolicy.checkBan(actor: .admin, target: nil, targetExists: false, alreadyBanned: false) } == .notFound)
        #expect(Self.kind { try ModerationPolicy.checkBan(actor: .admin, target: nil, targetExists: true, alreadyBanned: true) } == .conflict)
    }

    @Test func mutes() throws {
        #expect(try ModerationPolicy.muteEnd(durationMs: 1000, actor: .owner, target: .member, now: 50) == 1050)
        #expect(try ModerationPolicy.muteEnd(durationMs: 0, actor: .owner, target: .member, now: 50) == nil)
        #expect(try ModerationPolicy.muteEnd(durationMs: ModerationPolicy.maxMuteMs, actor: .owner, target: .member, now: 0) != nil)
        #expect(Self.kind { _ = try ModerationPolicy.muteEnd(durationMs: ModerationPolicy.maxMuteMs + 1, actor: .owner, target: .member, now: 0) } == .invalidField)
        #expect(Self.kind { _ = try ModerationPolicy.muteEnd(durationMs: -1, actor: .owner, target: .member, now: 0) } == .invalidField)
        // The duration is checked before the target.
        #expect(Self.kind { _ = try ModerationPolicy.muteEnd(durationMs: -1, actor: .member, target: .owner, now: 0) } == .invalidField)
    }

    @Test func oneselfAndMembership() {
        #expect(Self.kind { try ModerationPolicy.checkTarget(1, actor: 1) } == .invalidField)
        #expect(Self.kind { try ModerationPolicy.checkTarget(2, actor: 1) } == nil)
        #expect(Self.kind { try ModerationPolicy.checkMember(nil) } == .notFound)
        #expect(Self.kind { try ModerationPolicy.checkMember(.member) } == nil)
    }
}
