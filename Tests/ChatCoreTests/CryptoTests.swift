import ChatCore
import ChatCrypto
import Dispatch
import Testing

struct SodiumTests {
    @Test func argon2RoundTripAndRehash() {
        let limits = Sodium.Argon2Limits(opsLimit: 1, memLimit: 8192)
        let hash = Sodium.argon2Hash("pässwörd", limits: limits) ?? ""
        #expect(hash.hasPrefix("$argon2id$"))
        #expect(Sodium.argon2Verify("pässwörd", hash: hash))
        #expect(!Sodium.argon2Verify("password", hash: hash))
        #expect(!Sodium.argon2Verify("x", hash: "not a hash"))
        #expect(!Sodium.argon2NeedsRehash(hash, limits: limits))
        #expect(Sodium.argon2NeedsRehash(hash, limits: Sodium.Argon2Limits(opsLimit: 2, memLimit: 8192)))
    }

    @Test func keyedTokenHash() {
        let a = SodiumTokenCrypto(key: Array(repeating: 1, count: 32))
        let b = SodiumTokenCrypto(key: Array(repeating: 2, count: 32))
        let token = a.newToken()
        #expect(token.count == 32)
        #expect(a.tokenHash(token) == a.tokenHash(token))
        #expect(a.tokenHash(token) != b.tokenHash(token))
        #expect(a.newToken() != token)
    }
}

struct WorkerPoolTests {
    /// At most threads + queueCapacity jobs are accepted at once, even when
    /// they arrive before a thread has picked any up.
    @Test func rejectsBeyondThreadsPlusQueue() async throws {
        let pool = WorkerPool(name: "test", threads: 1, queueCapacity: 1)
        defer { pool.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        async let first = pool.run { () -> Int in
            gate.wait()
            return 1
        }
        async let second = pool.run { () -> Int in 2 }
        try await Task.sleep(for: .milliseconds(100))
        do {
            _ = try await pool.run { () -> Int in 3 }
            Issue.record("a third job was accepted")
        } catch let failure as ChatFailure {
            #expect(failure.kind == .rateLimited && failure.retryAfterMs > 0)
        }
        gate.signal()
        #expect(try await first + second == 3)
        #expect(try await pool.run { () -> Int in 4 } == 4)
    }
}
