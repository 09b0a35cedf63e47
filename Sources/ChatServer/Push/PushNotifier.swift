import ChatCore
import Logging
import Synchronization

/// An HTTP POST, as the notifier needs it (async-http-client in chatd,
/// a fake in tests).
public protocol PushHTTP: Sendable {
    /// The answer's status and body (at most a few KiB kept); nil status:
    /// no answer within `timeoutMs`, or no connection. `contentEncoding`:
    /// the Content-Encoding header (`aes128gcm` for a Web Push body);
    /// `authorization`: the Authorization header (VAPID).
    func post(
        url: String, contentType: String, contentEncoding: String?, authorization: String?, body: [UInt8], timeoutMs: Int64
    ) async
        -> (status: Int?, body: [UInt8])
    /// The addresses `host` resolves to, as literals (nil: the lookup failed).
    func resolve(_ host: String) async -> [String]?
}

/// Where the notifier runs: a task executor of its own (chatd: a thread
/// at a lower CPU priority than chat traffic).
public protocol PushExecutor: TaskExecutor {
    /// Runs `body` started from a thread at normal priority: the store's
    /// reads and writes and DNS lookups hand work to threads that the push
    /// thread must not create (a new thread inherits its creator's priority).
    func offload<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T
    /// Waits without a Dispatch timer (same reason).
    func sleep(ms: Int64) async
}

/// Sends push notifications to the devices of members none of whose
/// devices is connected (spec/PROTOCOL.md §4.8).
///
/// `committed` is called with every commit, after the fan-out: a new
/// MESSAGE queues a note for each member other than the sender who has a
/// push target and is offline on every node. Only the node that committed
/// the message does so. A worker takes due notes from the `PushQueue`,
/// reads what each says now (targets, settings, counts) and POSTs it, at
/// most `concurrency` requests at a time.
public final class PushNotifier: Sendable {
    public struct Settings: Sendable, Equatable {
        public var queueMax = 10_000
        public var concurrency = 16
        public var attempts = 6
        public var timeoutMs: Int64 = 10_000
        public var minIntervalMs: Int64 = 0
        /// How long committed messages gather before the member walk turns
        /// them into notes: a busy room is walked once per window, not once
        /// per message (a phone hears of a message this much later).
        public var gatherMs: Int64 = 200

        public init() {}
    }

    private struct State: Sendable {
        var queue: PushQueue
        /// When the pending timer wakes `run` (a retry's or the interval's end).
        var timerAt: Millis?
    }

    /// What the commit path hands over, under a lock of its own: a commit
    /// never waits for the queue's work.
    private struct Inbox: Sendable {
        /// Users with at least one target (a stale entry costs one read).
        var users: Set<UserID> = []
        /// Messages committed and not yet turned into notes (by `run`, off the commit path).
        var messages: [Event] = []
        /// A gathering window is open (`messages` wait for its end), or has ended.
        var gathering = false
        var gathered = false
    }

    private let state: Mutex<State>
    private let inbox = Mutex(Inbox())
    private let settings: Settings
    private let targets: PushTargetService
    private let store: any Store
    private let hub: FanoutHub
    private let http: any PushHTTP
    private let clock: any WallClock
    private let metrics: ServerMetrics
    private let logger: Logger
    /// Where the notifier's own tasks run (chatd: a thread at a lower CPU
    /// priority); nil: the cooperative pool.
    private let executor: (any PushExecutor)?
    private var taskExecutor: (any TaskExecutor)? { executor }
    private let wakes = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// `concurrency` requests under way at most, whatever the notes: one
    /// note POSTs to each of the user's UnifiedPush devices, and counting
    /// notes let one user's many devices make that many requests at once.
    private let requests: RequestSlots
    /// Devices one note goes to at most (the most recently registered):
    /// devices per user are not limited, and each costs a request.
    public static let maxDevicesPerNote = 64

    public init(
        settings: Settings, targets: PushTargetService, store: any Store, hub: FanoutHub, http: any PushHTTP,
        clock: any WallClock, metrics: ServerMetrics, logger: Logger, executor: (any PushExecutor)? = nil
    ) {
        self.executor = executor
        self.settings = settings
        self.requests = RequestSlots(max(1, settings.concurrency))
        self.targets = targets
        self.store = store
        self.hub = hub
        self.http = http
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        state = Mutex(State(queue: PushQueue(capacity: settings.queueMax, maxAttempts: settings.attempts, minIntervalMs: settings.minIntervalMs)))
    }

    /// Loads who has targets; call before the first commit is published.
    public func load() async throws {
        let users = Set(try await store.pushTargets(user: nil).map(\.userID))
        inbox.withLock { $0.users.formUnion(users) }
    }

    /// What the queue holds now, for chatctl and tests.
    public var queued: (notes: Int, inFlight: Int, dropped: Int) {
        state.withLock { ($0.queue.notes, $0.queue.inFlight, $0.queue.dropped) }
    }

    // MARK: Commits

    /// `local`: committed by this node (another node's messages are its to announce).
    public func committed(_ changes: CommittedChanges, local: Bool) {
        for e in changes.accountEvents where e.kind == .pushTargetChanged || e.kind == .deviceRevoked {
            if e.kind == .pushTargetChanged, e.reason == PushTargetChange.setUnified.rawValue || e.reason == PushTargetChange.setGateway.rawValue {
                _ = inbox.withLock { $0.users.insert(e.userID) }
            } else {
                reload(e.userID)
            }
        }
        guard local, targets.currentRules.enabled else { return }
        // The commit path only hands the messages over (bounded like the queue).
        let messages = changes.events.filter { $0.kind == .message && !$0.deleted }
        guard !messages.isEmpty else { return }
        let (schedule, dropped) = inbox.withLock { s -> (Bool, Int) in
            guard !s.users.isEmpty else { return (false, 0) }
            let room = max(0, settings.queueMax - s.messages.count)
            s.messages += messages.prefix(room)
            let schedule = room > 0 && !s.gathering
            if schedule { s.gathering = true }
            return (schedule, messages.count - min(room, messages.count))
        }
        metrics.pushNotification("dropped", count: dropped)
        // The first message of a window wakes `run` at its end; the others join it.
        if schedule {
            Task(executorPreference: taskExecutor) {
                await self.sleep(ms: self.settings.gatherMs)
                self.inbox.withLock { $0.gathered = true }
                self.wake()
            }
        }
    }

    /// Turns the messages handed over into notes (`PushQueue.notes`) for
    /// the members who have a target and are offline on every node.
    private func expandMessages() {
        let (messages, users) = inbox.withLock { s -> ([Event], Set<UserID>) in
            guard s.gathered else { return ([], []) }
            defer { (s.messages, s.gathering, s.gathered) = ([], false, false) }
            return (s.messages, s.users)
        }
        guard !messages.isEmpty else { return }
        // A member who went offline after a conversation's latest message was
        // connected when it came (presence is asked at the window's end).
        var latestAt: [ConversationID: Millis] = [:]
        for m in messages { latestAt[m.conversationID] = max(latestAt[m.conversationID] ?? .min, m.createdAt) }
        let notes = PushQueue.notes(for: messages, includeContent: targets.currentRules.includeContent) { conversation in
            self.hub.presence.offline(
                among: self.hub.members(of: conversation).filter { users.contains($0) }, offlineBy: latestAt[conversation])
        }
        let dropped = state.withLock { s in
            var dropped = 0
            for note in notes where s.queue.add(note) == .dropped { dropped += 1 }
            return dropped
        }
        metrics.pushNotification("dropped", count: dropped)
    }

    private func reload(_ user: UserID) {
        Task(executorPreference: taskExecutor) {
            do {
                let has = try await self.offload { try await !self.store.pushTargets(user: user).isEmpty }
                _ = self.inbox.withLock { s in has ? s.users.insert(user).inserted : s.users.remove(user) != nil }
            } catch {
                self.logger.warning("could not read push targets", metadata: ["chatd.user": "\(user)", "chatd.error": "\(error)"])
            }
        }
    }

    // MARK: Sending

    /// Sends until `stop`: each round takes what is due (up to the free
    /// request slots), reads what the notes say in one read and POSTs them.
    public func run() async {
        await withTaskExecutorPreference(taskExecutor) { await self.loop() }
    }

    private func loop() async {
        for await _ in wakes.stream {
            expandMessages()
            let now = clock.nowMs()
            let (sends, timer) = state.withLock { s -> ([PushQueue.Send], Millis?) in
                let sends = s.queue.take(max: settings.concurrency - s.queue.inFlight, now: now)
                // One timer for the earliest user waiting (a later timer still wakes harmlessly).
                guard let due = s.queue.nextDueAt, s.timerAt.map({ due < $0 }) ?? true else { return (sends, nil) }
                s.timerAt = due
                return (sends, due)
            }
            if let timer {
                Task(executorPreference: taskExecutor) {
                    await self.sleep(ms: timer - self.clock.nowMs())
                    self.state.withLock { s in if s.timerAt == timer { s.timerAt = nil } }
                    self.wake()
                }
            }
            guard !sends.isEmpty else { continue }
            Task(executorPreference: taskExecutor) { await self.send(sends) }
        }
    }

    /// Ends `run`; requests under way finish (each within its timeout).
    public func stop() { wakes.continuation.finish() }

    private func wake() { wakes.continuation.yield() }

    private func send(_ sends: [PushQueue.Send]) async {
        let rules = targets.currentRules
        let now = clock.nowMs()
        let contexts: [PushContext]
        do {
            contexts = try await readContexts(sends.map(\.note), now: now, withSender: rules.includeContent)
        } catch {
            logger.warning("could not read push notifications' context", metadata: ["chatd.error": "\(error)"])
            // Nothing was sent: each note is tried again later, to the same devices.
            for send in sends { record(state.withLock { $0.queue.failedBeforeSending(send, now: now) }, failed: send.devices?.count ?? 1) }
            wake()
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for (send, context) in zip(sends, contexts) {
                group.addTask { await self.deliver(send, context, rules: rules) }
            }
        }
    }

    /// One note to the user's devices (those of a retry only).
    private func deliver(_ send: PushQueue.Send, _ context: PushContext, rules: PushRules) async {
        let now = clock.nowMs()
        // As it is when it goes out (after the gathering window, the user's
        // interval or a retry's backoff): a user connected again, or with
        // nothing unread any more (read meanwhile, or the message deleted),
        // is not told (§4.8).
        guard context.isMember, context.unread > 0, !hub.presence.offline(among: [send.note.user]).isEmpty,
            PushPolicy.notifies(context.settings, mentioned: send.note.mentioned, now: now)
        else {
            metrics.pushNotification("skipped")
            finish(send, failed: [])
            return
        }
        let devices = context.targets.filter { send.devices?.contains($0.device) ?? true }.suffix(Self.maxDevicesPerNote)
        var failed: Set<DeviceRowID> = []
        await withTaskGroup(of: [(PushTarget, PushOutcome)].self) { group in
            for target in devices where target.kind == .unifiedPush {
                group.addTask {
                    await self.requests.acquire()
                    defer { self.requests.release() }
                    if let refusal = await PushPolicy.refusal(endpoint: target.endpoint, rules: rules, resolve: self.resolve) {
                        if refusal == .failed {
                            self.logger.warning(
                                "push endpoint refused: it names or resolves to a loopback, private or link-local address",
                                metadata: ["chatd.target": "\(target.redacted)"])
                        }
                        return [(target, refusal)]
                    }
                    let json = PushPayload.unified(context, includeContent: rules.includeContent)
                    let authorization = self.targets.signer?.authorization(endpoint: target.endpoint, now: now)
                    guard target.encrypted else {
                        let answer = await self.http.post(
                            url: target.endpoint, contentType: "application/json", contentEncoding: nil,
                            authorization: authorization, body: json, timeoutMs: self.settings.timeoutMs)
                        return [(target, PushPolicy.outcome(status: answer.status))]
                    }
                    // Web Push (RFC 8291): only the device can read it.
                    guard let sealer = self.targets.sealer,
                        let body = try? sealer.seal(json, p256dh: target.p256dh, auth: target.auth)
                    else {
                        self.logger.warning("could not encrypt a push notification", metadata: ["chatd.target": "\(target.redacted)"])
                        return [(target, .failed)]
                    }
                    let answer = await self.http.post(
                        url: target.endpoint, contentType: "application/octet-stream", contentEncoding: "aes128gcm",
                        authorization: authorization, body: body, timeoutMs: self.settings.timeoutMs)
                    return [(target, PushPolicy.outcome(status: answer.status))]
                }
            }
            let viaGateway = devices.filter { $0.kind == .gateway }
            if !viaGateway.isEmpty, !rules.gatewayURL.isEmpty {
                // One request for all of the user's gateway devices; the answer lists the pushkeys it rejects.
                group.addTask {
                    await self.requests.acquire()
                    defer { self.requests.release() }
                    let body = PushPayload.gateway(context, devices: Array(viaGateway), includeContent: rules.includeContent)
                    let answer = await self.http.post(
                        url: rules.gatewayURL, contentType: "application/json", contentEncoding: nil, authorization: nil,
                        body: body, timeoutMs: self.settings.timeoutMs)
                    let rejected = (200..<300).contains(answer.status ?? 0) ? PushPayload.rejected(answer.body) : []
                    return viaGateway.map {
                        ($0, PushPolicy.outcome(status: answer.status, rejected: rejected.contains($0.pushkey), gateway: true))
                    }
                }
            }
            for await outcomes in group {
                for (target, outcome) in outcomes {
                    switch outcome {
                    case .delivered: metrics.pushNotification("sent")
                    case .retry: failed.insert(target.device)
                    case .failed: metrics.pushNotification("failed")
                    case .gone:
                        metrics.pushNotification("gone")
                        await removeGone(target)
                    }
                }
            }
        }
        finish(send, failed: failed)
    }
    private func removeGone(_ target: PushTarget) async {
        do {
            try await offload { try await self.targets.gone(target, why: "refused by its endpoint") }
            logger.info("push target removed", metadata: ["chatd.user": "\(target.userID)", "chatd.target": "\(target.redacted)"])
        } catch {
            logger.warning("could not remove a push target", metadata: ["chatd.error": "\(error)"])
        }
    }

    // MARK: Off the push thread

    private func offload<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let executor else { return try await body() }
        return try await executor.offload(body)
    }

    /// On the push thread when the store can read there without starting
    /// a thread (at its priority: a batch's reads take a few milliseconds of
    /// CPU), else from a thread at normal priority.
    private func readContexts(_ notes: [PushQueue.Note], now: Millis, withSender: Bool) async throws -> [PushContext] {
        if executor != nil, let blocking = store as? any BlockingPushReads {
            return try blocking.pushContextsBlocking(notes, now: now, withSender: withSender)
        }
        return try await offload { try await self.store.pushContexts(notes, now: now, withSender: withSender) }
    }

    private func sleep(ms: Int64) async {
        guard let executor else {
            try? await Task.sleep(for: .milliseconds(max(0, ms)))
            return
        }
        await executor.sleep(ms: ms)
    }

    private func resolve(_ host: String) async -> [String]? {
        (try? await offload { await self.http.resolve(host) }) ?? nil
    }

    private func finish(_ send: PushQueue.Send, failed: Set<DeviceRowID>) {
        let now = clock.nowMs()
        record(state.withLock { $0.queue.finished(send, failedDevices: failed, now: now) }, failed: failed.count)
        wake()
    }

    /// Counts what became of a note (`run` sets a timer for its retry).
    private func record(_ result: PushQueue.Finished, failed: Int) {
        switch result {
        case .done: break
        case .gaveUp: metrics.pushNotification("failed", count: failed)
        case .retryAt: metrics.pushNotification("retried", count: failed)
        }
    }
}

/// A counting semaphore for async tasks, first come first served.
final class RequestSlots: Sendable {
    private let state: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>

    init(_ slots: Int) { state = Mutex((slots, [])) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                guard s.free > 0 else {
                    s.waiting.append(continuation)
                    return false
                }
                s.free -= 1
                return true
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.waiting.isEmpty else {
                s.free += 1
                return nil
            }
            return s.waiting.removeFirst()
        }
        next?.resume()
    }

    /// Slots taken and tasks waiting for one (tests).
    var usage: (free: Int, waiting: Int) { state.withLock { ($0.free, $0.waiting.count) } }
}
