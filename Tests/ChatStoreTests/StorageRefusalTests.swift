import ChatCore
import ChatCrypto
@testable import ChatStore
import Foundation
import GRDB
import Synchronization
import Testing

/// Writes against the real store (in memory) with an injected free-space
/// figure: below storage.min_free_bytes, ordinary writes are `unavailable`
/// with a retry-after, reads go on, and writes that free space still run.
struct StorageRefusalTests {
    final class FreeSpace: Sendable {
        let bytes = Mutex<Int64>(1 << 30)
    }

    @Test func lowSpaceRefusesWritesButNotReadsOrPurges() async throws {
        let free = FreeSpace()
        let monitor = StorageMonitor(minFreeBytes: 1 << 20) { free.bytes.withLock { $0 } }
        let store = try SQLiteStore(writer: DatabaseQueue(), path: nil, storage: monitor)
        let clock = ManualClock(1_700_000_000_000)
        let account = try await store.createUser(
            NewUser(username: "dora", usernameKey: "dora", email: "", displayName: "dora", passwordHash: "x", role: .user, now: clock.nowMs()))
        let room = try await store.createConversation(
            NewConversation(
                kind: .room, name: "r", nameKey: "r", description: "", visibility: .public, creator: account.user.id, members: [],
                now: clock.nowMs())
        ).id
        func send(_ id: String) async throws -> Seq {
            try await store.appendMessage(
                NewMessage(
                    conversation: room, sender: account.user.id, clientMsgID: id, type: .text, text: "hello", attachment: nil,
                    replyTo: nil, mentionKeys: [], now: clock.nowMs())
            ).event.seq
        }
        let first = try await send("m1")

        free.bytes.withLock { $0 = (1 << 20) - 1 }
        monitor.refresh()
        do {
            _ = try await send("m2")
            Issue.record("a send was accepted below the minimum free space")
        } catch let failure as ChatFailure {
            #expect(failure.kind == .unavailable)
            #expect(failure.retryAfterMs == StorageHealth.lowSpaceRetryMs)
            #expect(failure.message.contains("nearly full"))
        }
        await #expect(throws: ChatFailure.self) { try await store.probeWrite() }
        // Reads go on.
        #expect(try await store.account(usernameKey: "dora") != nil)
        // Retention purges (which free space) still run.
        _ = try await store.purgeExpired(defaultDays: 1, now: clock.nowMs() + 2 * 24 * 3600 * 1000, batch: 100)

        // Space back: the retried send (same client_msg_id) is stored once.
        free.bytes.withLock { $0 = 1 << 30 }
        monitor.refresh()
        let retried = try await send("m2")
        #expect(retried > first)
        #expect(try await send("m2") == retried)
    }

    /// Resume keeps working while storage refuses writes (§9), failures
    /// included: a Resume with an expired token is told token_expired (log
    /// in again), not unavailable (retry), though its audit row is refused.
    @Test func aFailedResumeAnswersItsOwnCodeWhileWritesAreRefused() async throws {
        let free = FreeSpace()
        let monitor = StorageMonitor(minFreeBytes: 1 << 20) { free.bytes.withLock { $0 } }
        let f = try Fixture(store: SQLiteStore(writer: DatabaseQueue(), path: nil, storage: monitor))
        let accounts = f.accounts()
        let auth = try await accounts.register(
            username: "erin", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        f.clock.advance(byMs: DomainLimits().tokenTTLMs + 1)
        free.bytes.withLock { $0 = (1 << 20) - 1 }
        monitor.refresh()
        let kind = await failureKind { _ = try await accounts.resume(token: auth.token ?? [], signature: [], context: f.context) }
        #expect(kind == .tokenExpired)
    }

    @Test func anIOErrorStopsWritesUntilRestart() async throws {
        let monitor = StorageMonitor(minFreeBytes: 0) { 1 << 30 }
        let store = try SQLiteStore(writer: DatabaseQueue(), path: nil, storage: monitor)
        monitor.ioFailed("fsync: Input/output error")
        await #expect(throws: ChatFailure.self) { try await store.probeWrite() }
        monitor.refresh()
        do {
            try await store.probeWrite()
            Issue.record("a write was accepted after an I/O failure")
        } catch let failure as ChatFailure {
            #expect(failure.kind == .unavailable && failure.message.contains("restarts chatd"))
        }
    }
}

/// What the store makes of SQLite's storage errors (the seam a failing disk
/// reaches): a full disk is low space, an I/O error (a failed fsync among
/// them) stops writes for good.
struct StorageErrorClassificationTests {
    @Test func sqliteErrorsChangeTheStoragesHealth() throws {
        let full = StorageMonitor(minFreeBytes: 0) { 1 << 30 }
        #expect(full.classify(DatabaseError(resultCode: .SQLITE_FULL))?.kind == .unavailable)
        #expect(full.current.state == .lowSpace(freeBytes: 1 << 30))
        full.refresh()  // space is back (the minimum is 0): writable again
        #expect(full.current.isWritable)

        let failing = StorageMonitor(minFreeBytes: 0) { 1 << 30 }
        let answer = failing.classify(DatabaseError(resultCode: .SQLITE_IOERR_FSYNC, message: "disk I/O error"))
        #expect(answer?.kind == .unavailable && answer?.message.contains("restarts chatd") == true)
        failing.refresh()
        #expect(!failing.current.isWritable)

        // Not a storage fault: left to the usual translation.
        let fine = StorageMonitor(minFreeBytes: 0) { 1 << 30 }
        #expect(fine.classify(DatabaseError(resultCode: .SQLITE_CONSTRAINT_UNIQUE)) == nil)
        #expect(fine.current.isWritable)
    }
}
