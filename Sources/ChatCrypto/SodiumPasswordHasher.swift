import ChatCore

/// Argon2id password hashing on a bounded worker pool.
public final class SodiumPasswordHasher: PasswordHasher {
    public let limits: Sodium.Argon2Limits
    public let pool: WorkerPool

    /// `niceness`: the hashing threads' nice value (`security.hash_nice`).
    /// By default the lowest: hashing yields the CPU to chat traffic (a
    /// login may wait; a message should not), yet keeps a share of a busy
    /// core (SCHED_IDLE, tried, starved logins: BENCHMARKS.md).
    public init(limits: Sodium.Argon2Limits, threads: Int, queueCapacity: Int, niceness: Int32 = 19) {
        self.limits = limits
        pool = WorkerPool(name: "argon2", threads: threads, queueCapacity: queueCapacity, niceness: niceness)
    }

    public func hash(_ password: String) async throws -> String {
        let limits = self.limits
        guard let hash = try await pool.run({ Sodium.argon2Hash(password, limits: limits) }) else {
            throw ChatFailure(.internal, "password hashing failed")
        }
        return hash
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await pool.run { Sodium.argon2Verify(password, hash: hash) }
    }

    public func needsRehash(_ hash: String) -> Bool {
        Sodium.argon2NeedsRehash(hash, limits: limits)
    }

    public func shutdown() { pool.shutdown() }
}

/// Tokens: random bytes, stored as BLAKE2b keyed with the server's secret.
public struct SodiumTokenCrypto: TokenCrypto {
    private let key: [UInt8]

    /// `key`: 32 secret bytes (the data directory's token.key).
    public init(key: [UInt8]) {
        precondition(key.count == 32, "token key must be 32 bytes")
        self.key = key
    }

    public func newToken() -> [UInt8] { Sodium.randomBytes(WireLimits.tokenBytes) }

    public func tokenHash(_ token: [UInt8]) -> [UInt8] { Sodium.blake2b(token, key: key, outputLength: 32) }

    public func randomBytes(_ count: Int) -> [UInt8] { Sodium.randomBytes(count) }

    public func verifySignature(_ signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        Sodium.verifyEd25519(signature: signature, message: message, publicKey: publicKey)
    }
}
