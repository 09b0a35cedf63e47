import Dispatch
import Foundation
import GRDB
import Glibc
import Synchronization
import Testing

import ChatCore
import ChatCrypto
import ChatStore
@testable import ChatDaemon

/// Threads chatd runs at a lower CPU priority (the push notifier's, the
/// password hashers'): their work runs lower, and they never make other
/// threads inherit it. A thread inherits the nice value of the thread that
/// creates it, and libdispatch and the Swift runtime create their workers
/// from whichever thread hands them work, such as one that resumes a
/// continuation: a chat task could then run at the lower priority for good.
struct ThreadPriorityTests {
    static func niceHere() -> Int32 { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }

    /// The nice value of each of this process's threads.
    static func threadNices() throws -> [Int32] { try threadNiceValues(pid: getpid()).map { Int32($0) } }

    @Test func workRunsLowerAndWhatItStartsElsewhereDoesNot() async throws {
        let base = Self.niceHere()
        // A nice value no other test uses, above this process's.
        let nice: Int32 = 17
        try #require(base < nice)
        let thread = try await PushThread(nice: nice)
        try await withTaskExecutorPreference(thread) {
            await Task.yield()
            #expect(Self.niceHere() == nice)
            await thread.sleep(ms: 5)
            #expect(Self.niceHere() == nice)
            // What the store and DNS lookups do: hand work to Dispatch, whose
            // new threads would inherit the push thread's priority.
            for round in 0..<20 {
                let (offloaded, onDispatch) = try await thread.offload {
                    let onDispatch = await withCheckedContinuation { c in
                        DispatchQueue(label: "push-thread-test-\(round)").async { c.resume(returning: Self.niceHere()) }
                    }
                    return (Self.niceHere(), onDispatch)
                }
                #expect(offloaded == base)
                #expect(onDispatch == base)
                #expect(Self.niceHere() == nice)
            }
            await withTaskGroup(of: Int32.self) { group in
                for _ in 0..<4 { group.addTask { Self.niceHere() } }
                for await child in group { #expect(child == nice) }
            }
        }
        #expect(try Self.threadNices().filter { $0 == nice }.count == 1)
        await thread.shutdown()
        #expect(try !Self.threadNices().contains(nice))
        // What arrives once it has stopped (a commit during shutdown) still runs.
        let late = try await withTaskExecutorPreference(thread) {
            await thread.sleep(ms: 1)
            return try await thread.offload { Self.niceHere() }
        }
        #expect(late == base)
    }

    /// GRDB's synchronous read, not its async overload.
    static func niceOfSynchronousRead(_ db: any DatabaseWriter) throws -> Int32 { try db.read { _ in niceHere() } }

    /// The notifier reads what its notes say on its own thread (SQLite's
    /// synchronous read runs on the caller): at its priority, and no
    /// thread of GRDB's takes that priority.
    @Test func pushReadsRunOnThePushThreadAndStartNoThread() async throws {
        let base = Self.niceHere()
        let nice: Int32 = 16
        try #require(base < nice)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chatd-nice-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore.open(path: dir + "/chat.sqlite", readers: 4)
        let thread = try await PushThread(nice: nice)
        let note = PushQueue.Note(user: 1, conversation: 1, seq: 1, sender: 2, mentioned: false, text: nil)
        try await withTaskExecutorPreference(thread) {
            await Task.yield()
            for _ in 0..<20 {
                let contexts = try store.pushContextsBlocking([note, note], now: 0, withSender: true)
                #expect(contexts.map(\.isMember) == [false, false])
                #expect(try Self.niceOfSynchronousRead(store.writer) == nice)
            }
            // Concurrent readers elsewhere meanwhile (the pool's other connections).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask(executorPreference: globalConcurrentExecutor) { _ = try await store.pushContexts([note], now: 0, withSender: false) } }
                for _ in 0..<8 { _ = try store.pushContextsBlocking([note], now: 0, withSender: false) }
                try await group.waitForAll()
            }
        }
        #expect(try Self.threadNices().filter { $0 == nice }.count == 1)
        await thread.shutdown()
    }

    @Test func passwordHashersResumeTheirCallersAtNormalPriority() async throws {
        let base = Self.niceHere()
        let nice: Int32 = 13
        try #require(base < nice)
        let pool = WorkerPool(name: "nice-test", threads: 2, queueCapacity: 1000, niceness: nice)
        // Many callers at once, so that resuming them needs new threads.
        let seen = try await withThrowingTaskGroup(of: (Int32, Int32).self) { group in
            for _ in 0..<200 {
                group.addTask {
                    let inJob = try await pool.run { Self.niceHere() }
                    return (inJob, Self.niceHere())
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(seen.allSatisfy { $0.0 == nice })
        #expect(seen.allSatisfy { $0.1 == base })
        #expect(try Self.threadNices().filter { $0 == nice }.count == 2)
        pool.shutdown()
    }

    /// The password hashers chatd makes run at nice 19, the lowest; their
    /// callers resume at the normal priority.
    @Test func chatdsHashersRunAtTheLowestPriorityAndResumeCallersNormally() async throws {
        let base = Self.niceHere()
        try #require(base < 19)
        let hasher = SodiumPasswordHasher(limits: .init(opsLimit: 1, memLimit: 8192), threads: 2, queueCapacity: 100)
        let seen = try await withThrowingTaskGroup(of: (Int32, Int32).self) { group in
            for _ in 0..<50 {
                group.addTask {
                    let inJob = try await hasher.pool.run { Self.niceHere() }
                    return (inJob, Self.niceHere())
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(seen.allSatisfy { $0.0 == 19 })
        #expect(seen.allSatisfy { $0.1 == base })
        let hash = try await hasher.hash("password-1")
        #expect(try await hasher.verify("password-1", hash: hash))
        hasher.pool.shutdown()
    }

    /// What the hashers resume through: in order, at its creator's priority,
    /// whoever hands it the work; after shutdown, on the caller.
    @Test func aHandoffRunsWorkAtItsCreatorsPriority() async throws {
        let base = Self.niceHere()
        let handoff = Handoff(name: "handoff-test")
        let pool = WorkerPool(name: "handoff-feeder", threads: 1, queueCapacity: 10, niceness: 14)
        let seen = try await pool.run {
            let done = DispatchSemaphore(value: 0)
            let order = Mutex<[Int32]>([])
            for i in 0..<5 {
                handoff.execute {
                    order.withLock { $0.append(Self.niceHere() == base ? Int32(i) : -1) }
                    if i == 4 { done.signal() }
                }
            }
            done.wait()
            return order.withLock { $0 }
        }
        #expect(seen == [0, 1, 2, 3, 4])
        handoff.shutdown()
        pool.shutdown()
        try await Task.sleep(for: .milliseconds(50))
        let after = Mutex(false)
        handoff.execute { after.withLock { $0 = true } }
        #expect(after.withLock { $0 })
    }
}
