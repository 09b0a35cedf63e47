import ChatCore
import Dispatch
import Foundation
import Synchronization

/// A few threads of the store's own that run short synchronous reads
/// (single-statement lookups such as Resume's token lookup) for async
/// callers: the caller's task hops to one of them and back, two thread
/// hand-offs.
///
/// GRDB's async read makes three (a serial queue that waits for a free
/// reader, the reader's queue, then the caller's executor) and wraps the
/// statement in BEGIN and COMMIT. Here the synchronous
/// `DatabasePool.unsafeRead` takes a reader and runs the statement on the
/// calling thread (GCD runs a `sync` block on the caller). A thread may
/// wait for a free reader while page reads hold them all; only these
/// threads wait, never an event loop. With the token lookup here, chatd's
/// CPU per Resume in bursts of 1,000 reconnecting clients fell from 188 to
/// 131 µs (`tools/bench --compare`, BENCHMARKS.md, session 30).
final class LookupThreads: Sendable {
    private struct State {
        /// Taken jobs are nil until the array is compacted.
        var jobs: [(@Sendable () -> Void)?] = []
        /// Index of the next job in `jobs`.
        var head = 0
        var stopped = false
        /// The threads' pthread ids, each recorded when its thread starts.
        var threadIDs: [pthread_t] = []

        mutating func take() -> (@Sendable () -> Void)? {
            guard head < jobs.count else { return nil }
            defer {
                jobs[head] = nil
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                } else if head >= 1024 && head * 2 >= jobs.count {
                    jobs.removeFirst(head)
                    head = 0
                }
            }
            return jobs[head]
        }
    }

    private let state = Mutex(State())
    /// One signal per job, and one per thread to stop.
    private let available = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    let count: Int

    init(count: Int, name: String) {
        self.count = max(1, count)
        for i in 0..<self.count {
            let thread = Thread { [self] in
                nameThisThread("\(name)-\(i)")
                state.withLock { $0.threadIDs.append(pthread_self()) }
                run()
            }
            thread.start()
        }
    }

    /// Runs `body` on one of the threads; once they were stopped (the store
    /// closed at shutdown), fails with `unavailable`, as the password
    /// hashers' pool does, so the client is told to retry elsewhere or later.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let queued = state.withLock { s in
                guard !s.stopped else { return false }
                s.jobs.append { continuation.resume(with: Result { try body() }) }
                return true
            }
            if queued {
                available.signal()
            } else {
                continuation.resume(throwing: ChatFailure(.unavailable, "server is shutting down"))
            }
        }
    }

    /// Jobs waiting for a thread.
    var queued: Int { state.withLock { $0.jobs.count - $0.head } }

    /// Ends the threads once the queued jobs ran; waits for them, except
    /// when called from one of them (a job that released the last reference
    /// to the store): that one ends after its job. Idempotent.
    func stop() {
        let me = pthread_self()
        let (first, inside) = state.withLock { s in
            defer { s.stopped = true }
            return (!s.stopped, s.threadIDs.contains { pthread_equal($0, me) != 0 })
        }
        guard first else { return }
        for _ in 0..<count { available.signal() }
        for _ in 0..<(inside ? count - 1 : count) { finished.wait() }
    }

    private func run() {
        defer { finished.signal() }
        while true {
            available.wait()
            let job = state.withLock { $0.take() }
            // No job for this signal: it was a stop signal, and the jobs
            // queued before the stop have all been taken.
            guard let job else { return }
            job()
        }
    }
}
