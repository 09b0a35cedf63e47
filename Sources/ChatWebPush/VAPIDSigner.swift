import ChatCore
import Crypto
import Foundation
import Synchronization

/// Voluntary Application Server Identification for Web Push (RFC 8292):
/// every POST to a UnifiedPush endpoint carries
/// `Authorization: vapid t=<JWT>, k=<public key>`, a JWT signed with this
/// server's P-256 key (ES256) naming the push service's origin (`aud`), an
/// expiry within 24 hours (`exp`) and, when the operator set one, a contact
/// (`sub`, push.vapid_subject). A push service that restricts a
/// subscription to the key a device subscribed with (the key the server
/// announces in HelloResponse.push_vapid_key) accepts only these requests;
/// others ignore the header.
///
/// The key is derived from the token key (HKDF-SHA-256), so every node of a
/// cluster, which holds the same token key, signs with the same key, and no
/// further secret is kept. A new token key means a new VAPID key: devices
/// then subscribe again with the key Hello announces.
public final class VAPIDSigner: PushServiceSigner {
    private let key: P256.Signing.PrivateKey
    public let publicKey: [UInt8]
    private let subject: String
    /// Signed tokens per audience, reused until an hour before they expire.
    private let tokens = Mutex<[String: (header: String, expiresAt: Int64)]>([:])
    static let maxCachedAudiences = 1024
    /// How long a token is valid (RFC 8292 §2: at most 24 hours).
    static let lifetimeSeconds: Int64 = 12 * 3600

    public init(key: P256.Signing.PrivateKey, subject: String) {
        self.key = key
        publicKey = Array(key.publicKey.x963Representation)
        self.subject = subject
    }

    /// The key derived from the token key: HKDF-SHA-256, and in the rare
    /// case the 32 bytes are not a valid P-256 scalar, the next counter.
    public convenience init(tokenKey: [UInt8], subject: String) {
        var counter = 0
        while true {
            let bytes = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: tokenKey), salt: Data("chatd".utf8),
                info: Data("chatd vapid p-256 key \(counter)".utf8), outputByteCount: 32)
            if let key = bytes.withUnsafeBytes({ try? P256.Signing.PrivateKey(rawRepresentation: Data($0)) }) {
                self.init(key: key, subject: subject)
                return
            }
            counter += 1
        }
    }

    public func authorization(endpoint: String, now: Millis) -> String? {
        guard let audience = Self.audience(endpoint) else { return nil }
        let seconds = now / 1000
        if let cached = tokens.withLock({ $0[audience] }), cached.expiresAt - 3600 > seconds { return cached.header }
        let expiresAt = seconds + Self.lifetimeSeconds
        guard let jwt = try? token(audience: audience, expiresAt: expiresAt) else { return nil }
        let header = "vapid t=\(jwt), k=\(Self.base64URL(publicKey))"
        tokens.withLock { cache in
            if cache.count >= Self.maxCachedAudiences { cache.removeAll() }
            cache[audience] = (header, expiresAt)
        }
        return header
    }

    /// The signed JWT (compact form).
    func token(audience: String, expiresAt: Int64) throws -> String {
        var claims: [String: Any] = ["aud": audience, "exp": expiresAt]
        if !subject.isEmpty { claims["sub"] = subject }
        let header = Self.base64URL(Array(#"{"typ":"JWT","alg":"ES256"}"#.utf8))
        let body = Self.base64URL(Array(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys, .withoutEscapingSlashes])))
        let signingInput = header + "." + body
        let signature = try key.signature(for: Data(signingInput.utf8))
        return signingInput + "." + Self.base64URL(Array(signature.rawRepresentation))
    }

    /// What a push service reads from a header: the key (`k`) and, when the
    /// token's ES256 signature verifies with that key, its claims. Nil for
    /// a header that is not `vapid t=JWT, k=KEY`. (The server never reads
    /// one; tests and a push service played in them do.)
    public static func read(_ header: String) -> (key: [UInt8], claims: [String: Any]?)? {
        let parts = header.split(separator: " ")
        guard parts.count == 3, parts[0] == "vapid", parts[1].hasPrefix("t="), parts[1].hasSuffix(","), parts[2].hasPrefix("k="),
            let key = unbase64URL(parts[2].dropFirst(2))
        else { return nil }
        let pieces = parts[1].dropFirst(2).dropLast().split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 3, let headerJSON = unbase64URL(pieces[0]), let claimsJSON = unbase64URL(pieces[1]),
            let signatureBytes = unbase64URL(pieces[2])
        else { return nil }
        guard headerJSON == Array(#"{"typ":"JWT","alg":"ES256"}"#.utf8),
            let publicKey = try? P256.Signing.PublicKey(x963Representation: key),
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
            publicKey.isValidSignature(signature, for: Data((pieces[0] + "." + pieces[1]).utf8))
        else { return (key, nil) }
        return (key, (try? JSONSerialization.jsonObject(with: Data(claimsJSON))) as? [String: Any])
    }

    static func unbase64URL(_ s: Substring) -> [UInt8]? {
        var t = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        t += String(repeating: "=", count: (4 - t.count % 4) % 4)
        return Data(base64Encoded: t).map { Array($0) }
    }

    /// The origin of an endpoint URL (`https://push.example.net`, with a
    /// port only when it is not the scheme's default); nil when it has none.
    static func audience(_ endpoint: String) -> String? {
        guard let url = URLComponents(string: endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", var host = url.host?.lowercased(), !host.isEmpty
        else { return nil }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        let defaultPort = scheme == "https" ? 443 : 80
        if let port = url.port, port != defaultPort { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
