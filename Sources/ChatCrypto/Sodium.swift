import CSodium
import ChatCore

/// The only code that touches libsodium. Every function here is thread-safe.
public enum Sodium {
    /// Initialises libsodium once; safe to call repeatedly from any thread.
    public static let ready: Bool = sodium_init() >= 0

    public static func randomBytes(_ count: Int) -> [UInt8] {
        precondition(ready, "libsodium failed to initialise")
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }

    /// BLAKE2b with an optional key; `outputLength` 16...64.
    public static func blake2b(_ input: [UInt8], key: [UInt8] = [], outputLength: Int = 32) -> [UInt8] {
        precondition(ready, "libsodium failed to initialise")
        var out = [UInt8](repeating: 0, count: outputLength)
        input.withUnsafeBufferPointer { inp in
            key.withUnsafeBufferPointer { k in
                _ = crypto_generichash(
                    &out, outputLength, inp.baseAddress, UInt64(inp.count), key.isEmpty ? nil : k.baseAddress, k.count)
            }
        }
        return out
    }

    public static func verifyEd25519(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard ready, signature.count == Int(crypto_sign_BYTES), publicKey.count == Int(crypto_sign_PUBLICKEYBYTES) else {
            return false
        }
        return message.withUnsafeBufferPointer { m in
            crypto_sign_verify_detached(signature, m.baseAddress, UInt64(m.count), publicKey) == 0
        }
    }

    /// A new Ed25519 key pair (public 32 bytes, secret 64 bytes). Used by
    /// clients and tests; the server only verifies.
    public static func ed25519KeyPair() -> (publicKey: [UInt8], secretKey: [UInt8]) {
        precondition(ready, "libsodium failed to initialise")
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var sk = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        _ = crypto_sign_keypair(&pk, &sk)
        return (pk, sk)
    }

    /// A deterministic key pair from a 32-byte seed (test vectors).
    public static func ed25519KeyPair(seed: [UInt8]) -> (publicKey: [UInt8], secretKey: [UInt8])? {
        guard ready, seed.count == Int(crypto_sign_SEEDBYTES) else { return nil }
        var pk = [UInt8](repeating: 0, count: Int(crypto_sign_PUBLICKEYBYTES))
        var sk = [UInt8](repeating: 0, count: Int(crypto_sign_SECRETKEYBYTES))
        _ = crypto_sign_seed_keypair(&pk, &sk, seed)
        return (pk, sk)
    }

    public static func signEd25519(message: [UInt8], secretKey: [UInt8]) -> [UInt8] {
        precondition(ready && secretKey.count == Int(crypto_sign_SECRETKEYBYTES), "bad Ed25519 secret key")
        var sig = [UInt8](repeating: 0, count: Int(crypto_sign_BYTES))
        message.withUnsafeBufferPointer { m in
            _ = crypto_sign_detached(&sig, nil, m.baseAddress, UInt64(m.count), secretKey)
        }
        return sig
    }

    /// Constant-time equality of two byte strings of equal length.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return sodium_memcmp(a, b, a.count) == 0
    }

    // MARK: Argon2id

    public struct Argon2Limits: Sendable, Equatable {
        public var opsLimit: UInt64
        public var memLimit: Int

        public init(opsLimit: UInt64, memLimit: Int) {
            self.opsLimit = opsLimit
            self.memLimit = memLimit
        }

        /// libsodium's "interactive" limits.
        public static let interactive = Argon2Limits(
            opsLimit: UInt64(crypto_pwhash_opslimit_interactive()), memLimit: Int(crypto_pwhash_memlimit_interactive()))
        public static let minimumOps = UInt64(crypto_pwhash_opslimit_min())
        public static let minimumMem = Int(crypto_pwhash_memlimit_min())
    }

    /// Argon2id string hash (algorithm, limits and salt are in the string).
    public static func argon2Hash(_ password: String, limits: Argon2Limits) -> String? {
        precondition(ready, "libsodium failed to initialise")
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        // utf8CString is NUL-terminated, so it has a base address even when empty.
        let bytes = Array(password.utf8CString)
        let rc = crypto_pwhash_str_alg(
            &out, bytes, UInt64(bytes.count - 1), limits.opsLimit, limits.memLimit, crypto_pwhash_ALG_ARGON2ID13)
        guard rc == 0 else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func argon2Verify(_ password: String, hash: String) -> Bool {
        guard ready else { return false }
        let bytes = Array(password.utf8CString)
        return crypto_pwhash_str_verify(hash, bytes, UInt64(bytes.count - 1)) == 0
    }

    /// True when `hash` is not an Argon2id string with exactly these limits.
    public static func argon2NeedsRehash(_ hash: String, limits: Argon2Limits) -> Bool {
        hash.withCString { crypto_pwhash_str_needs_rehash($0, limits.opsLimit, limits.memLimit) != 0 }
    }
}
