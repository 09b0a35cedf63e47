import ChatCore
import Testing

struct ValidationTests {
    func failure(_ body: () throws -> Void) -> ChatFailure? {
        do {
            try body()
            return nil
        } catch {
            return error as? ChatFailure
        }
    }

    @Test func usernames() throws {
        #expect(try Validate.username("Alice_01.x-y") == "alice_01.x-y")
        #expect(failure { _ = try Validate.username("ab") }?.kind == .invalidField)
        #expect(try Validate.username("abc") == "abc")
        #expect(try Validate.username(String(repeating: "a", count: 32)).utf8.count == 32)
        #expect(failure { _ = try Validate.username(String(repeating: "a", count: 33)) }?.kind == .tooLarge)
        for bad in ["a b", "ab@c", "zoë", "a\u{0}b", "名前です"] {
            #expect(failure { _ = try Validate.username(bad) } != nil, "\(bad)")
        }
        #expect(Validate.usernameKey("MiXeD") == "mixed")
    }

    @Test func passwordsAtBounds() {
        var limits = DomainLimits()
        limits.minPasswordBytes = 8
        limits.maxPasswordBytes = 16
        #expect(failure { try Validate.password("1234567", limits: limits) }?.kind == .invalidField)
        #expect(failure { try Validate.password("12345678", limits: limits) } == nil)
        #expect(failure { try Validate.password(String(repeating: "x", count: 16), limits: limits) } == nil)
        #expect(failure { try Validate.password(String(repeating: "x", count: 17), limits: limits) }?.kind == .tooLarge)
        // Bytes, not characters.
        #expect(failure { try Validate.password(String(repeating: "é", count: 9), limits: limits) }?.kind == .tooLarge)
    }

    @Test func textFields() {
        #expect(failure { try Validate.text("ok", field: "f", max: 2) } == nil)
        #expect(failure { try Validate.text("oks", field: "f", max: 2) }?.field == "f")
        #expect(failure { try Validate.text("a\u{7}b", field: "f", max: 10) }?.kind == .invalidField)
        #expect(failure { try Validate.text("a\nb", field: "f", max: 10) }?.kind == .invalidField)
        #expect(failure { try Validate.text("a\nb\tc", field: "f", max: 10, multiline: true) } == nil)
        let limits = DomainLimits()
        #expect(failure { try Validate.messageText(" \n\t", limits: limits) }?.kind == .invalidField)
        #expect(failure { try Validate.messageText("hi 👋", limits: limits) } == nil)
    }

    @Test func otherFields() {
        #expect(failure { try Validate.email("") } == nil)
        #expect(failure { try Validate.email("a@b") } == nil)
        for bad in ["ab", "a@", "@b", "a@b@c", "a b@c"] { #expect(failure { try Validate.email(bad) } != nil, "\(bad)") }
        #expect(failure { try Validate.deviceID("phone-1_A") } == nil)
        #expect(failure { try Validate.deviceID("phone.1") } != nil)
        #expect(failure { try Validate.deviceID(String(repeating: "d", count: 65)) }?.kind == .tooLarge)
        #expect(failure { try Validate.publicKey([]) } == nil)
        #expect(failure { try Validate.publicKey(Array(repeating: 1, count: 32)) } == nil)
        #expect(failure { try Validate.publicKey(Array(repeating: 1, count: 31)) }?.kind == .invalidField)
        let limits = DomainLimits()
        #expect(failure { try Validate.avatarURL("https://x.org/a.png", limits: limits) } == nil)
        #expect(failure { try Validate.avatarURL("ftp://x", limits: limits) } != nil)
        #expect(failure { _ = try Validate.roomName("  General  ", limits: limits) } == nil)
        #expect(Validate.pageLimit(0, default: 50, max: 200) == 50)
        #expect(Validate.pageLimit(500, default: 50, max: 200) == 200)
        #expect(Validate.pageLimit(-3, default: 50, max: 200) == 50)
    }
}

struct RateLimiterTests {
    @Test func bucketRefillsEvenly() {
        var r = RateLimiter(capacity: 3, windowMs: 3000)
        #expect(r.consume("k", now: 0) == .allowed)
        #expect(r.consume("k", now: 0) == .allowed)
        #expect(r.consume("k", now: 0) == .allowed)
        #expect(r.consume("k", now: 0) == .limited(retryAfterMs: 1000))
        #expect(r.check("k", now: 999) == .limited(retryAfterMs: 1))
        #expect(r.consume("k", now: 1000) == .allowed)
        #expect(r.consume("other", now: 1000) == .allowed)
        r.reset("k")
        #expect(r.check("k", now: 1000) == .allowed)
    }

    @Test func tableIsBounded() {
        var r = RateLimiter(capacity: 1, windowMs: 1_000_000, maxKeys: 100)
        for i in 0..<10_000 { r.consume("addr-\(i)", now: Int64(i)) }
        #expect(r.keyCount <= 100)
    }

    /// Evicting spent buckets would give their tokens back: cycling through
    /// more keys than the table holds used to make the limit void.
    @Test func refusingNewKeysKeepsSpentBucketsSpent() {
        var r = RateLimiter(capacity: 2, windowMs: 2000, maxKeys: 4, whenFull: .refuseNewKeys)
        for key in ["a", "b", "c", "d"] {
            #expect(r.consume(key, now: 0) == .allowed)
            #expect(r.consume(key, now: 0) == .allowed)
        }
        // All four spent: a fifth key waits for the first to fill up (2 s).
        #expect(r.consume("e", now: 0) == .limited(retryAfterMs: 2000))
        #expect(r.consume("a", now: 0) == .limited(retryAfterMs: 1000))
        // Half refilled: still in use, still refused, sooner.
        #expect(r.consume("e", now: 1500) == .limited(retryAfterMs: 500))
        // Full again (all four by now): dropped, and the new key takes a place.
        #expect(r.consume("e", now: 2000) == .allowed)
        #expect(r.keyCount == 1)

        var evicting = RateLimiter(capacity: 2, windowMs: 2000, maxKeys: 4)
        for (t, key) in ["a", "b", "c", "d"].enumerated() {
            evicting.consume(key, now: Int64(t))
            evicting.consume(key, now: Int64(t))
        }
        #expect(evicting.consume("e", now: 4) == .allowed)  // the oldest quarter ("a") forgotten
        #expect(evicting.consume("a", now: 4) == .allowed)
    }

}

/// Names shown to people (spec §4.2, §5.1, §13.2): NFC, trimmed, no bidi
/// controls or invisible characters.
struct NameValidationTests {
    @Test func namesAreNFCAndTrimmed() throws {
        let composed = "Caf\u{E9}"
        let decomposed = "Cafe\u{301}"
        #expect(Array(try Validate.name(decomposed, field: "name", max: 100).utf8) == Array(composed.utf8))
        #expect(Validate.roomNameKey(decomposed) == Validate.roomNameKey(composed))
        #expect(Validate.roomNameKey("  CAF\u{C9} ") == Validate.roomNameKey(composed))
        #expect(try Validate.roomName(" \u{3000}general\u{A0} ", limits: DomainLimits()) == "general")
        #expect(Array(try Validate.name("\u{212B}ngstr\u{F6}m", field: "name", max: 100).unicodeScalars)
            == Array("\u{C5}ngstr\u{F6}m".unicodeScalars))
    }

    @Test func namesRefuseBidiControlsAndInvisibleCharacters() throws {
        for bad in [
            "a\u{202E}gnp.exe", "x\u{202A}y", "x\u{2066}y", "x\u{2069}", "\u{200F}admin", "\u{200E}x", "x\u{061C}y",
            "ad\u{200B}min", "ad\u{2060}min", "\u{FEFF}root", "x\u{00AD}y", "\u{3164}", "\u{200D}x", "x\u{200C}", "a\u{200D}\u{200D}b",
        ] {
            #expect(throws: ChatFailure.self, "\(bad.unicodeScalars.map { String($0.value, radix: 16) })") {
                try Validate.name(bad, field: "name", max: 100)
            }
        }
        // Joiners between visible characters: emoji sequences, Persian.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}"
        #expect(try Validate.name(family, field: "name", max: 100) == family)
        #expect(try Validate.name("\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}", field: "name", max: 100).count > 0)
        // Right-to-left text itself is fine.
        #expect(try Validate.name("\u{5E9}\u{5DC}\u{5D5}\u{5DD}", field: "name", max: 100) == "\u{5E9}\u{5DC}\u{5D5}\u{5DD}")
    }

    @Test func nameLimitsCountTheNormalisedForm() throws {
        // 3 bytes decomposed ("e" + U+0301), 2 composed: a 2-byte limit accepts it.
        #expect(try Validate.name("e\u{301}", field: "name", max: 2) == "\u{E9}")
        #expect(throws: ChatFailure.self) { try Validate.name("\u{E9}x", field: "name", max: 2) }
    }
}

/// The per-address login throttle's key (spec §4.6).
struct ThrottleKeyTests {
    @Test func ipv6AddressesCountByTheirSlash64() {
        #expect(AccountService.throttleKey(address: "203.0.113.7") == "203.0.113.7")
        #expect(AccountService.throttleKey(address: "2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(AccountService.throttleKey(address: "2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64")
        #expect(AccountService.throttleKey(address: "2001:DB8:1:3::1") == "2001:db8:1:3::/64")
        #expect(AccountService.throttleKey(address: "fe80::1%eth0") == "fe80:0:0:0::/64")
        #expect(AccountService.throttleKey(address: "::ffff:198.51.100.9") == "198.51.100.9")
        #expect(AccountService.throttleKey(address: "local") == "local")
    }
}
