import ChatCore
@testable import ChatStore
import Dispatch
import Foundation
import Synchronization
import Testing

/// The store's lookup threads: jobs run on them, results and errors reach
/// the caller, and stopping runs what was queued, then refuses.
struct LookupThreadsTests {
    struct Failed: Error, Equatable { let n: Int }
    final class Count: Sendable {
        let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var current: Int { value.withLock { $0 } }
    }

    /// The running thread's name as the kernel has it (what perf and top show).
    static func kernelThreadName() -> String {
        ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .newlines)
    }

    @Test func jobsRunOnTheThreadsAndAnswerTheirCallers() async throws {
        let threads = LookupThreads(count: 2, name: "test-lookup")
        defer { threads.stop() }
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<2_000 {
                group.addTask { try await threads.run { (i, Self.kernelThreadName()) } }
            }
            var out: [(Int, String)] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(results.map(\.0).sorted() == Array(0..<2_000))
        #expect(Set(results.map(\.1)).isSubset(of: ["test-lookup-0", "test-lookup-1"]))
        await #expect(throws: Failed(n: 7)) { try await threads.run { () throws -> Int in throw Failed(n: 7) } }
    }

    @Test func stopRunsTheQueuedJobsThenRefusesNewOnes() async throws {
        let threads = LookupThreads(count: 1, name: "test-lookup")
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let ran = Count()
        // One job holds the only thread; ten wait behind it.
        let jobs = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await threads.run {
                        started.signal()
                        gate.wait()
                        ran.add()
                    }
                }
                for _ in 0..<10 { group.addTask { try await threads.run { ran.add() } } }
                try await group.waitForAll()
            }
        }
        started.wait()
        // Let the ten queue up behind the blocked job.
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            if threads.queued == 10 { break }
        }
        #expect(threads.queued == 10)
        let stopped = Count()
        let stopper = Thread {
            threads.stop()
            stopped.add()
        }
        stopper.start()
        try await Task.sleep(for: .milliseconds(50))
        #expect(stopped.current == 0, "stop waits for the running job")
        gate.signal()
        try await jobs.value
        #expect(ran.current == 11)
        while stopped.current == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: ChatFailure(.unavailable, "server is shutting down")) { try await threads.run { 1 } }
        threads.stop()  // again: nothing to do
    }

    /// A job that stops the threads (it released the last reference to the
    /// store, whose deinit stops them) does not wait for its own thread.
    @Test func stopFromAJobDoesNotWaitForItself() async throws {
        let threads = LookupThreads(count: 2, name: "test-lookup")
        try await threads.run { threads.stop() }
        await #expect(throws: ChatFailure(.unavailable, "server is shutting down")) { try await threads.run { 1 } }
    }
}
