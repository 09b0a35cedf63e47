import ChatCore
import Foundation
import PostgresNIO
import Synchronization

/// Group commit on PostgreSQL (issue 14 item 2; SQLite's is DESIGN §5).
///
/// A node's writes queue in lanes: a write within one conversation in the
/// conversation's lane, every other write in lane 0 (PostgresStore.lane(of:)).
/// Each lane has one drain loop, on one leased connection and one thread of
/// the store's pool, which takes up to `maxWrites` of its writes, runs
/// them one after another inside one transaction, NOTIFYs what the batch
/// appended once, and commits once. A write that a rule refuses before it
/// wrote anything fails alone; one that fails after writing rolls the batch
/// back, and the batch's other writes run again in the next one (runBatch).
/// One that lost a deadlock (PostgreSQL aborted it in favour of another
/// node's transaction) goes back to the queue too, for a batch after this
/// one has released its locks. Every caller is resumed only after the
/// COMMIT, so an acknowledged write is committed.
///
/// Round trips to PostgreSQL are what a write costs most (each is a thread
/// hand-off and a loopback exchange on both sides), so a batch makes few of
/// them whatever its size: after BEGIN, one statement locks its
/// conversations' rows and reads their last seqs, one reads the snapshots
/// of all its sends (`PostgresStore.batchSendSnapshotSQL`), and the events
/// its writes append are stored together (`PGSession.deferAppend`) before
/// the next statement that could see them, at the latest before the NOTIFY
/// and the COMMIT. A send is then no round trip of its own. What the batch
/// knows (seqs, snapshots) is forgotten when a statement it does not
/// account for writes (`PGBatchState`), and a failure to store the deferred
/// events, which no single write can be blamed for, rolls the batch back to
/// run again appending statement by statement (so only the write whose row
/// PostgreSQL refuses fails).
///
/// Against one transaction per write it saves a BEGIN, a NOTIFY and a
/// COMMIT (a WAL flush) per write, and writes to one conversation no longer
/// queue on its row lock across connections: the batch holds it once.
/// A conversation's writes share a lane, so the lanes of a node lock
/// different conversation rows. Across nodes the same conversation is
/// written by every node's batches, each holding its rows until COMMIT: a
/// batch therefore locks the rows of the conversations its writes name
/// first, in ascending id order, so two nodes' batches wait for each other
/// instead of deadlocking (before, with a direct chat's two users on two
/// nodes, nearly every batch deadlocked and waited PostgreSQL's 1 s
/// deadlock_timeout). The rare write that still deadlocks is aborted by
/// PostgreSQL and runs again, as above.
final class PostgresGroupCommit: Sendable {
    /// A batch that rolls back runs its other writes again: at most 255,
    /// whatever `storage.group_commit_max_writes` says (256, its default).
    /// It was 64 while each write had a savepoint (more subtransactions slow
    /// every session's visibility checks); since a batch's statements no
    /// longer grow with its writes, a bigger batch is what carries more
    /// writes per commit when two nodes wait for each other's row locks.
    static let maxWritesPerBatch = 256

    /// A send's conversation, sender and client_msg_id (`sendSnapshotSQL`'s parameters).
    struct SendKey: Sendable {
        let conversation: ConversationID
        let sender: UserID
        let clientMsgID: String
    }

    enum Outcome: Sendable {
        /// The write succeeded; publish these after COMMIT.
        case done(CommittedChanges)
        /// It failed; its caller has the error.
        case failed
        /// It lost a deadlock or a serialization conflict: run it again in a later batch.
        case retry
    }

    struct Pending: Sendable {
        /// The conversation it writes in, when it is about one (its row is locked at the batch's start).
        let conversation: ConversationID?
        /// The send it is, when it is one (its snapshot is read with the batch's others).
        let send: SendKey?
        /// Runs the write in the batch's transaction and records its result.
        let run: @Sendable (PGSession, _ attempt: Int) -> Outcome
        /// Resumes the caller after the batch ended: nil when it committed
        /// (the write's own result or error stands), else the batch's error.
        let finish: @Sendable ((any Error)?) -> Void
        var attempt = 1
    }

    struct State: Sendable {
        var queue: [Pending] = []
        var draining = false
        var maxWrites: Int
        var maxDelayMicros: Int
    }

    let state: Mutex<State>

    init(maxWrites: Int, maxDelayMicros: Int) {
        state = Mutex(State(maxWrites: Self.batchLimit(maxWrites), maxDelayMicros: max(0, maxDelayMicros)))
    }

    static func batchLimit(_ maxWrites: Int) -> Int { min(max(1, maxWrites), maxWritesPerBatch) }

    func reconfigure(maxWrites: Int, maxDelayMicros: Int) {
        state.withLock {
            $0.maxWrites = Self.batchLimit(maxWrites)
            $0.maxDelayMicros = max(0, maxDelayMicros)
        }
    }

    /// Queues `pending`; true when no drain loop runs and the caller must start one.
    func enqueue(_ pending: Pending) -> Bool {
        state.withLock { s in
            s.queue.append(pending)
            if s.draining { return false }
            s.draining = true
            return true
        }
    }

    /// Puts writes to retry at the front, in their order (a drain loop runs).
    func requeue(_ writes: [Pending]) {
        guard !writes.isEmpty else { return }
        state.withLock { $0.queue.insert(contentsOf: writes, at: 0) }
    }

    /// The next batch, after waiting up to `maxDelayMicros` for an
    /// incomplete one to fill; empty, with the loop marked stopped, when
    /// nothing waits.
    func nextBatch() -> [Pending] {
        let (first, delay, limit) = state.withLock { s -> ([Pending], Int, Int) in
            let batch = Self.take(&s, s.maxWrites)
            if batch.isEmpty { s.draining = false }
            return (batch, s.maxDelayMicros, s.maxWrites)
        }
        guard !first.isEmpty && first.count < limit && delay > 0 else { return first }
        usleep(UInt32(min(delay, 1_000_000)))
        // max(0, ...): a reload may have lowered maxWrites meanwhile.
        return first + state.withLock { s in Self.take(&s, max(0, s.maxWrites - first.count)) }
    }

    /// Everything queued, with the loop marked stopped (the database cannot be reached).
    func takeAll() -> [Pending] {
        state.withLock { s in
            s.draining = false
            defer { s.queue = [] }
            return s.queue
        }
    }

    private static func take(_ s: inout State, _ n: Int) -> [Pending] {
        let n = min(n, s.queue.count)
        let taken = Array(s.queue.prefix(n))
        s.queue.removeFirst(n)
        return taken
    }
}

extension PostgresStore {
    /// Write lanes for a pool of `poolSize` connections: half of them, at
    /// most 4 and at most one per core, run batches in parallel; the rest
    /// serve reads. More lanes than cores only split batches (each costs its
    /// round trips and a COMMIT): on 2 cores, 2 lanes sent more (9,639 acked
    /// sends/s against 8,576 with 4) at less CPU per send, and at 1,000
    /// sends/s ack p99 was 13.8 ms against 26.3 ms (BENCHMARKS.md).
    static func laneCount(poolSize: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        min(4, max(1, min(poolSize / 2, cores)))
    }

    /// The lane of a write within `conversation`. Lane 0 also takes every
    /// write that is not about one conversation (accounts, memberships,
    /// friends, operators): those lock rows of several conversations or of
    /// users, and in one lane they cannot deadlock each other.
    func lane(of conversation: ConversationID) -> Int { Int(UInt64(bitPattern: conversation) % UInt64(lanes.count)) }

    /// Runs `body` as one write of the next batch of `lane`, its changes
    /// published after the batch commits. Lost deadlocks are retried (up to `maxAttempts`).
    func write<T: Sendable>(
        lane: Int = 0, conversation: ConversationID? = nil, send: PostgresGroupCommit.SendKey? = nil,
        _ body: @escaping @Sendable (PGSession, inout CommittedChanges) throws -> T
    ) async throws -> T {
        guard !closing.load(ordering: .acquiring) else { throw ChatFailure(.unavailable, "the database is closing") }
        writesInFlight.add(1, ordering: .relaxed)
        defer { writesInFlight.subtract(1, ordering: .relaxed) }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let result = Mutex<Result<T, any Error>?>(nil)
            let pending = PostgresGroupCommit.Pending(
                conversation: conversation, send: send,
                run: { session, attempt in
                    do {
                        var changes = CommittedChanges()
                        let value = try body(session, &changes)
                        result.withLock { $0 = .success(value) }
                        return .done(changes)
                    } catch where attempt < Self.maxAttempts && Self.isRetryable(error) {
                        return .retry
                    } catch {
                        result.withLock { $0 = .failure(Self.translate(error)) }
                        return .failed
                    }
                },
                finish: { batchError in
                    if let batchError {
                        continuation.resume(throwing: Self.translate(batchError))
                    } else if let outcome = result.withLock({ $0 }) {
                        continuation.resume(with: outcome)
                    } else {
                        continuation.resume(throwing: ChatFailure(.internal, "write produced no result"))
                    }
                })
            if lanes[lane].enqueue(pending) { startDraining(lane) }
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (PGSession) throws -> T) async throws -> T {
        try await write { session, _ in try body(session) }
    }

    static let maxAttempts = 5

    /// Starts the drain loop: batches on one leased connection until the
    /// queue is empty. A batch that failed as a whole (a lost connection)
    /// ends the lease, and the next batch gets a fresh connection; when none
    /// can be had, everything queued fails.
    private func startDraining(_ lane: Int) {
        let queue = lanes[lane]
        operations.add(1, ordering: .acquiringAndReleasing)
        Task {
            defer { operations.subtract(1, ordering: .acquiringAndReleasing) }
            let logger = self.logger
            while true {
                do {
                    try await client.withConnection { connection in
                        try await self.threads.runIfActive {
                            let session = PGSession(connection, logger: logger, prepared: self.preparedStatements)
                            var deferring = true
                            while true {
                                let batch = queue.nextBatch()
                                if batch.isEmpty { return }
                                deferring = try self.runBatch(batch, queue, session, deferring: deferring)
                            }
                        }
                    }
                    return
                } catch let error as BatchFailed {
                    // Its writes have their answer; go on with a fresh connection.
                    logger.warning("a write batch failed", metadata: ["chatd.error": "\(Self.translate(error.underlying))"])
                } catch let unknown as CommitOutcomeUnknown {
                    // Its writes wait for the answer; then on with a fresh connection.
                    await settle(unknown, queue)
                } catch {
                    for pending in queue.takeAll() { pending.finish(error) }
                    return
                }
            }
        }
    }

    /// Locks the rows of the conversations `batch` writes in, in ascending
    /// id order (see `PostgresGroupCommit`), as `standing` would one by
    /// one; the session learns their last seqs. Also answers the
    /// transaction's id and backend (nil when the batch names no conversation).
    private func lockConversations(of batch: [PostgresGroupCommit.Pending], _ s: PGSession) throws -> BatchTransaction? {
        let ids = Set(batch.compactMap(\.conversation)).sorted()
        guard !ids.isEmpty else { return nil }
        let rows = try s.rows(Self.lockConversationsSQL, [PGArray(ids.map { Optional($0) })])
        s.locked(lastSeqs: rows.map { ($0[0].int, $0[1].int) })
        return rows.first.map { BatchTransaction(xid: $0[2].int, backend: $0[3].int) }
    }

    /// The ids as one array parameter, so that every batch runs the same
    /// prepared statement. Its plan over `conversations` may be made
    /// while the table is small, as `batchSendSnapshotSQL`'s was over
    /// `events`; but conversations are created far more slowly than
    /// messages, so autovacuum's analyses (which make PostgreSQL plan it
    /// again) keep up, and planning it at each call cost each batch time
    /// in the conversations' locks (see BENCHMARKS.md, session 26).
    static let lockConversationsSQL = PGStatement(
        """
        SELECT id, last_seq, pg_current_xact_id()::text::bigint, pg_backend_pid()
        FROM conversations WHERE id = ANY(?::bigint[]) ORDER BY id FOR UPDATE
        """)

    /// A batch's transaction id and the backend running it, read before its
    /// COMMIT (`settle`); batches whose rows lock none read it apart.
    static let batchTransactionSQL = PGStatement("SELECT pg_current_xact_id()::text::bigint, pg_backend_pid()")

    /// Reads the snapshots of the batch's sends in one statement
    /// (`PostgresStore.batchSendSnapshotSQL`), for `PostgresTransaction.sendSnapshot`.
    private func prefetchSends(of batch: [PostgresGroupCommit.Pending], _ s: PGSession) throws {
        let sends = batch.compactMap(\.send)
        guard !sends.isEmpty else { return }
        let rows = try s.rows(
            Self.batchSendSnapshotSQL,
            [
                PGArray(sends.map { Optional($0.conversation) }), PGArray(sends.map { Optional($0.sender) }),
                PGArray(sends.map { Optional($0.clientMsgID) }),
            ])
        for row in rows {
            let key = Self.batchSendSnapshotKey(row)
            s.prefetched(row, conversation: key.conversation, sender: key.sender, clientMsgID: key.clientMsgID)
        }
    }

    /// A batch that failed as a whole; each of its writes has been told.
    struct BatchFailed: Error { let underlying: any Error }

    /// A batch's transaction: its id (`pg_current_xact_id`) and the
    /// process id of the backend running it.
    struct BatchTransaction: Sendable {
        let xid: Int64
        let backend: Int64
    }

    /// A batch whose COMMIT got no answer: the connection broke while it
    /// was sent or answered, so the transaction may have committed or not.
    /// None of its writes has been told; `settle` asks the database.
    struct CommitOutcomeUnknown: Error {
        let transaction: BatchTransaction
        let batch: [PostgresGroupCommit.Pending]
        let published: [CommittedChanges]
        let started: ContinuousClock.Instant
        let underlying: any Error
    }

    /// One transaction: the writes one after another, one NOTIFY, one
    /// COMMIT, then the committed writes' changes to the observer, in order.
    ///
    /// No write has a savepoint (two statements, two round trips, per
    /// write). A write that fails after only reading (`PGSession.touched`
    /// false: a rule refused it) leaves the transaction as it found it and
    /// fails alone, the batch going on. One that fails after a statement
    /// that may have written, or after a failed statement (PostgreSQL then
    /// aborts the transaction), makes the batch roll back: that write gets
    /// its error (a lost deadlock: it runs again later, up to
    /// `maxAttempts`), and every other write of the batch goes back to the
    /// front of the queue, in order, to run again in the next batch (a
    /// write's body only reads and writes through its session, so running
    /// it again is running it once). Each rollback ends one write or counts
    /// one attempt, so batches always progress.
    private func runBatch(
        _ batch: [PostgresGroupCommit.Pending], _ queue: PostgresGroupCommit, _ s: PGSession, deferring: Bool
    ) throws -> Bool {
        let started = ContinuousClock.now
        var done: [PostgresGroupCommit.Pending] = []
        var published: [CommittedChanges] = []
        var transaction: BatchTransaction?
        /// Deferred appends failed to go in: no single write is to blame,
        /// so the whole batch runs again, appending as it goes.
        func again() throws -> Bool {
            // A row another lane or node stored meanwhile (a client_msg_id
            // sent twice at once) is to be expected; anything else is worth a look.
            let error = s.batch.flushError
            let expected = error.map { Self.isRetryable($0) || (Self.translate($0) as? ChatFailure)?.kind == .conflict } ?? true
            logger.log(
                level: expected ? .debug : .warning, "a batch's deferred appends failed; it runs again without deferring",
                metadata: ["chatd.error": "\(error.map { "\(Self.translate($0))" } ?? "")"])
            try s.rollback()
            rolledBack.add(1, ordering: .relaxed)
            queue.requeue(batch)
            return false
        }
        do {
            try s.execute("BEGIN")
            s.beginBatch(deferring: deferring)
            do {
                transaction = try lockConversations(of: batch, s)
                if deferring { try prefetchSends(of: batch, s) }
            } catch where Self.isRetryable(error) {
                // Lost a deadlock before any write ran: the whole batch again
                // (a write that lost too often gets the error).
                try s.rollback()
                let (again, failing) = batch.reduce(into: ([PostgresGroupCommit.Pending](), [PostgresGroupCommit.Pending]())) {
                    if $1.attempt < Self.maxAttempts {
                        var next = $1
                        next.attempt += 1
                        $0.0.append(next)
                    } else {
                        $0.1.append($1)
                    }
                }
                queue.requeue(again)
                for pending in failing { pending.finish(error) }
                return deferring
            }
            for (index, pending) in batch.enumerated() {
                s.startWrite()
                var outcome = pending.run(s, pending.attempt)
                if s.batch.flushFailed { return try again() }
                // Its error, when not its own result's.
                var error: (any Error)?
                if case .done = outcome, s.statementFailed {
                    // It went on after a statement failed: the transaction
                    // is aborted, so it did not do what it answered.
                    error = ChatFailure(.internal, "a write went on after a statement failed")
                    outcome = .failed
                }
                switch outcome {
                case .done(let changes):
                    done.append(pending)
                    if !changes.isEmpty { published.append(changes) }
                    continue
                case .failed where !s.touched:
                    done.append(pending)
                    continue
                case .failed, .retry:
                    break
                }
                // The transaction may hold this write's changes or be aborted.
                try s.rollback()
                var again = Array(batch[..<index])
                if case .retry = outcome {
                    var next = pending
                    next.attempt += 1
                    again.append(next)
                }
                again += batch[(index + 1)...]
                rolledBack.add(1, ordering: .relaxed)
                queue.requeue(again)
                if case .failed = outcome {
                    committed.withLockedValue { $0.writes += 1 }  // answered, as a write that failed alone is
                    pending.finish(error)
                }
                return deferring
            }
            // The deferred appends and the NOTIFY in one statement when there are appends.
            let payloads = published.isEmpty ? [] : Self.notifications(CommittedChanges(merging: published), node: node)
            do {
                if try !s.flushAppends(notifying: payloads, on: Self.channel) { try announce(s, payloads) }
            } catch where s.batch.flushFailed {
                return try again()
            }
            if transaction == nil {
                transaction = try s.row(Self.batchTransactionSQL).map { BatchTransaction(xid: $0[0].int, backend: $0[1].int) }
            }
            try commitLock.withLock {
                do {
                    try commitFault.withLockedValue { $0 }?(s, false)
                    try s.execute("COMMIT")
                    try commitFault.withLockedValue { $0 }?(s, true)
                } catch where PGServerError(error).map(\.endsSession) ?? true {
                    // No answer from the server, or the session ended
                    // (FATAL): the COMMIT may have taken effect.
                    guard let transaction else { throw error }
                    throw CommitOutcomeUnknown(
                        transaction: transaction, batch: batch, published: published, started: started, underlying: error)
                }
                // PostgreSQL answers a COMMIT of an aborted transaction
                // with ROLLBACK, not an error: nobody may hear "done".
                guard s.lastCommand == "COMMIT" else {
                    throw ChatFailure(.internal, "the batch's transaction was rolled back at COMMIT (\(s.lastCommand))")
                }
                publish(published, s)
            }
        } catch let unknown as CommitOutcomeUnknown {
            // Never back to the pool open: it may still hold the transaction.
            try? s.connection.close().wait()
            throw unknown
        } catch {
            try? s.rollback()
            for pending in batch { pending.finish(error) }
            throw BatchFailed(underlying: error)
        }
        finishCommitted(done, started: started)
        return true
    }

    private func finishCommitted(_ done: [PostgresGroupCommit.Pending], started: ContinuousClock.Instant) {
        committed.withLockedValue {
            $0.batches += 1
            $0.writes += done.count
        }
        batchObserver.withLockedValue { $0 }?.body(done.count, ContinuousClock.now - started)
        for pending in done { pending.finish(nil) }
    }

    /// How long `settle` asks before it gives a batch up as unknown.
    static let settleTimeout = Duration.seconds(30)

    /// Finds out whether a batch whose COMMIT got no answer committed
    /// (`transactionStatus`, on another connection), and answers its writes
    /// accordingly, so that a broken connection costs an answer nothing:
    /// committed, its writes succeed and what it wrote is published here;
    /// aborted, they go back to the front of the queue and run again (a
    /// write's body only reads and writes through its session, so running
    /// it again is running it once; each time counts an attempt). Only
    /// when the database cannot tell within `settleTimeout` (unreachable,
    /// the old backend still busy, an id too old to know) or the store is
    /// closing do the writes fail, with `internal` (spec §9: they may have
    /// been carried out; a SendMessage retried with the same
    /// `client_msg_id` is stored at most once).
    private func settle(_ unknown: CommitOutcomeUnknown, _ queue: PostgresGroupCommit) async {
        let logger = self.logger
        let transaction = unknown.transaction
        logger.warning(
            "the connection was lost during a COMMIT; asking the database whether it committed",
            metadata: ["chatd.xid": "\(transaction.xid)", "chatd.error": "\(Self.translate(unknown.underlying))"])
        let deadline = ContinuousClock.now + Self.settleTimeout
        while ContinuousClock.now < deadline && !closing.load(ordering: .acquiring) {
            do {
                let status = try await Self.within(deadline) {
                    try await self.client.withConnection { connection in
                        try await self.threads.runIfActive { () throws -> TransactionStatus in
                            let s = PGSession(connection, logger: logger, prepared: self.preparedStatements)
                            let status = try Self.transactionStatus(transaction, s)
                            if status == .committed { self.commitLock.withLock { self.publish(unknown.published, s) } }
                            return status
                        }
                    }
                }
                switch status {
                case .committed:
                    logger.notice("the batch whose COMMIT got no answer committed", metadata: ["chatd.xid": "\(transaction.xid)"])
                    finishCommitted(unknown.batch, started: unknown.started)
                    return
                case .aborted:
                    logger.notice(
                        "the batch whose COMMIT got no answer did not commit; its writes run again",
                        metadata: ["chatd.xid": "\(transaction.xid)"])
                    rolledBack.add(1, ordering: .relaxed)
                    // Each such loss counts an attempt, so a database that
                    // keeps breaking at COMMIT does not loop for ever.
                    var again: [PostgresGroupCommit.Pending] = []
                    for var pending in unknown.batch {
                        pending.attempt += 1
                        if pending.attempt <= Self.maxAttempts { again.append(pending) } else { pending.finish(unknown.underlying) }
                    }
                    queue.requeue(again)
                    return
                case .inProgress:
                    try? await Task.sleep(for: .milliseconds(20))
                case .unknown:
                    // Too old for the commit log: nobody can tell any more.
                    logger.error("the database cannot tell whether a batch committed", metadata: ["chatd.xid": "\(transaction.xid)"])
                    finishUnknown(unknown)
                    return
                }
            } catch {
                logger.warning("cannot ask the database whether a batch committed", metadata: ["chatd.error": "\(Self.translate(error))"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        finishUnknown(unknown)
    }

    enum TransactionStatus: Sendable, Equatable {
        case committed, aborted, inProgress, unknown
    }

    /// One look at the transaction of a batch whose COMMIT got no answer.
    /// While its backend still runs it, it is in progress whatever the
    /// commit log says: a COMMIT waiting for a synchronous standby is marked
    /// committed before the standby has it, and is not done until the wait
    /// ends. A backend idle in that transaction never got the COMMIT (this
    /// end closed the connection, so it never will): it is terminated, and
    /// the transaction aborts (a backend is never terminated while it runs
    /// a statement, such as a COMMIT that waits for its flush or its standby).
    /// Once the backend has let go of it, the commit log's answer is final.
    static func transactionStatus(_ t: BatchTransaction, _ s: PGSession) throws -> TransactionStatus {
        let xid = String(t.xid)
        // pg_stat_activity's backend_xid is the 32-bit xid, without the epoch.
        let shortXID = String(t.xid & 0xFFFF_FFFF)
        let row = try s.row(
            """
            SELECT pg_xact_status(?::text::xid8),
                   (SELECT state FROM pg_stat_activity WHERE pid = ? AND backend_xid::text = ?)
            """, [xid, t.backend, shortXID])
        if let state = row?[1].textOrNil {
            if state.hasPrefix("idle in transaction") {
                // Matched again in the statement itself: that pid may have gone and been reused.
                _ = try? s.rows(
                    """
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE pid = ? AND backend_xid::text = ? AND state LIKE 'idle in transaction%'
                    """, [t.backend, shortXID])
            }
            return .inProgress
        }
        switch row?[0].textOrNil {
        case "committed": return .committed
        case "aborted": return .aborted
        case "in progress": return .inProgress
        default: return .unknown
        }
    }

    struct SettleTimedOut: Error, CustomStringConvertible {
        var description: String { "no answer before the deadline" }
    }

    /// `body`'s result, or `SettleTimedOut` at `deadline` (a pool waiting
    /// for a connection to a database that does not answer).
    static func within<T: Sendable>(
        _ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                throw SettleTimedOut()
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw SettleTimedOut() }
            return first
        }
    }

    private func finishUnknown(_ unknown: CommitOutcomeUnknown) {
        let failure = ChatFailure(
            .internal, "the connection to the database broke during a COMMIT, and whether it committed is unknown")
        for pending in unknown.batch { pending.finish(failure) }
    }
}

extension CommittedChanges {
    /// The changes of several writes of one transaction, in order (one NOTIFY for a batch).
    init(merging all: [CommittedChanges]) {
        self.init()
        for c in all {
            events += c.events
            accountEvents += c.accountEvents
            deletedConversations += c.deletedConversations
            contactsAdded += c.contactsAdded
            contactsRemoved += c.contactsRemoved
        }
    }
}
