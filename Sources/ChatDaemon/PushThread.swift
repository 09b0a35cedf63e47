import ChatCrypto
import ChatServer
import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// The thread the push notifier runs on (spec/PROTOCOL.md §4.8): an event
/// loop of its own, for async-http-client's connections and, as a task
/// executor, for the notifier's member walk, bodies and encryption. It runs
/// at a lower CPU priority than chat traffic (`push.nice`), so that with
/// the cores busy notifications wait in their queue rather than in front
/// of messages.
///
/// A thread inherits the nice value of the thread that creates it, and
/// libdispatch creates its workers from whichever thread hands it work. So
/// the push thread never hands work to Dispatch itself: store calls and DNS
/// lookups are started from a thread at normal priority (`offload`, through
/// a `Handoff` as the password hashers do), and sleeps are the event loop's
/// timers.
final class PushThread: PushExecutor {
    let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    /// At normal priority: starts the tasks `offload` runs.
    private let helper = Handoff(name: "push-offload")
    /// Set before the threads stop: what still arrives (a commit during
    /// shutdown) runs on the cooperative pool.
    private let stopped = Atomic(false)

    /// `nice`: 0–19.
    init(nice: Int32) async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        let failed = try await loop.submit { () -> Int32? in
            nice > 0 ? lowerThisThreadsPriority(to: nice) : nil
        }.get()
        if let failed {
            await shutdown()
            throw PushThreadError(errno: failed)
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        guard !stopped.load(ordering: .acquiring) else {
            globalConcurrentExecutor.enqueue(job)
            return
        }
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    func offload<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard !stopped.load(ordering: .acquiring) else { return try await body() }
        return try await withCheckedThrowingContinuation { c in
            helper.execute {
                Task {
                    do { c.resume(returning: try await body()) } catch { c.resume(throwing: error) }
                }
            }
        }
    }

    func sleep(ms: Int64) async {
        guard !stopped.load(ordering: .acquiring) else {
            try? await Task.sleep(for: .milliseconds(max(0, ms)))
            return
        }
        await withCheckedContinuation { c in
            // Also when the loop stops first (the timer is then cancelled).
            loop.scheduleTask(in: .milliseconds(max(0, ms))) {}.futureResult.whenComplete { _ in c.resume() }
        }
    }

    func shutdown() async {
        stopped.store(true, ordering: .releasing)
        try? await group.shutdownGracefully()
        helper.shutdown()
    }
}

struct PushThreadError: Error, CustomStringConvertible {
    let errno: Int32
    var description: String { "could not lower the push thread's priority: \(String(cString: strerror(errno)))" }
}
