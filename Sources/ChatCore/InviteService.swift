import Synchronization

/// Invite links of rooms and groups (spec/PROTOCOL.md §5.14): owners and
/// admins create, list and revoke them; anyone authenticated redeems one to
/// join. The token is 32 random bytes returned once; the store keeps its
/// keyed hash, as for session tokens. Every creation, redemption and
/// revocation is audited (without the token).
public final class InviteService: Sendable {
    let store: any Store
    let clock: any WallClock
    let crypto: any TokenCrypto
    /// Links each user may create per window (charged before the write).
    private let creations = Mutex(
        RateLimiter(capacity: GrantPolicy.invitesCreatedPerUser, windowMs: GrantPolicy.inviteCreationWindowMs))
    /// Redemption attempts per user, charged before the token is looked up.
    private let redemptions = Mutex(
        RateLimiter(capacity: GrantPolicy.redemptionsPerUser, windowMs: GrantPolicy.redemptionWindowMs))

    public init(store: any Store, clock: any WallClock, crypto: any TokenCrypto) {
        self.store = store
        self.clock = clock
        self.crypto = crypto
    }

    /// CreateInviteLink (op 71): the link and its token.
    public func create(
        _ session: Session, conversation id: ConversationID, expiresInMs: Millis, maxUses: UInt32, address: String = ""
    ) async throws -> (Grant, token: [UInt8]) {
        let now = clock.nowMs()
        let expiresAt = try GrantPolicy.expiry(expiresInMs: expiresInMs, now: now)
        let uses = try GrantPolicy.uses(maxUses, kind: .invite)
        if case .limited(let retry) = creations.withLock({ $0.consume(String(session.userID), now: now) }) {
            throw ChatFailure.rateLimited(retryAfterMs: retry, "too many invite links created; try again later")
        }
        let token = crypto.newToken()
        let hash = crypto.tokenHash(token)
        let actor = session.userID
        let grant = try await store.transaction { tx in
            try tx.createInvite(conversation: id, by: actor, tokenHash: hash, expiresAt: expiresAt, maxUses: uses, now: now)
        }
        try await audit(.inviteCreated, session, grant, address: address, now: now)
        return (grant, token)
    }

    /// ListInviteLinks (op 72).
    public func list(_ session: Session, conversation id: ConversationID) async throws -> [Grant] {
        let (viewer, now) = (session.userID, clock.nowMs())
        return try await store.transaction { tx in try tx.inviteLinks(conversation: id, viewer: viewer, now: now) }
    }

    /// RevokeInviteLink (op 73).
    public func revoke(_ session: Session, conversation id: ConversationID, invite: Int64, address: String = "") async throws {
        let (actor, now) = (session.userID, clock.nowMs())
        let (grant, revoked) = try await store.transaction { tx in
            try tx.revokeInvite(conversation: id, id: invite, by: actor, now: now)
        }
        if revoked { try await audit(.inviteRevoked, session, grant, address: address, now: now) }
    }

    /// RedeemInviteLink (op 74): the conversation as the caller now sees it.
    public func redeem(_ session: Session, token: [UInt8], address: String = "") async throws -> Conversation {
        try GrantPolicy.checkFormat(token)
        let (user, now) = (session.userID, clock.nowMs())
        if case .limited(let retry) = redemptions.withLock({ $0.consume(String(user), now: now) }) {
            throw ChatFailure.rateLimited(retryAfterMs: retry, "too many invite links tried; try again later")
        }
        let hash = crypto.tokenHash(token)
        let (grant, joined) = try await store.transaction { tx in try tx.redeemInvite(tokenHash: hash, user: user, now: now) }
        redemptions.withLock { $0.reset(String(user)) }
        if joined { try await audit(.inviteRedeemed, session, grant, address: address, now: now) }
        guard let id = grant.conversationID, let conversation = try await store.conversation(id: id, viewer: user) else {
            throw ChatFailure(.notFound, "no such conversation")
        }
        return conversation
    }

    private func audit(_ action: AuditEntry.Action, _ session: Session, _ grant: Grant, address: String, now: Millis) async throws {
        try await store.audit(
            AuditEntry(
                at: now, action: action, actor: "user:\(session.userID)", userID: session.userID, address: address,
                detail: "invite=\(grant.id) conversation=\(grant.conversationID ?? 0) uses=\(grant.uses + (action == .inviteRedeemed ? 1 : 0))"
                    + (grant.maxUses > 0 ? "/\(grant.maxUses)" : "")))
    }
}
