import NIOCore

/// Runs a task's jobs on one event loop: a connection's request task starts
/// there and, when the store answers, resumes there, instead of on Swift's
/// global pool. Each hop to that pool woke a thread, and on a loaded
/// machine those threads waited for a core longer than they ran (session
/// 27's measurements in BENCHMARKS.md). Only for code that never blocks
/// its thread, and does not run long: it holds every connection of the loop.
final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // From the loop itself NIO only queues it; from another thread it
        // wakes the loop once for everything queued meanwhile.
        loop.execute { job.runSynchronously(on: executor) }
    }
}
