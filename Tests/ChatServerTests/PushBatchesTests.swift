import ChatCore
@testable import ChatServer
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

struct PushBatchesTests {
    /// Records each `pushInLoop` call (one write and one flush) it gets:
    /// its buffers' bytes, and how many frames it said they hold.
    final class Inbox: ConnectionEndpoint {
        struct Call: Equatable {
            var buffers: [String]
            var count: Int
        }

        let eventLoop: any EventLoop
        let calls = Mutex<[Call]>([])
        /// Where each call's first buffer's bytes were.
        let firstBytesAt = Mutex<[UInt]>([])

        init(_ loop: EmbeddedEventLoop) { eventLoop = loop }

        func end(_ reason: ConnectionStateMachine.GoodbyeReason) {}

        func pushInLoop(_ pushes: PushFrames) {
            calls.withLock { $0.append(Call(buffers: pushes.buffers.map { String(buffer: $0) }, count: pushes.count)) }
            if let first = pushes.buffers.first {
                let address = first.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
                firstBytesAt.withLock { $0.append(address) }
            }
        }
    }

    let loops = [EmbeddedEventLoop(), EmbeddedEventLoop()]

    func connection(_ id: UInt64, loop: Int) -> (LiveConnection, Inbox) {
        let inbox = Inbox(loops[loop])
        return (LiveConnection(id: id, address: "127.0.0.1", channel: EmbeddedChannel(), endpoint: inbox), inbox)
    }

    /// Frames for the same connections one after another: each connection
    /// gets all of them in one call, in order, on its own loop, joined into
    /// one buffer that all of the run's connections share.
    @Test func aRunReachesEachConnectionOnce() {
        let (a, aInbox) = connection(1, loop: 0)
        let (b, bInbox) = connection(2, loop: 1)
        var batches = PushBatches()
        batches.add(ByteBuffer(string: "m1"), to: [a, b])
        batches.add(ByteBuffer(string: "m2"), to: [a, b])
        batches.add(ByteBuffer(string: "m3"), to: [a, b])
        batches.send()
        #expect(aInbox.calls.withLock { $0 }.isEmpty, "nothing is written off the connection's loop")
        loops[0].run()
        #expect(aInbox.calls.withLock { $0 } == [.init(buffers: ["m1m2m3"], count: 3)])
        #expect(bInbox.calls.withLock { $0 }.isEmpty, "b's loop has not run yet")
        loops[1].run()
        #expect(bInbox.calls.withLock { $0 } == [.init(buffers: ["m1m2m3"], count: 3)])
        #expect(aInbox.firstBytesAt.withLock { $0 } == bInbox.firstBytesAt.withLock { $0 }, "joined once per run, not per connection")
    }

    /// Frames for different connections: each connection still gets its
    /// frames in one call, in the order they were added, and only its own.
    @Test func framesForDifferentConnectionsAreGatheredInOrder() {
        let (a, aInbox) = connection(1, loop: 0)
        let (b, bInbox) = connection(2, loop: 1)
        let (c, cInbox) = connection(3, loop: 0)
        var batches = PushBatches()
        batches.add(ByteBuffer(string: "room1"), to: [a, b])
        batches.add(ByteBuffer(string: "direct"), to: [b, c])
        batches.add(ByteBuffer(string: "room2"), to: [a, b])
        batches.add(ByteBuffer(string: "nobody"), to: [])
        batches.add(ByteBuffer(string: "account"), to: [c])
        batches.send()
        for loop in loops { loop.run() }
        #expect(aInbox.calls.withLock { $0 } == [.init(buffers: ["room1", "room2"], count: 2)])
        #expect(bInbox.calls.withLock { $0 } == [.init(buffers: ["room1", "direct", "room2"], count: 3)])
        #expect(cInbox.calls.withLock { $0 } == [.init(buffers: ["direct", "account"], count: 2)])
    }

    /// Several runs: a run of several frames is joined once and shared
    /// by its connections here too, after the frames of earlier runs.
    @Test func gatheredRunsAreJoinedOnceAndShared() {
        let (a, aInbox) = connection(1, loop: 0)
        let (b, bInbox) = connection(2, loop: 1)
        let (c, cInbox) = connection(3, loop: 0)
        var batches = PushBatches()
        batches.add(ByteBuffer(string: "r1"), to: [a, b])
        batches.add(ByteBuffer(string: "r2"), to: [a, b])
        batches.add(ByteBuffer(string: "x"), to: [c])
        batches.add(ByteBuffer(string: "r3"), to: [a, b])
        batches.add(ByteBuffer(string: "r4"), to: [a, b])
        batches.send()
        for loop in loops { loop.run() }
        #expect(aInbox.calls.withLock { $0 } == [.init(buffers: ["r1r2", "r3r4"], count: 4)])
        #expect(bInbox.calls.withLock { $0 } == [.init(buffers: ["r1r2", "r3r4"], count: 4)])
        #expect(cInbox.calls.withLock { $0 } == [.init(buffers: ["x"], count: 1)])
        #expect(aInbox.firstBytesAt.withLock { $0 } == bInbox.firstBytesAt.withLock { $0 }, "joined once per run, not per connection")
    }

    /// The same connections in another order are another run; frames still
    /// reach each connection once, in order.
    @Test func theSameConnectionsInAnotherOrderStillGetEverythingOnce() {
        let (a, aInbox) = connection(1, loop: 0)
        let (b, bInbox) = connection(2, loop: 0)
        var batches = PushBatches()
        batches.add(ByteBuffer(string: "m1"), to: [a, b])
        batches.add(ByteBuffer(string: "m2"), to: [b, a])
        batches.send()
        loops[0].run()
        #expect(aInbox.calls.withLock { $0 } == [.init(buffers: ["m1", "m2"], count: 2)])
        #expect(bInbox.calls.withLock { $0 } == [.init(buffers: ["m1", "m2"], count: 2)])
    }

    /// Joined buffers keep the frames' bytes in order and never grow past
    /// the limit; a frame as large as the limit is not copied.
    @Test func joiningStopsAtTheLimit() {
        let limit = PushFrames.joinLimit
        let sizes = [10, limit + 4_464, 20, 30, 40_000, limit - 40_050 + 1, 5]
        let frames = sizes.enumerated().map { i, size in ByteBuffer(repeating: UInt8(i), count: size) }
        let pushes = PushFrames(joining: frames)
        #expect(pushes.count == 7)
        #expect(pushes.buffers.map(\.readableBytes) == [10, limit + 4_464, 40_050, limit - 40_050 + 1 + 5])
        var all = ByteBuffer()
        for buffer in pushes.buffers { all.writeImmutableBuffer(buffer) }
        var expected = ByteBuffer()
        for frame in frames { expected.writeImmutableBuffer(frame) }
        #expect(all == expected)
        let big = frames[1].withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(pushes.buffers[1].withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == big, "the large frame is not copied")

        // At the limit exactly: a frame of that size is not copied; frames
        // that add up to it are joined; one byte more and they are not.
        let exact = PushFrames(joining: [ByteBuffer(repeating: 1, count: limit), ByteBuffer(repeating: 2, count: 12)])
        #expect(exact.buffers.map(\.readableBytes) == [limit, 12])
        let filled = PushFrames(joining: [ByteBuffer(repeating: 1, count: limit - 12), ByteBuffer(repeating: 2, count: 12)])
        #expect(filled.buffers.map(\.readableBytes) == [limit])
        let over = PushFrames(joining: [ByteBuffer(repeating: 1, count: limit - 12), ByteBuffer(repeating: 2, count: 13)])
        #expect(over.buffers.map(\.readableBytes) == [limit - 12, 13])

        let one = PushFrames(joining: [ByteBuffer(string: "alone")])
        #expect(one.count == 1 && one.buffers.map { String(buffer: $0) } == ["alone"])
    }

    @Test func anEmptyBatchSendsNothing() {
        let (_, inbox) = connection(1, loop: 0)
        PushBatches().send()
        loops[0].run()
        #expect(inbox.calls.withLock { $0 }.isEmpty)
    }
}

struct RecipientMemoTests {
    /// Consecutive events in one conversation share a lookup; another
    /// conversation, or a membership change (`forget`), looks up again.
    @Test func looksUpOncePerRunOfOneConversation() {
        var memo = RecipientMemo()
        var lookups: [ConversationID] = []
        let look: (ConversationID) -> [LiveConnection] = { lookups.append($0); return [] }
        _ = memo.connections(of: 7, lookUp: look)
        _ = memo.connections(of: 7, lookUp: look)
        _ = memo.connections(of: 8, lookUp: look)
        _ = memo.connections(of: 7, lookUp: look)
        memo.forget()
        _ = memo.connections(of: 7, lookUp: look)
        _ = memo.connections(of: 7, lookUp: look)
        #expect(lookups == [7, 8, 7, 7])
    }
}

/// The notifier's request slots: at most N requests under way whatever
/// the notes, the rest waiting in order.
struct RequestSlotsTests {
    @Test func atMostNRunAndTheRestWaitTheirTurn() async {
        final class Running: Sendable {
            let state = Mutex((now: 0, most: 0, order: [Int]()))
            func withLock<T>(_ body: (inout (now: Int, most: Int, order: [Int])) -> T) -> T { state.withLock { body(&$0) } }
        }
        let slots = RequestSlots(3)
        let running = Running()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    await slots.acquire()
                    running.withLock {
                        $0.now += 1
                        $0.most = max($0.most, $0.now)
                        $0.order.append(i)
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                    running.withLock { $0.now -= 1 }
                    slots.release()
                }
            }
        }
        let result = running.withLock { $0 }
        #expect(result.most == 3 && result.now == 0 && result.order.count == 20)
        #expect(slots.usage.free == 3 && slots.usage.waiting == 0)
    }
}
