import ChatCore
import Testing

/// Invite links and registration tokens (spec/PROTOCOL.md §5.14, §4.3):
/// bounds and the order of refusals, without a database.
struct GrantPolicyTests {
    static func kind(_ body: () throws -> Void) -> ChatFailure.Kind? { ConversationPolicyTests.kind(body) }

    static func grant(
        kind: Grant.Kind = .invite, expiresAt: Millis? = nil, maxUses: Int = 0, uses: Int = 0, revokedAt: Millis? = nil
    ) -> Grant {
        Grant(
            id: 1, kind: kind, conversationID: kind == .invite ? 3 : nil, createdBy: nil, createdAt: 0, expiresAt: expiresAt,
            maxUses: maxUses, uses: uses, revokedAt: revokedAt)
    }

    @Test func refusalsComeInTheSpecsOrder() {
        let now: Millis = 1000
        func check(_ g: Grant?, kind: Grant.Kind = .invite) -> ChatFailure.Kind? {
            Self.kind { _ = try GrantPolicy.redeemable(g, kind: kind, now: now) }
        }
        #expect(check(nil) == .invalidToken)
        #expect(check(Self.grant(kind: .registration)) == .invalidToken)  // a registration token is no invite link
        #expect(check(Self.grant(), kind: .registration) == .invalidToken)
        #expect(check(Self.grant(expiresAt: 1000, maxUses: 1, uses: 1, revokedAt: 5)) == .inviteRevoked)
        #expect(check(Self.grant(expiresAt: 1000, maxUses: 1, uses: 1)) == .inviteExpired)
        #expect(check(Self.grant(expiresAt: 1001, maxUses: 1, uses: 1)) == .inviteUsedUp)
        #expect(check(Self.grant(expiresAt: 1001, maxUses: 2, uses: 1)) == nil)
        #expect(check(Self.grant(maxUses: 0, uses: 1_000_000)) == nil)  // 0: unlimited
        #expect(Self.grant(expiresAt: 1001).isLive(at: now) && !Self.grant(expiresAt: 1000).isLive(at: now))
    }

    @Test func boundsAtNAndNPlusOne() throws {
        #expect(try GrantPolicy.expiry(expiresInMs: 0, now: 5) == nil)
        #expect(try GrantPolicy.expiry(expiresInMs: GrantPolicy.maxExpiresInMs, now: 5) == GrantPolicy.maxExpiresInMs + 5)
        #expect(Self.kind { _ = try GrantPolicy.expiry(expiresInMs: GrantPolicy.maxExpiresInMs + 1, now: 5) } == .invalidField)
        #expect(Self.kind { _ = try GrantPolicy.expiry(expiresInMs: -1, now: 5) } == .invalidField)
        #expect(try GrantPolicy.uses(0, kind: .invite) == 0)
        #expect(try GrantPolicy.uses(0, kind: .registration) == 1)
        #expect(try GrantPolicy.uses(1_000_000, kind: .invite) == 1_000_000)
        #expect(Self.kind { _ = try GrantPolicy.uses(1_000_001, kind: .registration) } == .invalidField)
        #expect(Self.kind { try GrantPolicy.checkRoomForInvite(live: 99) } == nil)
        #expect(Self.kind { try GrantPolicy.checkRoomForInvite(live: 100) } == .quotaExceeded)
        #expect(Self.kind { try GrantPolicy.checkFormat(Array(repeating: 0, count: 32)) } == nil)
        #expect(Self.kind { try GrantPolicy.checkFormat(Array(repeating: 0, count: 33)) } == .invalidToken)
    }

    @Test func registrationTokensAreSixtyFourHexDigits() throws {
        #expect(try GrantPolicy.registrationToken(String(repeating: "aB", count: 32)) == Array(repeating: 0xAB, count: 32))
        for bad in ["", String(repeating: "a", count: 63), String(repeating: "a", count: 65), String(repeating: "g", count: 64),
                    String(repeating: "é", count: 32)] {
            #expect(Self.kind { _ = try GrantPolicy.registrationToken(bad) } == .invalidToken, "\(bad)")
        }
    }
}
