/// The rules of invite links and registration tokens (spec/PROTOCOL.md
/// §5.14, §4.3): the bounds of a new grant, and whether a presented one
/// lets its holder in. Pure functions over snapshots.
public enum GrantPolicy {
    /// Longest lifetime a grant can be given: 366 days, as a mute.
    public static let maxExpiresInMs: Millis = 31_622_400_000
    /// Most uses a grant can be given (0 means unlimited for invite links).
    public static let maxUses = 1_000_000
    /// Invite links that can still be used, per conversation: ListInviteLinks
    /// answers them all in one frame, and an admin cannot pile up secrets.
    public static let maxLiveInvitesPerConversation = 100
    /// Invite links one user may create per window (dead links stay stored
    /// for `deadRetentionMs`, so that their tokens keep answering
    /// invite_revoked / invite_expired / invite_used_up).
    public static let invitesCreatedPerUser = 60
    public static let inviteCreationWindowMs: Millis = 3_600_000
    /// Redemption attempts per user per window, charged before the lookup
    /// (like Login's per-account throttle): nobody can try tokens in bulk.
    public static let redemptionsPerUser = 10
    public static let redemptionWindowMs: Millis = 60_000
    /// How long a grant that can no longer be used stays stored (listed by
    /// `all`, its token answered with why it is refused): 30 days after it
    /// was revoked or expired; one used up, 30 days after its creation (no
    /// time of its last use is kept). Then the retention purge removes it,
    /// and its token is `invalid_token`.
    public static let deadRetentionMs: Millis = 30 * 24 * 3600 * 1000
    /// Grants one purge transaction removes at most.
    public static let pruneBatch = 5000
    /// Registration tokens ChatCtl lists at most.
    public static let maxListedRegistrationTokens = 1000

    /// The expiry of a grant created at `now` that lasts `expiresInMs` (0: never).
    public static func expiry(expiresInMs: Millis, now: Millis) throws(ChatFailure) -> Millis? {
        guard expiresInMs >= 0, expiresInMs <= maxExpiresInMs else {
            throw ChatFailure.invalid("expires_in_ms", "expires_in_ms must be 0 (never) or 1..\(maxExpiresInMs)")
        }
        return expiresInMs == 0 ? nil : now + expiresInMs
    }

    /// A use count within bounds: 0 (unlimited for invite links, 1 for
    /// registration tokens) or 1...maxUses.
    public static func uses(_ requested: UInt32, kind: Grant.Kind) throws(ChatFailure) -> Int {
        guard requested <= maxUses else { throw ChatFailure.invalid("max_uses", "max_uses must be at most \(maxUses)") }
        if requested == 0, kind == .registration { return 1 }
        return Int(requested)
    }

    /// A token as presented: exactly 32 bytes.
    public static func checkFormat(_ token: [UInt8]) throws(ChatFailure) {
        guard token.count == WireLimits.tokenBytes else {
            throw ChatFailure(.invalidToken, "the token must be \(WireLimits.tokenBytes) bytes")
        }
    }

    /// A token as typed: 64 hex digits (either case), the text `hex` makes
    /// of it; nil when it is not one.
    public static func token(hex text: String) -> [UInt8]? {
        guard text.utf8.count == WireLimits.tokenBytes * 2 else { return nil }
        return bytes(hex: text)
    }

    /// A registration token as typed: 64 hex digits (either case).
    public static func registrationToken(_ text: String) throws(ChatFailure) -> [UInt8] {
        guard let bytes = token(hex: text) else {
            throw ChatFailure(.invalidToken, "a registration token is \(WireLimits.tokenBytes * 2) hex digits")
        }
        return bytes
    }

    /// Whether `grant`, found (or not) by the hash of a presented token of
    /// `kind`, may be used at `now`: unknown, revoked, expired, used up, in
    /// that order. Returns it.
    public static func redeemable(_ grant: Grant?, kind: Grant.Kind, now: Millis) throws(ChatFailure) -> Grant {
        guard let grant, grant.kind == kind else { throw ChatFailure(.invalidToken, "unknown token") }
        if grant.revokedAt != nil { throw ChatFailure(.inviteRevoked, "this \(noun(kind)) was revoked") }
        if let expires = grant.expiresAt, expires <= now { throw ChatFailure(.inviteExpired, "this \(noun(kind)) has expired") }
        if grant.maxUses > 0, grant.uses >= grant.maxUses {
            throw ChatFailure(.inviteUsedUp, "this \(noun(kind)) has been used \(grant.uses) times, its limit")
        }
        return grant
    }

    /// Creating another invite link where `live` can still be used.
    public static func checkRoomForInvite(live: Int) throws(ChatFailure) {
        guard live < maxLiveInvitesPerConversation else {
            throw ChatFailure(
                .quotaExceeded, "this conversation has \(live) usable invite links, the most it can have; revoke one first")
        }
    }

    static func noun(_ kind: Grant.Kind) -> String {
        switch kind {
        case .invite: "invite link"
        case .registration: "registration token"
        }
    }

    static func bytes(hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return high == nil ? out : nil
    }
}
