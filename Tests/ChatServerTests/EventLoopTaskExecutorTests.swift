@testable import ChatServer
import Dispatch
import NIOCore
import NIOPosix
import Testing

/// A connection's request tasks run on its event loop: they start there,
/// and come back there when what they await is resumed from another thread
/// (the store's writer, a reader queue, a timer).
struct EventLoopTaskExecutorTests {
    @Test func aTaskStartsAndResumesOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        let seen = await Task(executorPreference: EventLoopTaskExecutor(loop)) { () -> [Bool] in
            var seen = [loop.inEventLoop]
            await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { resumed.resume() }
            }
            seen.append(loop.inEventLoop)
            try? await Task.sleep(for: .milliseconds(1))
            seen.append(loop.inEventLoop)
            return seen
        }.value
        #expect(seen == [true, true, true])
        // Without the preference, the same task runs on the global pool.
        let elsewhere = await Task { loop.inEventLoop }.value
        #expect(!elsewhere)
        try await group.shutdownGracefully()
    }
}
