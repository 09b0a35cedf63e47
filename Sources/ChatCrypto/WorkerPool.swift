import ChatCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of threads running blocking work (Argon2) with a bounded queue.
/// When the queue is full, `run` throws `rate_limited` at once with a retry
/// hint from the measured job time; it never makes a caller wait in line
/// behind an unbounded backlog, and never blocks a NIO event loop.
public final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var stopped = false
    private var running = 0
    private var averageJobMs: Double = 50
    public let threads: Int
    public let queueCapacity: Int

    /// `niceness`: the threads' scheduling priority (Linux nice value), so
    /// that on a small machine chat traffic preempts password hashing.
    public init(name: String, threads: Int, queueCapacity: Int, niceness: Int32 = 0) {
        self.threads = max(1, threads)
        self.queueCapacity = max(0, queueCapacity)
        for i in 0..<self.threads {
            let thread = Thread { [self] in
                #if os(Linux)
                // On Linux the nice value is per thread; who = 0 is the calling thread.
                if niceness != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
                #endif
                self.loop()
            }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    /// Jobs waiting for a thread (not counting those running).
    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            condition.lock()
            defer { condition.unlock() }
            let waiting = jobs.count - head
            if stopped {
                continuation.resume(throwing: ChatFailure(.unavailable, "server is shutting down"))
                return
            }
            // Queued plus running, so a burst that arrives before a thread
            // has picked anything up is bounded too.
            if waiting + running >= threads + queueCapacity {
                let retry = Int64((Double(waiting + 1) * averageJobMs / Double(threads)).rounded(.up))
                continuation.resume(throwing: ChatFailure.rateLimited(retryAfterMs: max(retry, 50), "server is busy hashing passwords"))
                return
            }
            jobs.append {
                continuation.resume(returning: body())
            }
            condition.signal()
        }
    }

    /// Lets the threads finish queued work and exit.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count && stopped {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head > 64 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            running += 1
            condition.unlock()

            let start = DispatchTime.now().uptimeNanoseconds
            job()
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000

            condition.lock()
            running -= 1
            averageJobMs = averageJobMs * 0.8 + ms * 0.2
            condition.unlock()
        }
    }
}
