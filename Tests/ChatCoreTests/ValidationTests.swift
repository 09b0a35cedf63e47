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
}
