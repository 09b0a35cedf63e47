import ChatCore
import Dispatch
import Foundation
import GRDB
import Synchronization

/// How a search index stands, for operators (Stats' `search_index`, the
/// log, the metrics): `current`, it follows the messages within a round;
/// `rebuilding` until the comparison at start has finished (a new or
/// distrusted file is filled from the messages then); `failing` while its
/// rounds fail (each retried a second later; searches wait meanwhile).
public enum SearchIndexState: Sendable, Equatable, CustomStringConvertible {
    case current
    case rebuilding
    case failing(String)

    /// As Stats and the log say it: "current", "rebuilding", "failing: <why>".
    public var description: String {
        switch self {
        case .current: "current"
        case .rebuilding: "rebuilding"
        case .failing(let why): "failing: \(why)"
        }
    }
}

/// The full-text index of message text, kept off the group-commit writer.
///
/// A send's transaction writes no index rows: the index is a database of
/// its own (`search`), written by this indexer's thread in transactions of
/// its own. On a file store it is a file beside the database
/// (`searchPath(for:)`), written with `synchronous = OFF`, since it can
/// always be rebuilt from `events`; each reader connection attaches it.
/// In memory it is an attached in-memory database on the store's one
/// connection.
///
/// The index follows `events` per conversation: `search_progress` records,
/// for each conversation, the last seq and purge point it has taken in.
/// After each committed batch the store names the conversations the batch
/// touched (`committed`); a round of the indexer, `roundInterval` later (at
/// once when a search waits), reads what lies between each one's recorded
/// seq and its `last_seq`, in one transaction that reads the main database
/// and writes only `search`:
/// - new messages get a document, whose id follows the message's time
///   (`addDocuments`), so descending rowid order is newest-first order
///   across conversations, which FTS5 walks without sorting, whatever
///   order the messages were indexed in;
/// - `message_edited` and `message_deleted` events re-index their target
///   (an edit keeps the message's id);
/// - a raised `purged_seq` (retention, deleted history) drops the purged
///   documents; a conversation that is gone drops all of its own.
/// A round reads about `roundBudget` events, or drops as many documents,
/// at most; what it leaves (a rebuild, a backlog after the index failed
/// for a while, a large conversation deleted or purged) is the next
/// round's, at once, so no transaction of the indexer's grows with the
/// history. What is recorded is compared with every conversation at start
/// (`sweepSlice` at a time), and with the next `periodicSlice`
/// conversations every `sweepInterval`, so nothing depends on being told:
/// not a crash between a commit and its round, not a restored database.
///
/// A search first waits for the rounds that cover every batch committed
/// before it (`caughtUp`), so it sees every stored message, as when the
/// index was kept by triggers in the send's transaction. A purge announces
/// its conversation (`touched`), so a later search waits for the round that
/// drops the purged documents.
///
/// Why not in the send's transaction: at 10,000 sends/s the rows the index
/// added to each send (its document row, a unique index, the AUTOINCREMENT
/// sequence, the FTS5 row) made the writer's commits long enough to miss the
/// 10 ms ack p99 (BENCHMARKS.md). Here a round costs about 4 ms of one
/// thread per 500 messages, beside the writer rather than in it.
final class SearchIndexer: Sendable {
    /// How long announced changes wait for their round unless a search
    /// waits for them: a round has a cost of its own (two databases'
    /// transactions, a commit of the index's), paid then once for the
    /// batches of that time rather than per batch.
    static let roundInterval: DispatchTimeInterval = .milliseconds(50)
    /// How long the index must have been left alone before `tidy` merges
    /// its segments, and the pause between two of its steps.
    static let tidyAfter: Duration = .seconds(1)
    static let tidyPause: Duration = .milliseconds(20)
    /// Pages of FTS5 segment merging per tidy step (4 KiB each).
    static let tidyPages = 256
    /// How often a full comparison runs when nothing else asks for it.
    static let sweepInterval: DispatchTimeInterval = .seconds(30)
    /// How many conversations (by id) one of those comparisons covers, the
    /// next one going on after them: a comparison of a million takes about
    /// 0.55 s, which the rounds behind it (and searches) would wait for.
    static let periodicSlice = 100_000
    /// How many conversations a round of the comparison at start covers,
    /// its rounds following one another at once: smaller, since while the
    /// index is rebuilt each round compares its slice again from where the
    /// budget stopped the last.
    static let sweepSlice = 10_000
    /// How many events (about: seqs) a round reads at most, about 70 ms of
    /// the indexer's thread: a rebuild, or catching up after the index
    /// failed for a while, goes in rounds of its own transactions, so the
    /// database's write-ahead log can be started over between them and a
    /// stop waits for one round at most. What a round leaves is the next
    /// one's, at once.
    static let roundBudget = 20_000
    /// Conversations a round reads at a time from those it compared.
    static let todoPage = 1_000
    /// How long a search waits for the index before answering `unavailable`,
    /// and the retry_after_ms it gives then.
    static let catchUpTimeout: Duration = .seconds(5)
    static let retryAfterMs: Int64 = 2_000

    /// The search file beside the database at `databasePath`.
    static func searchPath(for databasePath: String) -> String {
        (databasePath as NSString).deletingPathExtension + "-search.sqlite3"
    }

    /// The index's tables, in the attached schema `search`.
    static let schema = """
        CREATE TABLE IF NOT EXISTS search.search_docs (
          id INTEGER PRIMARY KEY,  -- created_at's second × 2^24 + place in that second (addDocuments)
          conversation_id INTEGER NOT NULL,
          seq INTEGER NOT NULL,
          UNIQUE (conversation_id, seq)
        );
        CREATE VIRTUAL TABLE IF NOT EXISTS search.message_search USING fts5(
          text, tokenize = 'unicode61 remove_diacritics 2');
        -- tidy() merges as few as two segments of a level (FTS5's default is four).
        INSERT INTO search.message_search (message_search, rank) VALUES ('usermerge', 2);
        -- What the index has taken in of each conversation.
        CREATE TABLE IF NOT EXISTS search.search_progress (
          conversation_id INTEGER PRIMARY KEY,
          created_at INTEGER NOT NULL,
          indexed_seq INTEGER NOT NULL,
          purged_seq INTEGER NOT NULL
        );
        -- clean: '1' after a clean close; boot: the kernel's boot id when last opened.
        CREATE TABLE IF NOT EXISTS search.search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """

    /// The connection the indexer writes through: its own (a file store),
    /// or the store's only one (in memory).
    private let connection: any DatabaseWriter
    /// Whether `connection` is the indexer's own (closed with it).
    private let ownsConnection: Bool
    /// The search file (nil in memory), synced by `close`.
    private let path: String?
    private let queue = DispatchQueue(label: "chatd.search-index")

    private struct Waiter {
        let generation: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        /// Conversations touched since the last round took them.
        var touched: Set<Int64> = []
        /// While a comparison of every conversation goes on (from the
        /// start, or `sweepNow`): where its next slice begins (an id; 0:
        /// the first). Nil when none does.
        var sweepAfter: Int64? = 0
        /// Whether the next round compares the periodic slice after
        /// `sliceAfter` (0: from the first).
        var slice = false
        var sliceAfter: Int64 = 0
        /// Batches announced, and the last announced one a finished round covers.
        var announced: UInt64 = 0
        var indexed: UInt64 = 0
        /// Whether a full comparison has finished (the first one catches
        /// up with what was stored before this start).
        var swept = false
        /// Whether a round is due at the timer (`roundInterval`).
        var timerArmed = false
        /// When something was last announced, whether rounds have written
        /// since the last tidy finished, and whether a tidy step is due.
        var lastAnnounced = ContinuousClock.now
        var untidy = false
        var tidyArmed = false
        var closed = false
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiter: UInt64 = 0
        /// The last round's error, cleared by the next round that succeeds.
        var failure: String?
        /// Messages a round takes in at most (`roundBudget`; tests lower it),
        /// and the rounds that succeeded.
        var budget = SearchIndexer.roundBudget
        var rounds = 0
    }

    private let state = Mutex(State())

    /// In memory: the index lives in an in-memory database attached to the
    /// store's one connection, written through it.
    static func inMemory(_ queue: DatabaseQueue) throws -> SearchIndexer {
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ':memory:' AS search")
            try db.execute(sql: schema)
        }
        return SearchIndexer(connection: queue, ownsConnection: false, path: nil)
    }

    /// A file store: the indexer's own connection to the database, with the
    /// search file (made ready by `prepareFile`) attached.
    static func file(databasePath: String, searchPath: String) throws -> SearchIndexer {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            try db.execute(sql: "ATTACH DATABASE ? AS search", arguments: [searchPath])
            try db.execute(sql: "PRAGMA search.synchronous = OFF")
        }
        let connection = try DatabaseQueue(path: databasePath, configuration: config)
        return SearchIndexer(connection: connection, ownsConnection: true, path: searchPath)
    }

    private init(connection: any DatabaseWriter, ownsConnection: Bool, path: String?) {
        self.connection = connection
        self.ownsConnection = ownsConnection
        self.path = path
        // The first rounds compare every conversation (`State.sweepAfter`).
        queue.async { self.round() }
        scheduleSweep()
    }

    /// Makes the search file ready to be trusted or rebuilt from nothing.
    ///
    /// It is written without fsync, so a crash of chatd alone loses nothing
    /// the operating system was given, but a power failure or kernel crash
    /// can leave it torn. It is kept when it was closed cleanly, or when the
    /// machine has not restarted since it was opened (the kernel's boot id
    /// is unchanged); otherwise, or when it cannot be read, it is removed
    /// and the first round rebuilds it. The new state is then written with
    /// a sync, before any unsynced write.
    ///
    /// Also rebuilt: a file whose `format` is not this code's (an earlier
    /// or a later chatd's), and one a round found damaged (`rebuildMarker`).
    static func prepareFile(_ path: String) throws {
        let boot = currentBootID()
        let marker = rebuildMarker(path)
        func open() throws -> DatabaseQueue {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in
                try db.execute(sql: "ATTACH DATABASE ? AS search", arguments: [path])
            }
            return try DatabaseQueue(configuration: config)
        }
        var trusted = false
        if FileManager.default.fileExists(atPath: path), !FileManager.default.fileExists(atPath: marker) {
            do {
                let q = try open()
                trusted = try q.read { db -> Bool in
                    guard try db.tableExists("search_meta", in: "search") else { return false }
                    // Read leniently: a file that is not what this code wrote is
                    // rebuilt, never trusted (nor a reason to stop).
                    func value(_ key: String) throws -> String? {
                        try String.fetchOne(
                            db, sql: "SELECT CAST(value AS TEXT) FROM search.search_meta WHERE key = ?", arguments: [key])
                    }
                    guard try (value("format") ?? "1") == format else { return false }
                    return try value("clean") == "1" || (boot != nil && value("boot") == boot)
                }
                try q.close()
            } catch {
                trusted = false
            }
        }
        if !trusted {
            // A file that stays would be stamped with this boot and trusted
            // next time: not removing it stops the open.
            for suffix in ["", "-wal", "-shm", "-journal"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.removeItem(atPath: path + suffix)
            }
            if FileManager.default.fileExists(atPath: marker) { try FileManager.default.removeItem(atPath: marker) }
        }
        let q = try open()
        try q.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA search.journal_mode = WAL")
            try db.execute(sql: "PRAGMA search.synchronous = FULL")
            try db.execute(sql: schema)
            try db.execute(
                sql: "INSERT OR REPLACE INTO search.search_meta (key, value) VALUES ('clean', '0'), ('boot', ?), ('format', ?)",
                arguments: [boot ?? "", format])
        }
        try q.close()
    }

    /// The layout of the search file this code writes; a file of another
    /// is rebuilt. (Files from before the key have layout 1, whose ids grew
    /// with insertion; layout 2's follow time.)
    static let format = "2"

    /// A file beside the search file at `path` that says a round found it
    /// damaged: the next start rebuilds it. A damaged file cannot be
    /// rebuilt in place while the store's readers have it attached.
    static func rebuildMarker(_ path: String) -> String { path + ".rebuild" }

    /// fsync of the file at `path`; false when it fails.
    static func sync(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { _ = Glibc.close(fd) }
        return fsync(fd) == 0
    }

    /// The kernel's boot id (Linux), which changes with every boot.
    static func currentBootID() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    // MARK: Being told

    /// Called with each committed run of batches, before their callers are
    /// resumed: a search that starts after a write was acknowledged waits
    /// for the round that covers it.
    func committed(_ changes: [CommittedChanges]) {
        var ids: Set<Int64> = []
        for c in changes {
            for e in c.events { ids.insert(e.conversationID) }
            for (conversation, _) in c.deletedConversations { ids.insert(conversation) }
        }
        if !ids.isEmpty { touched(ids) }
    }

    /// Conversations whose events changed outside `committed` (purges).
    func touched(_ conversations: Set<Int64>) {
        let now = ContinuousClock.now
        let arm = state.withLock { s -> Bool in
            s.touched.formUnion(conversations)
            s.announced += 1
            s.lastAnnounced = now
            return Self.arm(&s)
        }
        if arm { armTimer(after: Self.roundInterval) }
    }

    /// Whether to arm the round timer (not when it is armed already).
    private static func arm(_ s: inout State) -> Bool {
        guard !s.timerArmed, !s.closed else { return false }
        s.timerArmed = true
        return true
    }

    private func armTimer(after delay: DispatchTimeInterval) {
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in self?.round() }
    }

    /// Runs a full comparison now and waits for it (tests).
    func sweepNow() async throws {
        requestSweep()
        try await caughtUp()
    }

    /// Asks for a full comparison without waiting for it (tests).
    func requestSweep() {
        state.withLock { s in
            s.sweepAfter = 0
            s.swept = false
            s.announced += 1
        }
    }

    private func scheduleSweep() {
        queue.asyncAfter(deadline: .now() + Self.sweepInterval) { [weak self] in
            guard let self else { return }
            self.state.withLock { $0.slice = true }
            self.round()
            if !self.state.withLock({ $0.closed }) { self.scheduleSweep() }
        }
    }

    /// Waits until every batch committed before the call is in the index.
    /// Throws `unavailable` after `timeout` (a long rebuild, or a failing
    /// search file).
    func caughtUp(within timeout: Duration = SearchIndexer.catchUpTimeout) async throws {
        let (target, id) = state.withLock { s -> (UInt64, UInt64) in
            s.nextWaiter += 1
            return (s.announced, s.nextWaiter)
        }
        if state.withLock({ $0.swept && $0.indexed >= target }) { return }
        // On a Dispatch thread, not a task's sleep: the wait ends on time
        // even when the tasks' threads are all busy (in CI a 200 ms wait
        // seemingly did not end during a rebuild of several seconds:
        // SearchIndexTests.aWaitWhileProgressingOutlastsARebuild).
        let timer = DispatchWorkItem { [weak self] in self?.resume(waiter: id, with: false) }
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .milliseconds(Int(timeout / .milliseconds(1))), execute: timer)
        defer { timer.cancel() }
        let done = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { s -> Bool? in
                if s.swept && s.indexed >= target { return true }
                if s.closed { return false }
                s.waiters[id] = Waiter(generation: target, continuation: c)
                return nil
            }
            if let now {
                c.resume(returning: now)
            } else if state.withLock({ $0.failure == nil }) {
                // A round at once rather than at the timer (a failing one
                // is retried at its own pace, not once per search).
                queue.async { self.round() }
            }
        }
        guard done else {
            // Why it fails is the operator's (`status`), not the client's.
            let failing = state.withLock { $0.failure != nil }
            throw ChatFailure(
                .unavailable,
                "the search index is " + (failing ? "failing" : "still catching up") + "; try again shortly",
                retryAfterMs: Self.retryAfterMs)
        }
    }

    /// Waits as `caughtUp` does, for as long as the index keeps completing
    /// rounds: a rebuild takes about 10 s a million messages, far longer
    /// than a search waits, and `chatd migrate`, which copies the index,
    /// must wait for it (the first open of a search file of an earlier
    /// layout rebuilds it). Gives up, throwing `caughtUp`'s `unavailable`,
    /// when a wait of `patience` saw no round succeed or the index is
    /// failing. `waiting` is told the rounds done so far after each wait
    /// that ended with the index still behind.
    func caughtUpWhileProgressing(
        patience: Duration = SearchIndexer.catchUpTimeout, waiting: (Int) -> Void = { _ in }
    ) async throws {
        while true {
            let before = roundsDone
            do {
                try await caughtUp(within: patience)
                return
            } catch {
                if case .failing = status { throw error }
                let after = roundsDone
                if after == before { throw error }
                waiting(after)
            }
        }
    }

    /// Lowers the round budget (tests), and the rounds that succeeded so far.
    func setRoundBudget(_ budget: Int) { state.withLock { $0.budget = max(1, budget) } }
    var roundsDone: Int { state.withLock { $0.rounds } }

    /// How the index stands, for operators.
    var status: SearchIndexState {
        state.withLock { s in
            if let failure = s.failure { return .failing(failure) }
            return s.swept ? .current : .rebuilding
        }
    }

    private func resume(waiter id: UInt64, with value: Bool) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume(returning: value)
    }

    // MARK: Rounds

    /// On `queue`: takes what was announced and brings the index in step.
    private func round() {
        let taken = state.withLock {
            s -> (ids: Set<Int64>, slice: (after: Int64, count: Int)?, sweeping: Bool, budget: Int, generation: UInt64)? in
            s.timerArmed = false
            if s.closed || (s.touched.isEmpty && s.sweepAfter == nil && !s.slice) { return nil }
            defer {
                s.touched = []
                s.slice = false
            }
            // The comparison at start goes on in slices, and covers the
            // periodic one meanwhile.
            let slice: (Int64, Int)? =
                if let after = s.sweepAfter { (after, Self.sweepSlice) } else if s.slice { (s.sliceAfter, Self.periodicSlice) } else { nil }
            return (s.touched, slice, s.sweepAfter != nil, s.budget, s.announced)
        }
        guard let (ids, slice, sweeping, budget, generation) = taken else { return }
        do {
            let step = try connection.writeWithoutTransaction { db -> Step in
                var step = Step()
                try db.inTransaction(.deferred) {
                    step = try Self.bringInStep(db, ids, slice: slice, budget: budget)
                    return .commit
                }
                return step
            }
            let (ready, tidy, again) = state.withLock { s -> ([Waiter], Bool, Bool) in
                s.rounds += 1
                s.failure = nil
                // What the budget left of the announced conversations is the
                // next round's, and the batches are covered only after it.
                let rest = step.unfinished.map { first in ids.filter { $0 >= first } } ?? []
                var again = !rest.isEmpty
                if rest.isEmpty {
                    s.indexed = max(s.indexed, generation)
                } else {
                    s.touched.formUnion(rest)
                }
                if let next = step.next {
                    if !sweeping {
                        s.sliceAfter = next
                    } else if step.reachedEnd {
                        s.sweepAfter = nil
                        s.swept = true
                    } else {
                        s.sweepAfter = next
                        again = true
                    }
                }
                s.untidy = true
                let tidy = !s.tidyArmed
                s.tidyArmed = true
                guard s.swept else { return ([], tidy, again) }
                let ready = s.waiters.filter { $0.value.generation <= s.indexed }
                for id in ready.keys { s.waiters.removeValue(forKey: id) }
                return (Array(ready.values), tidy, again)
            }
            for w in ready { w.continuation.resume(returning: true) }
            if tidy { armTidy(after: Self.tidyAfter) }
            if again { queue.async { self.round() } }
        } catch {
            // Retried a second later; searches wait meanwhile. A damaged
            // file fails every round: marked for a rebuild at the next start.
            var damaged = false
            if let path, let code = (error as? DatabaseError)?.resultCode, code == .SQLITE_CORRUPT || code == .SQLITE_NOTADB {
                damaged = FileManager.default.createFile(atPath: Self.rebuildMarker(path), contents: Data())
            }
            let arm = state.withLock { s -> Bool in
                s.failure = Self.describe(error) + (damaged ? "; rebuilt from the messages at the next start" : "")
                s.touched.formUnion(ids)
                if slice != nil, !sweeping { s.slice = true }
                return Self.arm(&s)
            }
            if arm { armTimer(after: .seconds(1)) }
        }
    }

    /// A failed round's error in a line: SQLite's code and message, without
    /// the statement (GRDB's description quotes it whole).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return "SQLite error \(error.extendedResultCode.rawValue): \(error.message ?? "\(error.resultCode)")"
    }

    /// On `queue`, once the index has been left alone for `tidyAfter`:
    /// merges its segments, a bounded step at a time, until FTS5 finds
    /// nothing to merge. Each round adds a segment, and FTS5's own merging
    /// (a little per write) leaves many: 19 after 100,000 messages in
    /// rounds, where a query reads every one. A page's snippets for three
    /// common words took 11 ms there against 0.4 ms on one segment.
    /// `usermerge` 2 merges pairs of a level, so a big index is not
    /// rewritten whole each time; under steady load this never runs, and
    /// FTS5's merging does as before.
    private func tidy() {
        enum Next { case stop, later, step }
        let next = state.withLock { s -> Next in
            guard !s.closed, s.untidy else {
                s.tidyArmed = false
                return .stop
            }
            let quiet = ContinuousClock.now - s.lastAnnounced >= Self.tidyAfter
            return quiet && s.touched.isEmpty ? .step : .later
        }
        switch next {
        case .stop:
            return
        case .later:
            armTidy(after: Self.tidyAfter)
            return
        case .step:
            break
        }
        var merged = false
        do {
            try connection.writeWithoutTransaction { db in
                let before = db.totalChangesCount
                try db.inTransaction(.deferred) {
                    try db.execute(
                        sql: "INSERT INTO search.message_search (message_search, rank) VALUES ('merge', ?)",
                        arguments: [Self.tidyPages])
                    return .commit
                }
                // The command itself counts as one change.
                merged = db.totalChangesCount - before > 1
            }
        } catch {
            merged = false  // tried again after the next round that writes
        }
        if merged {
            armTidy(after: Self.tidyPause)
        } else {
            state.withLock { s in
                s.untidy = false
                s.tidyArmed = false
            }
        }
    }

    private func armTidy(after delay: Duration) {
        let ms = Int(delay / .milliseconds(1))
        queue.asyncAfter(deadline: .now() + .milliseconds(ms)) { [weak self] in self?.tidy() }
    }

    /// What a round did: where the next slice begins (an id; 0: from the
    /// first; nil without a slice), whether the slice was done through the
    /// last conversation, and the first conversation (by id) the budget
    /// left undone or partly done (nil: none), from which the next round
    /// goes on.
    struct Step: Equatable {
        var next: Int64?
        var reachedEnd = false
        var unfinished: Int64?
    }

    /// Brings the index in step with the conversations `ids`, and with those
    /// of the `slice.count` conversations after id `slice.after` whose state
    /// differs or that are gone, in conversation order, inside one
    /// transaction that writes only `search`, until about `budget` events
    /// (seqs) are read or documents dropped: a conversation further behind
    /// is taken in up to there (its progress says how far), one with more
    /// to drop keeps its record until the drop is done, and the rest is
    /// left (`Step.unfinished`).
    static func bringInStep(
        _ db: Database, _ ids: Set<Int64>, slice: (after: Int64, count: Int)? = nil, budget: Int = roundBudget
    ) throws -> Step {
        // Statements through the cache: a live round runs every 50 ms or
        // so, and compiling is much of a small round's cost.
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM sqlite_temp_master WHERE name = 'search_seconds'")) == nil {
            try db.execute(
                sql: """
                    CREATE TEMP TABLE IF NOT EXISTS search_todo (conversation_id INTEGER PRIMARY KEY);
                    CREATE TEMP TABLE IF NOT EXISTS search_ranges (
                      conversation_id INTEGER PRIMARY KEY, after INTEGER NOT NULL, through INTEGER NOT NULL);
                    CREATE TEMP TABLE IF NOT EXISTS search_new (
                      id INTEGER NOT NULL, conversation_id INTEGER NOT NULL, seq INTEGER NOT NULL);
                    CREATE TEMP TABLE IF NOT EXISTS search_seconds (second INTEGER PRIMARY KEY, start INTEGER NOT NULL);
                    """)
        }
        try db.cachedExecute(sql: "DELETE FROM temp.search_todo")
        try db.cachedExecute(sql: "DELETE FROM temp.search_ranges")
        for id in ids {
            try db.cachedExecute(sql: "INSERT OR IGNORE INTO temp.search_todo (conversation_id) VALUES (?)", arguments: [id])
        }
        // The slice's last id; none when fewer are left: on to the end,
        // and the next slice starts over from the first.
        var last: Int64?
        if let slice {
            last = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT id FROM main.conversations WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?"),
                arguments: [slice.after, max(0, slice.count - 1)])
            let through = last ?? Int64.max
            // Those whose recorded state differs, and the recorded ones that are gone.
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO temp.search_todo (conversation_id)
                      SELECT c.id FROM main.conversations c
                      WHERE c.id > ? AND c.id <= ? AND NOT EXISTS (SELECT 1 FROM search.search_progress p
                        WHERE p.conversation_id = c.id AND p.created_at = c.created_at
                          AND p.indexed_seq = c.last_seq AND p.purged_seq = c.purged_seq);
                    INSERT OR IGNORE INTO temp.search_todo (conversation_id)
                      SELECT p.conversation_id FROM search.search_progress p
                      WHERE p.conversation_id > ? AND p.conversation_id <= ?
                        AND NOT EXISTS (SELECT 1 FROM main.conversations c WHERE c.id = p.conversation_id);
                    """,
                arguments: [slice.after, through, slice.after, through])
        }
        // In pages, so that a round the budget stops early (a rebuild takes
        // a few hundred conversations a round) does not read the slice's
        // thousands of rows each time.
        var left = Int64(max(1, budget))
        var unfinished: Int64?
        var seen = Int64.min
        pages: while true {
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT t.conversation_id, c.id IS NOT NULL, c.created_at, c.last_seq, c.purged_seq,
                      p.conversation_id IS NOT NULL, p.created_at, p.indexed_seq, p.purged_seq
                    FROM temp.search_todo t
                    LEFT JOIN main.conversations c ON c.id = t.conversation_id
                    LEFT JOIN search.search_progress p ON p.conversation_id = t.conversation_id
                    WHERE t.conversation_id > ? ORDER BY t.conversation_id LIMIT \(todoPage)
                    """), arguments: [seen])
            for row in rows {
                let id: Int64 = row[0]
                seen = id
                // A drop counts against the budget too, a document for an
                // event: a conversation of millions deleted at once goes in
                // rounds. What a round could not drop, the next one goes on
                // with: until the drop is done, the conversation's record
                // still says it holds documents.
                if left <= 0 {
                    unfinished = id
                    break pages
                }
                guard row[1] as Bool else {
                    guard try drop(db, id, through: nil, within: &left) else {
                        unfinished = id
                        break pages
                    }
                    try db.cachedExecute(sql: "DELETE FROM search.search_progress WHERE conversation_id = ?", arguments: [id])
                    continue
                }
                let (createdAt, last, purged): (Int64, Int64, Int64) = (row[2], row[3], row[4])
                var after = purged
                if row[5] as Bool {
                    let (recordedCreatedAt, indexed, recordedPurged): (Int64?, Int64?, Int64?) = (row[6], row[7], row[8])
                    if let recordedCreatedAt, let indexed, let recordedPurged,
                        recordedCreatedAt == createdAt, indexed <= last, recordedPurged <= purged
                    {
                        if purged > recordedPurged, try !drop(db, id, through: purged, within: &left) {
                            unfinished = id
                            break pages
                        }
                        after = max(indexed, purged)
                    } else if try !drop(db, id, through: nil, within: &left) {
                        // Not the conversation the index knew (a restored database,
                        // or a record with NULLs in a damaged file): start it over.
                        unfinished = id
                        break pages
                    }
                }
                var through = last
                if after < last {
                    let span = last.subtractingReportingOverflow(after)  // a damaged row is not a trap
                    if span.overflow || span.partialValue > left {
                        through = after + left
                        unfinished = id
                    }
                    left -= through - after
                    try db.cachedExecute(
                        sql: "INSERT INTO temp.search_ranges (conversation_id, after, through) VALUES (?, ?, ?)",
                        arguments: [id, after, through])
                }
                try db.cachedExecute(
                    sql: """
                        INSERT OR REPLACE INTO search.search_progress (conversation_id, created_at, indexed_seq, purged_seq)
                        VALUES (?, ?, ?, ?)
                        """,
                    arguments: [id, createdAt, through, purged])
                if unfinished != nil { break pages }
            }
            if rows.count < todoPage { break }
        }

        // Edits and deletions of messages indexed before: their documents
        // take the text the message has now (messages new in this round are
        // read as they are now below). CROSS JOIN keeps the ranges the outer
        // loop here and below: SQLite, without statistics on the temporary
        // table, chose to scan all of events and look each row up in it.
        let targets = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT DISTINCT e.conversation_id, e.target_seq FROM temp.search_ranges r
                CROSS JOIN main.events e ON e.conversation_id = r.conversation_id AND e.seq > r.after AND e.seq <= r.through
                WHERE e.kind IN ('message_edited', 'message_deleted') AND e.target_seq <= r.after
                """))
        for target in targets { try reindex(db, conversation: target[0], seq: target[1]) }

        try addDocuments(db,
            from: """
                SELECT e.conversation_id, e.seq, e.created_at FROM temp.search_ranges r
                CROSS JOIN main.events e ON e.conversation_id = r.conversation_id AND e.seq > r.after AND e.seq <= r.through
                WHERE \(searchable("e")) AND NOT EXISTS (SELECT 1 FROM search.search_docs x
                  WHERE x.conversation_id = e.conversation_id AND x.seq = e.seq)
                """)

        var step = Step(unfinished: unfinished)
        if let slice {
            // Where the budget stopped inside the slice, the next one goes on
            // from there (an announced conversation beyond it does not hold
            // it back).
            if let unfinished, unfinished > slice.after, unfinished <= last ?? Int64.max {
                step.next = unfinished - 1
            } else if let unfinished, unfinished <= slice.after {
                step.next = slice.after
            } else {
                step.next = last ?? 0
                step.reachedEnd = last == nil
            }
        }
        return step
    }

    /// The terms under which an event row `e` has a document.
    static func searchable(_ e: String) -> String {
        "\(e).kind = 'message' AND \(e).deleted = 0 AND \(e).text IS NOT NULL AND \(e).text != ''"
    }

    /// A document id's bits below its second: ids are `created_at`'s
    /// second (kept within 1 ... 2^38) × 2^24, plus the document's place
    /// among that second's.
    static let idShift: Int64 = 1 << 24
    static let lastSecond: Int64 = 1 << 38

    /// Gives the events `source` selects (conversation_id, seq, created_at:
    /// searchable, without a document) documents and FTS rows.
    ///
    /// A document's id follows its message's time (`idShift`), not when it
    /// was indexed: descending ids are newest first however, and in
    /// whatever order, the messages were taken in, so a rebuild can go a
    /// conversation and a round at a time, and a newest-first cursor means
    /// the same place after it. Within a second, documents are numbered
    /// after those it has, those of one round in time order: a round of a
    /// rebuild takes some conversations whole, so after a rebuild the
    /// messages of one second are newest first only within a round.
    ///
    /// Why seconds, not milliseconds: FTS5 stores the rowids of a word's
    /// documents as varint deltas, small within a second. With
    /// milliseconds × 2^21 nearly every delta took 4 bytes: the index grew
    /// by 28 % and ranked searches of a common word slowed by 16 % (200,000
    /// messages, 10 per ms, in Python's SQLite); with seconds × 2^24, 8 %
    /// and none.
    ///
    /// The 2^24 places of a second cannot run out with times the server
    /// gives; if they did, ids of the next second are taken, and a document
    /// whose id is taken gets one above every other.
    static func addDocuments(_ db: Database, from source: String, arguments: StatementArguments = []) throws {
        // In time order, each row holding its second for now: the rowids
        // number them in that order, and a second's rows follow one another.
        try db.cachedExecute(sql: "DELETE FROM temp.search_new")
        try db.cachedExecute(
            sql: """
                INSERT INTO temp.search_new (id, conversation_id, seq)
                  SELECT min(max(created_at / 1000, 1), \(lastSecond)), conversation_id, seq FROM (\(source))
                  ORDER BY created_at, conversation_id, seq
                """,
            arguments: arguments)
        let wanted = db.changesCount
        guard wanted > 0 else { return }
        // Where each second's places start, less the rowid of its first row:
        // a second above every document's at its first place, and the top
        // document's after it, with no lookup (a round of new messages); an
        // earlier second's after its last document. Once per second, not
        // per row.
        let top = try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(id), 0) FROM search.search_docs")) ?? 0
        try db.cachedExecute(sql: "DELETE FROM temp.search_seconds")
        try db.cachedExecute(
            sql: """
                INSERT INTO temp.search_seconds (second, start)
                  SELECT n.id,
                    CASE WHEN n.id * \(idShift) > ?1 THEN n.id * \(idShift)
                         WHEN n.id = ?1 / \(idShift) THEN ?1 + 1
                         ELSE coalesce((SELECT d.id + 1 FROM search.search_docs d
                                        WHERE d.id >= n.id * \(idShift) AND d.id < (n.id + 1) * \(idShift)
                                        ORDER BY d.id DESC LIMIT 1), n.id * \(idShift)) END - min(n.rowid)
                  FROM temp.search_new n GROUP BY n.id
                """,
            arguments: [top])
        try db.cachedExecute(
            sql: "UPDATE temp.search_new SET id = rowid + (SELECT s.start FROM temp.search_seconds s WHERE s.second = search_new.id)")
        try db.cachedExecute(
            sql: "INSERT OR IGNORE INTO search.search_docs (id, conversation_id, seq) SELECT id, conversation_id, seq FROM temp.search_new")
        if db.changesCount < wanted {
            try db.execute(
                sql: """
                    INSERT INTO search.search_docs (id, conversation_id, seq)
                      SELECT (SELECT max(id) FROM search.search_docs) + row_number() OVER (ORDER BY n.id), n.conversation_id, n.seq
                      FROM temp.search_new n WHERE NOT EXISTS (SELECT 1 FROM search.search_docs d
                        WHERE d.conversation_id = n.conversation_id AND d.seq = n.seq);
                    UPDATE temp.search_new SET id = (SELECT d.id FROM search.search_docs d
                      WHERE d.conversation_id = search_new.conversation_id AND d.seq = search_new.seq);
                    """)
        }
        try db.cachedExecute(
            sql: """
                INSERT OR REPLACE INTO search.message_search (rowid, text)
                  SELECT n.id, e.text FROM temp.search_new n
                  CROSS JOIN main.events e ON e.conversation_id = n.conversation_id AND e.seq = n.seq
                """)
    }

    /// Removes a conversation's documents, all or those up to `through`,
    /// oldest first and at most `left` of them (which it counts down).
    /// Says whether that was all of them.
    private static func drop(_ db: Database, _ conversation: Int64, through: Int64?, within left: inout Int64) throws -> Bool {
        let limit = left
        let arguments: StatementArguments = [conversation, through ?? Int64.max, limit]
        try db.cachedExecute(
            sql: """
                DELETE FROM search.message_search WHERE rowid IN
                  (SELECT id FROM search.search_docs WHERE conversation_id = ? AND seq <= ? ORDER BY seq LIMIT ?)
                """,
            arguments: arguments)
        try db.cachedExecute(
            sql: """
                DELETE FROM search.search_docs WHERE id IN
                  (SELECT id FROM search.search_docs WHERE conversation_id = ? AND seq <= ? ORDER BY seq LIMIT ?)
                """,
            arguments: arguments)
        let dropped = Int64(db.changesCount)
        left -= dropped
        return dropped < limit
    }

    /// Re-indexes one message from its row as it is now, keeping its id.
    private static func reindex(_ db: Database, conversation: Int64, seq: Int64) throws {
        let id = try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT id FROM search.search_docs WHERE conversation_id = ? AND seq = ?"),
            arguments: [conversation, seq])
        if let id { try db.cachedExecute(sql: "DELETE FROM search.message_search WHERE rowid = ?", arguments: [id]) }
        let text = try String.fetchOne(
            db.cachedStatement(sql: "SELECT e.text FROM main.events e WHERE e.conversation_id = ? AND e.seq = ? AND \(searchable("e"))"),
            arguments: [conversation, seq])
        switch (id, text) {
        case (let id?, let text?):
            try db.cachedExecute(sql: "INSERT INTO search.message_search (rowid, text) VALUES (?, ?)", arguments: [id, text])
        case (let id?, nil):
            try db.cachedExecute(sql: "DELETE FROM search.search_docs WHERE id = ?", arguments: [id])
        case (nil, _?):
            try addDocuments(db,
                from: "SELECT conversation_id, seq, created_at FROM main.events WHERE conversation_id = ? AND seq = ?",
                arguments: [conversation, seq])
        case (nil, nil):
            break
        }
    }

    // MARK: Closing

    /// Stops the indexer, abandoning a round under way. A file index is
    /// marked clean once it is all on disk, so the next start keeps it;
    /// what was announced and not yet indexed is caught up by that start's
    /// comparison.
    func close() {
        let waiters = state.withLock { s -> [Waiter]? in
            if s.closed { return nil }
            s.closed = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        guard let waiters else { return }
        for w in waiters { w.continuation.resume(returning: false) }
        // A round under way is abandoned (rolled back; the next start's
        // comparison does it again), so a stop does not wait for a rebuild,
        // which runs as one round. Not on the store's own connection.
        if ownsConnection { connection.interrupt() }
        queue.sync {}
        guard ownsConnection, let path else { return }
        try? connection.writeWithoutTransaction { db in
            // Called clean only once all of it is on disk: the log copied
            // into the file (a checkpoint a reader kept from finishing is not
            // clean), then the file synced, which also covers pages earlier
            // checkpoints wrote without a sync. Else the next start trusts
            // the file on this boot only.
            try db.execute(sql: "PRAGMA search.synchronous = FULL")
            try db.execute(sql: "PRAGMA busy_timeout = 1000")  // a stop waits 1 s for readers, not 10
            let checkpoint = try Row.fetchOne(db, sql: "PRAGMA search.wal_checkpoint(TRUNCATE)")
            guard let checkpoint, (checkpoint[0] as Int?) == 0, Self.sync(path) else { return }
            try db.execute(sql: "INSERT OR REPLACE INTO search.search_meta (key, value) VALUES ('clean', '1')")
            _ = try Row.fetchAll(db, sql: "PRAGMA search.wal_checkpoint(TRUNCATE)")
        }
        try? (connection as? DatabaseQueue)?.close()
    }
}
