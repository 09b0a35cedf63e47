import ChatCore
import Dispatch
import Foundation
import GRDB
import Synchronization

/// The single writer with group commit (DESIGN §5).
///
/// Writes from every connection are queued here. One drain loop takes up to
/// `maxWrites` of them, runs each in its own savepoint inside one
/// transaction, and commits once: one fsync for the whole batch. A write
/// that fails rolls back to its savepoint and fails alone. Every caller is
/// resumed only after the commit, so an acknowledged write is durable.
///
/// Batches form by themselves under load (writes arriving during a commit
/// wait for the next one); `maxDelay` optionally holds an incomplete batch
/// open a little longer to gather more.
final class GroupCommitWriter: Sendable {
    struct Settings: Sendable, Equatable {
        var maxWrites: Int = 256
        var maxDelayMicros: Int = 0
    }

    /// A queued write. The drain thread calls `run`, then the drain thread
    /// or the publish queue `finish` (after `outbox`'s lock, when handed
    /// over), each once; nothing else touches it after it is queued.
    private protocol Pending: AnyObject, Sendable {
        /// Runs the write in a savepoint of the open transaction; returns the
        /// changes to publish if it succeeded, else its error.
        func run(_ db: Database) -> Result<CommittedChanges?, any Error>
        /// Called after the transaction ends: nil on commit, else its error.
        func finish(_ commitError: (any Error)?)
    }

    /// One object per write (before, a mutex box and two closure contexts).
    /// Unchecked: `outcome` is only touched by `run` and then `finish`, one
    /// after the other (see `Pending`).
    private final class Write<T: Sendable>: Pending, @unchecked Sendable {
        private let body: @Sendable (Database) throws -> (T, CommittedChanges?)
        private let continuation: CheckedContinuation<T, any Error>
        private var outcome: Result<T, any Error>?

        init(_ body: @escaping @Sendable (Database) throws -> (T, CommittedChanges?), _ continuation: CheckedContinuation<T, any Error>) {
            self.body = body
            self.continuation = continuation
        }

        func run(_ db: Database) -> Result<CommittedChanges?, any Error> {
            do {
                let (value, changes) = try GroupCommitWriter.inSavepoint(db) { try body(db) }
                outcome = .success(value)
                return .success(changes)
            } catch {
                outcome = .failure(error)
                return .failure(error)
            }
        }

        func finish(_ commitError: (any Error)?) {
            if let commitError {
                continuation.resume(throwing: commitError)
            } else if let outcome {
                continuation.resume(with: outcome)
            } else {
                continuation.resume(throwing: ChatFailure(.internal, "write produced no result"))
            }
        }
    }

    private struct State: Sendable {
        var queue: [any Pending] = []
        var draining = false
        var settings: Settings
        // Statistics for operators and benchmarks.
        var batches: Int = 0
        var writes: Int = 0
    }

    private let state: Mutex<State>
    let writer: any DatabaseWriter
    /// Receives committed batches' changes, in commit order, on the drain
    /// thread or the publish queue, before any of those batches' callers is
    /// resumed: one call per batch, or per run of batches that ended while
    /// the previous call ran.
    /// (Whole batches rather than a GRDB transaction observer per write:
    /// GRDB consults every registered observer before each statement, which
    /// made a batch quadratic in its size.)
    private let publisher = Mutex<Publisher?>(nil)

    final class Publisher: Sendable {
        let body: @Sendable ([CommittedChanges]) -> Void
        init(_ body: @escaping @Sendable ([CommittedChanges]) -> Void) { self.body = body }
    }

    func setPublisher(_ body: @escaping @Sendable ([CommittedChanges]) -> Void) {
        publisher.withLock { $0 = Publisher(body) }
    }

    /// Told (writes, commit duration) after each committed batch (metrics).
    private let batchObserver = Mutex<BatchObserver?>(nil)

    final class BatchObserver: Sendable {
        let body: @Sendable (Int, Duration) -> Void
        init(_ body: @escaping @Sendable (Int, Duration) -> Void) { self.body = body }
    }

    func setBatchObserver(_ body: @escaping @Sendable (Int, Duration) -> Void) {
        batchObserver.withLock { $0 = BatchObserver(body) }
    }
    /// The drain loop runs here, calling GRDB's synchronous write API: one
    /// thread hop per batch instead of a task and an async hop per batch.
    private let queue = DispatchQueue(label: "chatd.group-commit")
    /// Publishes committed batches and resumes their callers while the
    /// drain loop already runs the next batch (when writes wait for one):
    /// the writer, the one thread every write waits for, no longer spends
    /// that time on fan-out (the hub's per-connection batching) and on
    /// resuming callers. Serial and fed in commit order (`outbox`), so
    /// batches are published and answered in commit order.
    private let publishQueue = DispatchQueue(label: "chatd.group-commit.publish")

    init(writer: any DatabaseWriter, settings: Settings) {
        self.writer = writer
        state = Mutex(State(settings: settings))
    }

    func reconfigure(_ settings: Settings) { state.withLock { $0.settings = settings } }

    /// (batches committed, writes committed) since start.
    var statistics: (batches: Int, writes: Int) { state.withLock { ($0.batches, $0.writes) } }

    /// Writes waiting for the next batch.
    var queueDepth: Int { state.withLock { $0.queue.count } }

    /// Runs `body` in the next batch. `body` returns its result and the
    /// changes to publish once the batch has committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> (T, CommittedChanges?)) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pending = Write(body, continuation)
            let start = state.withLock { s -> Bool in
                s.queue.append(pending)
                if s.draining { return false }
                s.draining = true
                return true
            }
            if start { queue.async { self.drain() } }
        }
    }

    /// A write's savepoint could not be released or rolled back: its batch fails.
    struct SavepointFailure: Error {
        let error: any Error
    }

    /// Runs `body` in a savepoint of the open transaction, rolled back if
    /// it throws. (GRDB's `inSavepoint` prepares its SAVEPOINT and RELEASE
    /// statements afresh on every call, two compilations per write; these
    /// come from the statement cache, run by `directExecute`.)
    static func inSavepoint<R>(_ db: Database, _ body: () throws -> R) throws -> R {
        try db.directExecute("SAVEPOINT group_commit_write")
        let result: R
        do {
            result = try body()
        } catch {
            // When SQLite has rolled the whole transaction back (SQLITE_FULL,
            // SQLITE_IOERR...) there is no savepoint left to undo.
            if db.isInsideTransaction {
                do {
                    try db.directExecute("ROLLBACK TO SAVEPOINT group_commit_write")
                    try db.directExecute("RELEASE SAVEPOINT group_commit_write")
                } catch let rollback {
                    throw SavepointFailure(error: rollback)
                }
            }
            throw error
        }
        do {
            try db.directExecute("RELEASE SAVEPOINT group_commit_write")
        } catch {
            // Not released (the transaction ended under the write, say): its
            // changes may still be in the transaction.
            throw SavepointFailure(error: error)
        }
        return result
    }

    private func drain() {
        while true {
            var (batch, settings) = state.withLock { s -> ([any Pending], Settings) in
                let n = min(s.queue.count, s.settings.maxWrites)
                let batch = Array(s.queue.prefix(n))
                s.queue.removeFirst(n)
                if batch.isEmpty { s.draining = false }
                return (batch, s.settings)
            }
            if batch.isEmpty { return }
            if batch.count < settings.maxWrites && settings.maxDelayMicros > 0 {
                usleep(UInt32(settings.maxDelayMicros))
                let more = state.withLock { s -> [any Pending] in
                    // max(0, ...): a reload may have lowered maxWrites meanwhile.
                    let n = max(0, min(s.queue.count, s.settings.maxWrites - batch.count))
                    let taken = Array(s.queue.prefix(n))
                    s.queue.removeFirst(n)
                    return taken
                }
                batch += more
                settings = state.withLock { $0.settings }
            }
            let work = batch
            var failure: (any Error)?
            var published: [CommittedChanges] = []
            let started = ContinuousClock.now
            do {
                published = try writer.writeWithoutTransaction { db in
                    var changes: [CommittedChanges] = []
                    try db.inTransaction(.immediate) {
                        for pending in work {
                            switch pending.run(db) {
                            case .success(let c):
                                if let c, !c.isEmpty { changes.append(c) }
                            case .failure(let error):
                                // Some errors (SQLITE_FULL, SQLITE_IOERR...) make SQLite roll
                                // the whole transaction back: the batch fails with that
                                // error, and no later write may run outside a transaction.
                                // So does a savepoint that could not be released or rolled
                                // back, lest a failed write's changes be committed.
                                if let failure = error as? SavepointFailure { throw failure.error }
                                if !db.isInsideTransaction { throw error }
                            }
                        }
                        return .commit
                    }
                    return changes
                }
            } catch {
                failure = error
            }
            if failure == nil {
                state.withLock { s in
                    s.batches += 1
                    s.writes += work.count
                }
                if let observer = batchObserver.withLock({ $0 }) { observer.body(work.count, ContinuousClock.now - started) }
            }
            // With writes waiting, the drain loop goes on to the next batch at
            // once, and this one is published, and its callers resumed, on the
            // publish queue. With none, it does that itself (a thread hop
            // would only add latency and CPU), unless earlier batches are
            // still being published: they go first.
            let ended = EndedBatch(changes: published, writes: work, failure: failure)
            let writesWaiting = state.withLock { !$0.queue.isEmpty }
            let handOff = outbox.withLock { o -> HandOff in
                if o.publishing {
                    o.ended.append(ended)
                    return .queued
                }
                guard writesWaiting else { return .inline }
                o.ended.append(ended)
                o.publishing = true
                return .start
            }
            switch handOff {
            case .inline: publish([ended])
            case .start: publishQueue.async { self.publishEnded() }
            case .queued: break
            }
        }
    }

    private enum HandOff { case inline, start, queued }

    /// A batch that ended, waiting to be published and answered.
    private struct EndedBatch: Sendable {
        /// Its writes' changes (empty when it failed).
        let changes: [CommittedChanges]
        let writes: [any Pending]
        let failure: (any Error)?
    }

    private struct Outbox: Sendable {
        var ended: [EndedBatch] = []
        var publishing = false
    }

    private let outbox = Mutex(Outbox())

    /// On the publish queue: every batch that has ended, oldest first, in
    /// one call to the publisher when several are waiting (the hub then
    /// batches their pushes per connection as it would one larger batch),
    /// and then their callers, until none waits.
    private func publishEnded() {
        while true {
            let ended = outbox.withLock { o -> [EndedBatch] in
                if o.ended.isEmpty { o.publishing = false }
                defer { o.ended = [] }
                return o.ended
            }
            if ended.isEmpty { return }
            publish(ended)
        }
    }

    /// Hands `ended`'s changes to the publisher in one call, then resumes their callers.
    private func publish(_ ended: [EndedBatch]) {
        let changes = ended.count == 1 ? ended[0].changes : ended.flatMap(\.changes)
        if !changes.isEmpty, let publisher = publisher.withLock({ $0 }) { publisher.body(changes) }
        for batch in ended {
            for pending in batch.writes { pending.finish(batch.failure) }
        }
    }
}
