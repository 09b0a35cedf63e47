import Benchmark
import ChatCore
import ChatFuzzing
import ChatProtocol
import ChatServer
import NIOCore
import Synchronization

// The hot pieces of a send and its fan-out, without sockets (issue 11: a
// guard that a change to them is seen at once). Each benchmark runs in a
// process of its own (`tools/microbench`). What is checked against the
// stored thresholds (Benchmarks/Thresholds) is each benchmark's p90 count
// of allocations: it does not depend on the machine's speed of the moment.
// The wall-clock time is measured and printed, not checked: it moved by
// half between identical runs here, and five to nine times with a build
// running beside it (BENCHMARKS.md, "Micro-benchmarks"). Per-thread CPU
// time is read in 10 ms ticks on this kernel: no use per sample.

/// A run's world (`FuzzWorld`: a chatd's services over a real SQLite store in
/// a temporary directory, `synchronous = off`, so a commit costs its CPU and
/// not a disk's flush), made by the benchmark's setup.
let world = Mutex<FuzzWorld?>(nil)
/// Sends made so far in this process, for unique client message ids.
let sent = Atomic<Int>(0)

/// #general in the fuzz world: alice (its owner) and bob.
let general: UInt64 = 1
/// About the length of a chat line.
let text = "see you at the station at half past six, the usual platform, bring the map"

func makeWorld() async throws {
    let made = try await FuzzWorld.make()
    world.withLock { $0 = made }
}

func closeWorld() async throws {
    world.withLock { w in
        w?.close()
        w = nil
    }
}

func currentWorld() throws -> FuzzWorld {
    guard let w = world.withLock({ $0 }) else { throw MicroError("the benchmark's setup made no world") }
    return w
}

struct MicroError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A SendMessage request to #general with a client message id not used before.
func sendRequest(id: UInt32) -> Frame {
    let n = sent.wrappingAdd(1, ordering: .relaxed).oldValue
    var q = Chatd_V1_SendMessageRequest()
    q.conversationID = general
    q.clientMsgID = "bench-\(n)"
    q.text = text
    q.messageType = .text
    return Frame(kind: .request, op: Op.sendMessage.rawValue, id: id, payload: q.payloadBuffer())
}

/// Routes a request as alice; throws unless it was answered with a response.
func routeAsAlice(_ frame: Frame, in w: FuzzWorld) async throws {
    let outcome = await w.clientRouter.route(op: .sendMessage, frame: frame, session: w.sessions[0], context: w.context)
    guard case .reply(let answer) = outcome, answer.kind == .response else {
        throw MicroError("a send was not answered with a response: \(outcome)")
    }
}

/// Allocations within `mallocs` percent of the stored p90.
func thresholds(mallocs: Double) -> [BenchmarkMetric: BenchmarkThresholds] {
    [.mallocCountTotal: .init(relative: [.p90: mallocs])]
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 20,
        maxDuration: .seconds(2),
        maxIterations: 3_000,
        // The same code makes the same allocations: decoding and publishing
        // exactly, so a regression of one allocation per frame fails them.
        thresholds: thresholds(mallocs: 5))

    // Decoding: one read holding 16 SendMessage requests (a flat-out
    // client's), cut into frames and each payload decoded as the router does.
    Benchmark("FrameDecode_16Sends") { benchmark in
        var read = ByteBuffer()
        for id in 1...16 { sendRequest(id: UInt32(id)).write(into: &read) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var frames = FrameAssembler(maxFrameLength: 1 << 20)
            frames.append(read)
            var decoded = 0
            while case .frame(let frame) = frames.next() {
                let request = try Chatd_V1_SendMessageRequest(payload: frame.payload)
                decoded += request.text.utf8.count
            }
            guard decoded == 16 * text.utf8.count else { throw MicroError("decoded \(decoded) bytes of text") }
            blackHole(decoded)
        }
    }

    // Fan-out's encoding: a committed batch of 16 messages to #general
    // mapped to push frames, once each (`FanoutHub.publish`). The fuzz
    // world has no connections, so nothing is written: this is the part of
    // a publish that does not grow with the recipients.
    Benchmark(
        "Publish_16Messages",
        configuration: .init(setup: makeWorld, teardown: closeWorld)
    ) { benchmark in
        let w = try currentWorld()
        var changes = CommittedChanges()
        for seq in 1...16 {
            changes.events.append(
                Event(
                    conversationID: ConversationID(general), seq: Seq(1000 + seq), kind: .message, senderID: 1,
                    clientMsgID: "bench-\(seq)", text: text, createdAt: 1_700_000_000_000 + Millis(seq),
                    messageType: .text))
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            w.hub.publish([changes])
        }
    }

    // A lone send (a paced client's): decoding, the rules, the store's
    // transaction and commit, the publish, the answer.
    // Its count moves with the search indexer's and the checkpointer's
    // rounds on their own threads (the count is the process's) when they
    // fall in a sample: p50 128, p90 142, p99 160-210.
    Benchmark(
        "Send_Lone",
        configuration: .init(thresholds: thresholds(mallocs: 10), setup: makeWorld, teardown: closeWorld)
    ) { benchmark in
        let w = try currentWorld()
        let request = sendRequest(id: 7)
        benchmark.startMeasurement()
        try await routeAsAlice(request, in: w)
        benchmark.stopMeasurement()
    }

    // 16 sends at once: the store's group commit takes them in few batches,
    // how few depending on how soon the writer wakes: each batch has
    // allocations of its own, so the count has the widest tolerance.
    Benchmark(
        "Send_16AtOnce",
        configuration: .init(
            maxIterations: 1_000, thresholds: thresholds(mallocs: 20), setup: makeWorld, teardown: closeWorld)
    ) { benchmark in
        let w = try currentWorld()
        let requests = (1...16).map { sendRequest(id: UInt32($0)) }
        benchmark.startMeasurement()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for request in requests { group.addTask { try await routeAsAlice(request, in: w) } }
            try await group.waitForAll()
        }
        benchmark.stopMeasurement()
    }
}
