import ChatCore
import Crypto
import Foundation
import Testing

@testable import ChatWebPush

/// VAPID (RFC 8292): the Authorization header of UnifiedPush requests.
struct VAPIDTests {
    /// The header's key, its claims, and whether its signature verifies with that key.
    static func parse(_ header: String) throws -> (claims: [String: Any], key: [UInt8], verifies: Bool) {
        let (key, claims) = try #require(VAPIDSigner.read(header))
        guard let claims else { return ([:], key, false) }
        return (claims, key, true)
    }

    @Test func theHeaderIsASignedTokenForTheEndpointsOrigin() throws {
        let signer = VAPIDSigner(tokenKey: Array(repeating: 7, count: 32), subject: "mailto:ops@example.org")
        #expect(signer.publicKey.count == 65 && signer.publicKey.first == 4)
        let now: Millis = 1_700_000_000_000
        let header = try #require(signer.authorization(endpoint: "https://Push.Example.net/wpush/v2/abc?x=1", now: now))
        let (claims, key, verifies) = try Self.parse(header)
        #expect(verifies)
        #expect(key == signer.publicKey)
        #expect(claims["aud"] as? String == "https://push.example.net")
        #expect(claims["exp"] as? Int == 1_700_000_000 + 12 * 3600)
        #expect(claims["sub"] as? String == "mailto:ops@example.org")
        // Another key does not verify it.
        let other = VAPIDSigner(tokenKey: Array(repeating: 8, count: 32), subject: "")
        #expect(other.publicKey != signer.publicKey)
        let forged = header.replacingOccurrences(of: VAPIDSigner.base64URL(signer.publicKey), with: VAPIDSigner.base64URL(other.publicKey))
        #expect(try Self.parse(forged).verifies == false)
        // No subject: no sub claim.
        #expect(try Self.parse(#require(other.authorization(endpoint: "https://a.example", now: now))).claims["sub"] == nil)
    }

    /// Every node holds the same token key, so every node signs with the same key.
    @Test func theKeyFollowsTheTokenKey() {
        let a = VAPIDSigner(tokenKey: Array(0..<32), subject: "")
        let b = VAPIDSigner(tokenKey: Array(0..<32), subject: "mailto:x@example.org")
        #expect(a.publicKey == b.publicKey)
        #expect(a.publicKey != VAPIDSigner(tokenKey: Array(1..<33), subject: "").publicKey)
    }

    /// A token is reused for its origin until an hour before it expires.
    @Test func tokensAreReusedPerOriginUntilNearTheirExpiry() throws {
        let signer = VAPIDSigner(tokenKey: Array(repeating: 1, count: 32), subject: "")
        let t0: Millis = 1_000_000_000_000
        let first = signer.authorization(endpoint: "https://push.example.net/a", now: t0)
        #expect(signer.authorization(endpoint: "https://push.example.net/b", now: t0 + 10 * 3_600_000) == first)
        #expect(signer.authorization(endpoint: "https://other.example.net/a", now: t0) != first)
        let renewed = try #require(signer.authorization(endpoint: "https://push.example.net/a", now: t0 + 11 * 3_600_000 + 1000))
        #expect(renewed != first)
        #expect(try Self.parse(renewed).claims["exp"] as? Int == Int((t0 + 11 * 3_600_000 + 1000) / 1000) + 12 * 3600)
    }

    @Test func audiences() {
        #expect(VAPIDSigner.audience("https://push.example.net/x") == "https://push.example.net")
        #expect(VAPIDSigner.audience("https://push.example.net:443/x") == "https://push.example.net")
        #expect(VAPIDSigner.audience("https://push.example.net:8443/x") == "https://push.example.net:8443")
        #expect(VAPIDSigner.audience("http://127.0.0.1:8080/up/a") == "http://127.0.0.1:8080")
        #expect(VAPIDSigner.audience("http://example.org:80/") == "http://example.org")
        #expect(VAPIDSigner.audience("https://[2001:db8::1]:9/p") == "https://[2001:db8::1]:9")
        #expect(VAPIDSigner.audience("not a url") == nil)
        #expect(VAPIDSigner.audience("ftp://example.org/") == nil)
    }

    @Test func subjects() {
        #expect(PushPolicy.isVAPIDSubject("mailto:ops@example.org"))
        #expect(PushPolicy.isVAPIDSubject("https://example.org/contact"))
        #expect(!PushPolicy.isVAPIDSubject("mailto:"))
        #expect(!PushPolicy.isVAPIDSubject("ops@example.org"))
        #expect(!PushPolicy.isVAPIDSubject("http://example.org"))
        #expect(!PushPolicy.isVAPIDSubject("mailto:a b@example.org"))
        #expect(!PushPolicy.isVAPIDSubject("mailto:\"x\"@example.org"))
        #expect(!PushPolicy.isVAPIDSubject("mailto:" + String(repeating: "a", count: 250) + "@example.org"))
    }
}
