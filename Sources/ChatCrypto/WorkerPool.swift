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
    /// Resumes callers at the priority of the thread that made the pool.
    private let resumer: Handoff

    /// `niceness`: the threads' scheduling priority (Linux nice value), so
    /// that on a small machine chat traffic preempts password hashing.
    public init(name: String, threads: Int, queueCapacity: Int, niceness: Int32 = 0) {
        self.threads = max(1, threads)
        self.queueCapacity = max(0, queueCapacity)
        resumer = Handoff(name: "\(name)-resume")
        for i in 0..<self.threads {
            let thread = Thread { [self] in
                nameThisThread("\(name)-\(i)")
                if niceness != 0 { _ = lowerThisThreadsPriority(to: niceness) }
                self.loop()
            }
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
            jobs.append { [resumer] in
                let value = body()
                // Not from this thread: resuming may make the runtime start a
                // thread for the caller's task, and it would inherit this
                // thread's lower priority for good.
                resumer.execute { continuation.resume(returning: value) }
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
        resumer.shutdown()
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

/// Sets the calling thread's nice value (on Linux a nice value is per
/// thread, and `who` 0 is the calling thread); the errno when refused.
public func lowerThisThreadsPriority(to nice: Int32) -> Int32? {
    #if os(Linux)
    return setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 ? nil : errno
    #else
    return nil
    #endif
}

/// One thread, at the priority of the thread that creates it, that runs
/// what others hand it in order: threads at a lower priority (the password
/// hashers, the push notifier's) start work through it that must not run
/// at theirs, since a thread the runtime creates for it would inherit it.
public final class Handoff: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopped = false
    private var exited = false

    public init(name: String) {
        let thread = Thread { [self] in
            nameThisThread(name)
            loop()
        }
        thread.start()
    }

    /// Runs `job` on the thread; once it has exited (after `shutdown`), here.
    public func execute(_ job: @escaping () -> Void) {
        condition.lock()
        guard !exited else {
            condition.unlock()
            job()
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// The thread exits once nothing is left to run.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                exited = true
                condition.unlock()
                return
            }
            let batch = jobs
            jobs = []
            condition.unlock()
            for job in batch { job() }
        }
    }
}
