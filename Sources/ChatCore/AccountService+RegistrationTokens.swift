/// Registration tokens (chatctl registration-token, control ops 32–34):
/// with `accounts.registration_open = false`, a Register that carries one
/// still creates an account (spec/PROTOCOL.md §4.3). The token is shown
/// once, as 64 hex digits; the store keeps its keyed hash.
extension AccountService {
    /// A new token: the stored row and the token's text, shown only now.
    public func createRegistrationToken(maxUses: UInt32, expiresInMs: Millis, actor: String) async throws -> (Grant, token: String) {
        let now = clock.nowMs()
        let expiresAt = try GrantPolicy.expiry(expiresInMs: expiresInMs, now: now)
        let uses = try GrantPolicy.uses(maxUses, kind: .registration)
        let token = crypto.newToken()
        let new = NewGrant(
            kind: .registration, conversationID: nil, createdBy: nil, tokenHash: crypto.tokenHash(token), createdAt: now,
            expiresAt: expiresAt, maxUses: uses)
        let grant = try await store.transaction { tx in try tx.insertGrant(new) }
        try await audit(
            .adminRegistrationTokenCreate, actor: actor, user: nil, address: "",
            detail: "registration_token=\(grant.id) max_uses=\(uses) expires_at=\(expiresAt ?? 0)", at: now)
        return (grant, hex(token))
    }

    /// Newest first, at most `GrantPolicy.maxListedRegistrationTokens`;
    /// `all` false: only those that can still be used.
    public func registrationTokens(all: Bool) async throws -> [Grant] {
        let now = clock.nowMs()
        return try await store.transaction { tx in
            try tx.grants(
                kind: .registration, conversation: nil, liveAt: all ? nil : now, limit: GrantPolicy.maxListedRegistrationTokens)
        }
    }

    /// Removes invite links and registration tokens that have not been
    /// usable for `GrantPolicy.deadRetentionMs`, in bounded transactions
    /// (the retention purge); returns how many.
    public func pruneGrants() async throws -> Int {
        let before = clock.nowMs() - GrantPolicy.deadRetentionMs
        var total = 0
        while true {
            let removed = try await store.transaction { tx in try tx.deleteDeadGrants(before: before, limit: GrantPolicy.pruneBatch) }
            total += removed
            if removed < GrantPolicy.pruneBatch { return total }
        }
    }

    public func revokeRegistrationToken(id: Int64, actor: String) async throws -> Grant {
        let now = clock.nowMs()
        let grant = try await store.transaction { tx in try tx.revokeRegistrationToken(id: id, now: now) }
        try await audit(.adminRegistrationTokenRevoke, actor: actor, user: nil, address: "", detail: "registration_token=\(id)", at: now)
        return grant
    }
}
