/// Creating conversations, membership and moderation (spec/PROTOCOL.md
/// §5.4–§5.7), each as one transaction: read the snapshots, decide with
/// `ConversationPolicy` and `ModerationPolicy`, write. The consistency
/// rules that tie rows together live here too: every member added gets
/// ADDED_TO_CONVERSATION, every removal REMOVED_FROM_CONVERSATION, and an
/// owner who leaves hands ownership on.
extension StoreTransaction {
    /// Creates a room, group or direct chat with its creator (owner, except
    /// in direct chats) and initial members. A direct chat that exists
    /// already is returned as it is.
    public func createConversation(_ new: NewConversation) throws -> Conversation {
        if let creator = new.creator { try AccountPolicy.checkActive(account(creator)) }
        if new.kind == .direct {
            let (creator, peer) = try ConversationPolicy.directPeer(creator: new.creator, members: new.members)
            if let existing = try directConversation(between: creator, and: peer) { return existing }
        }
        let id = try insertConversation(new)
        _ = try append(Event(conversationID: id, seq: 0, kind: .roomCreated, senderID: new.creator ?? 0, createdAt: new.now))
        if let creator = new.creator {
            try enroll(conversation: id, user: creator, role: new.kind == .direct ? .member : .owner, now: new.now)
        }
        switch new.kind {
        case .direct:
            if let creator = new.creator, let peer = new.members.first {
                try ConversationPolicy.admit(account(peer), banned: false)
                try enroll(conversation: id, user: peer, role: .member, now: new.now)
                contactsAdded(creator, peer)
            }
        case .room, .group:
            for user in new.members where user != new.creator {
                _ = try addMember(conversation: id, user: user, by: new.creator, now: new.now)
            }
        }
        guard let created = try conversation(id, viewer: new.creator) else {
            throw ChatFailure(.internal, "conversation row vanished")
        }
        return created
    }

    /// Stores a new account and joins it to `user.joinRooms`.
    public func createUser(_ user: NewUser) throws -> UserAccount {
        let account = try insertUser(user)
        for room in user.joinRooms {
            _ = try addMember(conversation: room, user: account.user.id, by: nil, now: user.now)
        }
        return account
    }

    /// Adds `user`; nil when already a member; throws forbidden when
    /// banned, not_found when the account is disabled. `by` nil: the user
    /// joined by itself.
    public func addMember(conversation: ConversationID, user: UserID, by: UserID?, now: Millis) throws -> Event? {
        let standing = try standing(of: user, in: conversation)
        if standing.membership != nil { return nil }
        try ConversationPolicy.admit(standing.account, banned: isBanned(user, from: conversation))
        try enroll(conversation: conversation, user: user, role: .member, now: now)
        return try append(
            Event(
                conversationID: conversation, seq: 0, kind: by == nil ? .memberJoined : .memberAdded, senderID: by ?? user,
                subjectUserID: user, createdAt: now))
    }

    /// A new member, told by an ADDED_TO_CONVERSATION account event.
    func enroll(conversation: ConversationID, user: UserID, role: MemberRole, now: Millis) throws {
        try insertMember(conversation: conversation, user: user, role: role, at: now)
        try append(AccountEvent(userID: user, kind: .addedToConversation, conversationID: conversation, createdAt: now))
    }

    /// Removes `user` (left, kicked or banned), handing ownership on when
    /// the owner leaves; nil when not a member (a ban of a non-member still
    /// records the ban).
    public func removeMember(conversation: ConversationID, user: UserID, by: UserID, kind: EventKind, now: Millis) throws -> [Event]? {
        let role = try standing(of: user, in: conversation).membership?.role
        if kind == .memberBanned { try insertBan(conversation: conversation, user: user, by: by, at: now) }
        let removal = Event(conversationID: conversation, seq: 0, kind: kind, senderID: by, subjectUserID: user, createdAt: now)
        guard let role else {
            guard kind == .memberBanned else { return nil }
            return [try append(removal)]
        }
        try deleteMember(conversation: conversation, user: user)
        var events = [try append(removal)]
        try append(
            AccountEvent(
                userID: user, kind: .removedFromConversation, conversationID: conversation,
                reason: ConversationPolicy.removalReason(kind), createdAt: now))
        if role == .owner,
            let heir = try ConversationPolicy.heir(
                longestServingAdmin: longestServing(in: conversation, role: .admin),
                longestServing: { try longestServing(in: conversation, role: nil) })
        {
            try setRole(conversation: conversation, user: heir, role: .owner)
            events.append(
                try append(
                    Event(
                        conversationID: conversation, seq: 0, kind: .roleChanged, senderID: user, subjectUserID: heir,
                        role: .owner, createdAt: now)))
        }
        return events
    }

    /// Lifts a ban; nil when there was none.
    public func unban(conversation: ConversationID, user: UserID, by: UserID, now: Millis) throws -> Event? {
        guard try deleteBan(conversation: conversation, user: user) else { return nil }
        return try append(
            Event(conversationID: conversation, seq: 0, kind: .memberUnbanned, senderID: by, subjectUserID: user, createdAt: now))
    }

    /// Changes the role of a member whose role is `current` (nil: not a member).
    public func changeRole(
        conversation: ConversationID, user: UserID, from current: MemberRole?, to role: MemberRole, by: UserID, now: Millis
    ) throws -> Event {
        switch try ConversationPolicy.changeRole(from: current, to: role) {
        case .set(let role):
            try setRole(conversation: conversation, user: user, role: role)
        case .transferOwnership:
            // Ownership moves: the current owners become admins.
            for owner in try members(of: conversation, role: .owner) where owner != user {
                try setRole(conversation: conversation, user: owner, role: .admin)
                _ = try append(
                    Event(
                        conversationID: conversation, seq: 0, kind: .roleChanged, senderID: by, subjectUserID: owner,
                        role: .admin, createdAt: now))
            }
            try setRole(conversation: conversation, user: user, role: .owner)
        }
        return try append(
            Event(conversationID: conversation, seq: 0, kind: .roleChanged, senderID: by, subjectUserID: user, role: role, createdAt: now))
    }

    // MARK: Client ops

    /// JoinRoom: a member stays as they are; a non-member joins a public room.
    public func join(conversation: ConversationID, user: UserID, now: Millis) throws {
        guard try ConversationPolicy.authorize(.join, standing(of: user, in: conversation)) == nil else { return }
        _ = try addMember(conversation: conversation, user: user, by: nil, now: now)
    }

    /// Invite: the caller's right first, so the call tells nobody else whether a user exists.
    public func invite(conversation: ConversationID, by actor: UserID, userID: UserID, username: String, now: Millis) throws {
        try ConversationPolicy.authorize(.invite, standing(of: actor, in: conversation))
        let target = try resolve(userID: userID, username: username)
        let account = try account(target)
        try ConversationPolicy.checkInvitee(account, blocked: isBlocked(actor, target))
        guard try addMember(conversation: conversation, user: target, by: actor, now: now) != nil else {
            throw ChatFailure(.conflict, "\(account?.username ?? String(target)) is already a member")
        }
    }

    /// OpenDirect (§5.4): the direct chat with another user, created on first use.
    public func openDirect(by user: UserID, userID: UserID, username: String, now: Millis) throws -> Conversation {
        let peer = try resolve(userID: userID, username: username)
        try ConversationPolicy.checkDirectPeer(peer, creator: user, account: account(peer), blocked: isBlocked(user, peer))
        return try createConversation(
            NewConversation(
                kind: .direct, name: "", nameKey: nil, description: "", visibility: .private, creator: user, members: [peer],
                now: now))
    }

    /// A user reference (§7.1), looked up in this transaction.
    func resolve(userID: UserID, username: String) throws -> UserID {
        try UserReference(id: userID, username: username).resolve { try self.userID(usernameKey: $0) }
    }

    /// Leave; the owner hands ownership on.
    public func leave(conversation: ConversationID, user: UserID, now: Millis) throws {
        try ConversationPolicy.authorize(.leave, standing(of: user, in: conversation))
        guard try removeMember(conversation: conversation, user: user, by: user, kind: .memberLeft, now: now) != nil else {
            throw ConversationPolicy.notMember
        }
    }

    /// One moderation op (§5.7), checked in the order of §5.3.
    public func moderate(
        conversation: ConversationID, by actor: UserID, userID: UserID, username: String, _ action: ConversationService.Moderation,
        now: Millis
    ) throws {
        let role = try ConversationPolicy.member(action.policyAction, standing(of: actor, in: conversation)).role
        let target = try resolve(userID: userID, username: username)
        try ModerationPolicy.checkTarget(target, actor: actor)
        let standing = try standing(of: target, in: conversation)
        let targetRole = standing.membership?.role
        switch action {
        case .kick:
            try ModerationPolicy.checkOutranked(actor: role, target: targetRole)
            _ = try removeMember(conversation: conversation, user: target, by: actor, kind: .memberKicked, now: now)
        case .ban:
            try ModerationPolicy.checkBan(
                actor: role, target: targetRole, targetExists: standing.account != nil,
                alreadyBanned: isBanned(target, from: conversation))
            _ = try removeMember(conversation: conversation, user: target, by: actor, kind: .memberBanned, now: now)
        case .unban:
            guard try unban(conversation: conversation, user: target, by: actor, now: now) != nil else {
                throw ChatFailure(.notFound, "that user is not banned")
            }
        case .mute(let duration):
            let until = try ModerationPolicy.muteEnd(durationMs: duration, actor: role, target: targetRole, now: now)
            try setMute(conversation: conversation, user: target, until: until)
            _ = try append(
                Event(
                    conversationID: conversation, seq: 0, kind: .memberMuted, senderID: actor, subjectUserID: target,
                    createdAt: now, mutedUntil: until ?? 0))
        case .setRole(let newRole):
            try ConversationPolicy.checkAssignable(newRole)
            try ModerationPolicy.checkMember(targetRole)
            _ = try changeRole(conversation: conversation, user: target, from: targetRole, to: newRole, by: actor, now: now)
        case .transferOwnership:
            try ModerationPolicy.checkMember(targetRole)
            _ = try changeRole(conversation: conversation, user: target, from: targetRole, to: .owner, by: actor, now: now)
        }
    }

    /// UpdateConversation: `validate` checks the new values (after the
    /// caller's right) and returns the name to store; nothing given, nothing changes.
    public func update(
        conversation: ConversationID, by actor: UserID, name: String?, description: String?, now: Millis,
        validate: (String?, String?) throws -> String?
    ) throws {
        try ConversationPolicy.authorize(.update, standing(of: actor, in: conversation))
        let newName = try validate(name, description)
        guard newName != nil || description != nil else { return }
        let current = try updateConversation(
            conversation, name: newName, nameKey: newName.map(Validate.roomNameKey), description: description)
        _ = try append(
            Event(
                conversationID: conversation, seq: 0, kind: .conversationUpdated, senderID: actor, createdAt: now,
                name: current.name, description: current.description))
    }

    /// Deletes the conversation (its history is gone already, see
    /// `Store.deleteConversation`); every member gets CONVERSATION_DELETED.
    /// Returns the former members.
    public func deleteConversation(_ id: ConversationID, now: Millis) throws -> [UserID] {
        let members = try members(of: id, role: nil)
        guard let kind = try deleteConversation(id) else { throw ConversationPolicy.noSuchConversation }
        for user in members {
            try append(AccountEvent(userID: user, kind: .conversationDeleted, conversationID: id, createdAt: now))
        }
        conversationDeleted(id, members: members)
        if kind == .direct, members.count == 2 { contactsRemoved(members[0], members[1]) }
        return members
    }

    /// Deletes the account as UserDelete does (§11): it leaves every room
    /// and group (MEMBER_LEFT, owner hand-over), its friendships and pending
    /// requests end, and it becomes a tombstone under the username
    /// `tombstone`. Direct chats keep it as a member.
    public func deleteAccount(_ user: UserID, username tombstone: String, now: Millis) throws {
        guard try account(user) != nil else { throw ChatFailure(.notFound, "no such user") }
        for room in try roomsAndGroups(of: user) {
            _ = try removeMember(conversation: room, user: user, by: user, kind: .memberLeft, now: now)
        }
        for other in try friendshipPartners(of: user) { try endRelation(user, other, now: now) }
        try self.tombstone(user, username: tombstone, now: now)
    }
}

extension ConversationService.Moderation {
    /// The row of the permission table this op is.
    var policyAction: ConversationPolicy.Action {
        switch self {
        case .kick: .kick
        case .ban: .ban
        case .unban: .unban
        case .mute: .mute
        case .setRole: .setRole
        case .transferOwnership: .transferOwnership
        }
    }
}

extension Store {
    /// Creates a room, group or direct chat (see `StoreTransaction.createConversation`).
    public func createConversation(_ new: NewConversation) async throws -> Conversation {
        try await transaction { tx in try tx.createConversation(new) }
    }

    public func createUser(_ user: NewUser) async throws -> UserAccount {
        try await transaction { tx in try tx.createUser(user) }
    }

    /// Deletes the conversation and everything in it: its history in
    /// bounded transactions, then the conversation in a last one. Returns
    /// its former members.
    public func deleteConversation(_ id: ConversationID, now: Millis) async throws -> [UserID] {
        try await deleteHistory(of: id)
        return try await transaction { tx in try tx.deleteConversation(id, now: now) }
    }
}
