import ChatProtocol
import Foundation
import Histogram
import NIOCore

/// Measurement window (monotonic nanoseconds).
struct Window: Sendable {
    let start: UInt64
    let end: UInt64

    func contains(_ t: UInt64) -> Bool { t >= start && t < end }
    var seconds: Double { Double(end - start) / 1e9 }
}

/// One sending connection's state, confined to its event loop. At an
/// offered rate it is also its own timer: each firing sends every message
/// that is due and arms the next at the exact time the next one is due.
final class SenderState: NIOScheduledCallbackHandler {
    let connection: BenchConnection
    let conversation: UInt64
    let tag: String
    var sent = 0
    var acked = 0
    var errors = 0
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var timer: NIOScheduledCallback?
    /// Where its schedule starts, in periods (`SendDriver`).
    var phase = 0.0
    /// Its messages per second; 0 flat out.
    var perSender = 0.0
    var flatOut: Bool { perSender <= 0 }
    var begin: UInt64 = 0
    var window = Window(start: 0, end: 0)
    /// Flat out: requests kept in flight.
    var windowSize = 1

    init(connection: BenchConnection, conversation: UInt64, tag: String) {
        self.connection = connection
        self.conversation = conversation
        self.tag = tag
    }

    /// When message `k` is due (monotonic nanoseconds).
    func due(_ k: Int) -> UInt64 { begin + UInt64((Double(k) + phase) * 1e9 / perSender) }

    /// Arms the timer for `deadline` (on the loop).
    func arm(at deadline: UInt64) {
        timer = try? connection.eventLoop.assumeIsolated().scheduleCallback(
            at: .uptimeNanoseconds(deadline), handler: self)
    }

    /// Cancels the timer (on the loop, so it cannot fire afterwards).
    func stop() {
        timer?.cancel()
        timer = nil
    }

    func handleScheduledCallback(eventLoop: some EventLoop) {
        timer = nil
        SendDriver.fire(self)
    }
}

/// Sends durable messages from many connections at a fixed offered rate
/// (open loop: latency counts from each message's scheduled time, so a server
/// that falls behind shows it) or flat out with a window of requests in flight.
///
/// At a rate R over S senders, each sender sends every S/R seconds; sender
/// i's schedule is shifted by i/R, so that the messages of all senders are
/// evenly spaced, one every 1/R seconds, as from many independent clients.
/// `synchronized` puts every sender's k-th message at the same instant
/// instead: bursts of S messages every S/R seconds (what chatbench measured
/// before 2026-12-05: at 10,000/s over 100 senders, 100 sends at once every 10 ms).
///
/// Each sender's timer fires when its next message is due (before
/// 2026-12-06, session 35, every sender polled its schedule each
/// millisecond: a message went out up to 1 ms after its scheduled time,
/// and that wait was counted in its latency).
struct SendDriver {
    struct Result {
        var acked = 0
        var errors = 0
        var sent = 0
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    let senders: [(BenchConnection, UInt64)]
    /// Total messages per second over all senders; 0 = flat out.
    let rate: Double
    let window: Int
    let warmup: Double
    let duration: Double
    var synchronized = false

    /// The run's start and measurement window, decided before it starts so
    /// receivers can be told.
    static func plan(warmup: Double, duration: Double) -> (begin: UInt64, window: Window) {
        let begin = nowNanos() + 50_000_000
        return (begin, Window(start: begin + UInt64(warmup * 1e9), end: begin + UInt64((warmup + duration) * 1e9)))
    }

    func run(prefix: String, begin: UInt64, window: Window) async throws -> Result {
        let perSender = rate / Double(max(1, senders.count))
        var states: [NIOLoopBound<SenderState>] = []
        for (i, (connection, conversation)) in senders.enumerated() {
            let loop = connection.eventLoop
            // Sender i's k-th message is due at begin + (k + phase) / perSender.
            let phase = synchronized ? 0 : Double(i) / Double(senders.count)
            let windowSize = self.window
            let bound = try await loop.submit {
                let state = SenderState(connection: connection, conversation: conversation, tag: "\(prefix)\(i)-")
                state.perSender = perSender
                state.phase = phase
                state.begin = begin
                state.window = window
                state.windowSize = windowSize
                state.arm(at: state.flatOut ? begin : state.due(0))
                return NIOLoopBound(state, eventLoop: loop)
            }.get()
            states.append(bound)
        }
        // Let the run finish, then wait for outstanding acks.
        let endWait = Double(window.end - min(window.end, nowNanos())) / 1e9
        try await Task.sleep(for: .milliseconds(Int(endWait * 1000) + 20))
        var result = Result()
        let deadline = ContinuousClock.now + .seconds(15)
        for bound in states {
            while ContinuousClock.now < deadline {
                let inflight = try await bound.eventLoop.submit { bound.value.connection.handler.inflight }.get()
                if inflight == 0 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let part = try await bound.eventLoop.submit { () -> Result in
                let s = bound.value
                s.stop()
                var r = Result()
                r.acked = s.acked
                r.errors = s.errors
                r.sent = s.sent
                r.histogram = s.histogram
                return r
            }.get()
            result.acked += part.acked
            result.errors += part.errors
            result.sent += part.sent
            result.histogram.add(part.histogram)
        }
        return result
    }

    /// The sender's timer: at an offered rate, sends every message due by
    /// now and arms the timer for the next; flat out, fills the window
    /// (acks refill it from then on).
    static func fire(_ s: SenderState) {
        let now = nowNanos()
        guard now < s.window.end else { return }
        if s.flatOut {
            while s.connection.handler.inflight < s.windowSize { send(s, scheduled: now) }
            s.connection.handler.flush()
            return
        }
        var next = s.due(s.sent)
        guard next <= now else {
            s.arm(at: next)  // woken early
            return
        }
        repeat {
            send(s, scheduled: next)
            next = s.due(s.sent)
        } while next <= now
        s.connection.handler.flush()
        if next < s.window.end { s.arm(at: next) }
    }

    private static func send(_ s: SenderState, scheduled: UInt64) {
        var request = Chatd_V1_SendMessageRequest()
        request.conversationID = s.conversation
        request.clientMsgID = s.tag + String(s.sent)
        request.text = String(scheduled)
        s.sent += 1
        s.connection.handler.send(op: Op.sendMessage.rawValue, payload: request.payloadBuffer(), flush: false) { frame in
            let now = nowNanos()
            if frame.kind == .error {
                s.errors += 1
            } else if s.window.contains(scheduled) {
                s.acked += 1
                _ = s.histogram.record(now - scheduled)
            }
            // Flat out: keep the window full.
            if s.flatOut && now < s.window.end {
                send(s, scheduled: now)
                s.connection.handler.flush()
            }
        }
    }
}

/// Counts event pushes on a receiving connection; `measure` receivers also
/// decode them to record delivery latency from the scheduled send time.
final class ReceiverState {
    var deliveries = 0
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

func attachReceiver(_ connection: BenchConnection, measure: Bool, window: @escaping @Sendable () -> Window?) async throws
    -> NIOLoopBound<ReceiverState>
{
    try await connection.eventLoop.submit {
        let state = ReceiverState()
        connection.handler.onPush = { frame in
            guard frame.op == PushType.event.rawValue, let w = window() else { return }
            // Every event push arriving inside the window counts as a delivery;
            // measuring receivers also decode it for the latency.
            let now = nowNanos()
            guard w.contains(now) else { return }
            state.deliveries += 1
            guard measure, let push = try? Chatd_V1_EventPush(payload: frame.payload), push.event.kind == .message,
                let scheduled = UInt64(push.event.text)
            else { return }
            _ = state.histogram.record(now - scheduled)
        }
        return NIOLoopBound(state, eventLoop: connection.eventLoop)
    }.get()
}
