import ChatCore
@testable import ChatServer
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

struct PushBatchesTests {
    /// Records each `pushInLoop` call (one write and one flush) it gets.
    final class Inbox: ConnectionEndpoint {
        let eventLoop: any EventLoop
        let calls = Mutex<[[String]]>([])

        init(_ loop: EmbeddedEventLoop) { eventLoop = loop }

        func end(_ reason: ConnectionStateMachine.GoodbyeReason) {}

        func pushInLoop(_ frames: [ByteBuffer]) {
            calls.withLock { $0.append(frames.map { String(buffer: $0) }) }
        }
    }

    let loops = [EmbeddedEventLoop(), EmbeddedEventLoop()]

    func connection(_ id: UInt64, loop: Int) -> (LiveConnection, Inbox) {
        let inbox = Inbox(loops[loop])
        return (LiveConnection(id: id, address: "127.0.0.1", channel: EmbeddedChannel(), endpoint: inbox), inbox)
    }

    /// Frames for the same connections one after another: each connection
    /// gets all of them in one call, in order, on its own loop.
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
        #expect(aInbox.calls.withLock { $0 } == [["m1", "m2", "m3"]])
        #expect(bInbox.calls.withLock { $0 }.isEmpty, "b's loop has not run yet")
        loops[1].run()
        #expect(bInbox.calls.withLock { $0 } == [["m1", "m2", "m3"]])
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
        #expect(aInbox.calls.withLock { $0 } == [["room1", "room2"]])
        #expect(bInbox.calls.withLock { $0 } == [["room1", "direct", "room2"]])
        #expect(cInbox.calls.withLock { $0 } == [["direct", "account"]])
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
        #expect(aInbox.calls.withLock { $0 } == [["m1", "m2"]])
        #expect(bInbox.calls.withLock { $0 } == [["m1", "m2"]])
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
