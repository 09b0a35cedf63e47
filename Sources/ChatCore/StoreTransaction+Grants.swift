/// Invite links (spec/PROTOCOL.md §5.14) and registration tokens (§4.3),
/// each op one transaction: the permission table's Invite row decides who
/// manages links, `GrantPolicy` whether a token lets its holder in, and a
/// redemption joins through `addMember`, the same path as JoinRoom.
extension StoreTransaction {
    /// CreateInviteLink: an owner or admin of a room or group.
    public func createInvite(
        conversation: ConversationID, by actor: UserID, tokenHash: [UInt8], expiresAt: Millis?, maxUses: Int, now: Millis
    ) throws -> Grant {
        try ConversationPolicy.authorize(.invite, standing(of: actor, in: conversation))
        let live = try grants(
            kind: .invite, conversation: conversation, liveAt: now, limit: GrantPolicy.maxLiveInvitesPerConversation + 1)
        try GrantPolicy.checkRoomForInvite(live: live.count)
        return try insertGrant(
            NewGrant(
                kind: .invite, conversationID: conversation, createdBy: actor, tokenHash: tokenHash, createdAt: now,
                expiresAt: expiresAt, maxUses: maxUses))
    }

    /// ListInviteLinks: the links that can still be used, for an owner or admin.
    public func inviteLinks(conversation: ConversationID, viewer: UserID, now: Millis) throws -> [Grant] {
        try ConversationPolicy.authorize(.invite, standing(of: viewer, in: conversation))
        return try grants(
            kind: .invite, conversation: conversation, liveAt: now, limit: GrantPolicy.maxLiveInvitesPerConversation)
    }

    /// RevokeInviteLink; revoking again changes nothing. Returns the link
    /// and whether this call revoked it.
    public func revokeInvite(conversation: ConversationID, id: Int64, by actor: UserID, now: Millis) throws -> (Grant, revoked: Bool) {
        try ConversationPolicy.authorize(.invite, standing(of: actor, in: conversation))
        guard var grant = try grant(id: id), grant.kind == .invite, grant.conversationID == conversation else {
            throw ChatFailure(.notFound, "no such invite link in this conversation")
        }
        guard grant.revokedAt == nil else { return (grant, false) }
        try setGrantRevoked(id, at: now)
        grant.revokedAt = now
        return (grant, true)
    }

    /// RedeemInviteLink: the token's checks, then a join exactly as
    /// JoinRoom's (MEMBER_JOINED, ADDED_TO_CONVERSATION; a ban refuses).
    /// A member stays as they are and spends no use, whatever the link's
    /// state: a retry of a redemption that took the last use (its answer
    /// lost) succeeds, where `invite_used_up` would have told a member
    /// that the link let them down. Returns the link and whether the user
    /// joined.
    public func redeemInvite(tokenHash: [UInt8], user: UserID, now: Millis) throws -> (Grant, joined: Bool) {
        let found = try grant(tokenHash: tokenHash)
        if let found, found.kind == .invite, let conversation = found.conversationID,
            try standing(of: user, in: conversation).membership != nil
        {
            return (found, false)
        }
        let grant = try GrantPolicy.redeemable(found, kind: .invite, now: now)
        guard let conversation = grant.conversationID else { throw ChatFailure(.internal, "invite link without a conversation") }
        guard try addMember(conversation: conversation, user: user, by: nil, now: now) != nil else { return (grant, false) }
        try addGrantUse(grant.id)
        return (grant, true)
    }

    /// Register with a registration token: the token's checks and its use
    /// are in the account's transaction, so the last use goes to one
    /// account only and a refused registration (a taken username) spends none.
    public func createUser(_ user: NewUser, registrationTokenHash hash: [UInt8]) throws -> (UserAccount, Grant) {
        let grant = try GrantPolicy.redeemable(grant(tokenHash: hash), kind: .registration, now: user.now)
        try addGrantUse(grant.id)
        return (try createUser(user), grant)
    }

    /// chatctl registration-token revoke; revoking again changes nothing.
    public func revokeRegistrationToken(id: Int64, now: Millis) throws -> Grant {
        guard var grant = try grant(id: id), grant.kind == .registration else {
            throw ChatFailure(.notFound, "no such registration token")
        }
        if grant.revokedAt == nil {
            try setGrantRevoked(id, at: now)
            grant.revokedAt = now
        }
        return grant
    }
}
