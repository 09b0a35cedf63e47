import ChatCore
import Dispatch
import Foundation
import GRDB
import Synchronization

/// Copies the write-ahead log into the database file on a thread and a
/// connection of its own, so that the group-commit writer, which every
/// durable write waits for, does not.
///
/// SQLite's default is the committing connection checkpointing whenever
/// the WAL has grown past 1,000 pages: the writer thread then copies pages
/// into the database file and fsyncs it, with the batches behind it
/// waiting. Here the writer's own automatic checkpoint is only a backstop
/// (`writerBackstopPages`, for a checkpointer that cannot keep up), and
/// this thread runs a PASSIVE checkpoint every `interval`: it never waits
/// for the writer or for readers, copies what the readers allow, and the
/// writer starts the log over at its next transaction once all of it has
/// been copied, as before. A crash in the middle of a checkpoint is safe as
/// it always is in SQLite: the log stays the durable record until the
/// database file has been synced.
final class WALCheckpointer: Sendable {
    /// The writer checkpoints by itself only past this many log pages.
    static let writerBackstopPages = 16_384
    static let interval: DispatchTimeInterval = .milliseconds(100)

    private let connection: DatabaseQueue
    private let checkpoint: @Sendable (Database) throws -> Int
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let state = Mutex((stopped: false, runs: 0, pages: 0, failures: 0, busy: 0))
    private let failureHandler = Mutex<FailureHandler?>(nil)

    final class FailureHandler: Sendable {
        let body: @Sendable (any Error) -> Void
        init(_ body: @escaping @Sendable (any Error) -> Void) { self.body = body }
    }

    /// Opens a connection of its own to the database at `path` (in WAL
    /// mode) and starts the thread. `checkpoint` (tests) runs one
    /// checkpoint and returns the pages it copied.
    init(
        path: String,
        checkpoint: @escaping @Sendable (Database) throws -> Int = { db in try db.checkpoint(.passive).checkpointedFrameCount }
    ) throws {
        var config = Configuration()
        config.label = "chatd.checkpointer"
        connection = try DatabaseQueue(path: path, configuration: config)
        self.checkpoint = checkpoint
        let thread = Thread { [self] in
            nameThisThread("chatd-wal-ckpt")
            run()
        }
        thread.start()
    }

    /// Told each failed checkpoint's error, on the checkpointer's thread
    /// (the store records storage faults from it: a checkpoint that cannot
    /// write or sync the database file is the storage failing).
    func onFailure(_ body: @escaping @Sendable (any Error) -> Void) {
        failureHandler.withLock { $0 = FailureHandler(body) }
    }

    private func run() {
        defer { finished.signal() }
        while wake.wait(timeout: .now() + Self.interval) == .timedOut {
            do {
                let copied = try connection.writeWithoutTransaction { db in try checkpoint(db) }
                state.withLock {
                    $0.runs += 1
                    $0.pages += max(0, copied)
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                // Another connection holds the checkpoint lock (the
                // writer's backstop, a shutdown's truncation, a reader
                // recovering the log): nothing failed, the next round
                // copies what this one could not.
                state.withLock { $0.busy += 1 }
            } catch {
                // The next round tries again, and the writer's backstop
                // bounds the log meanwhile; a storage fault is the store's
                // to record (and then refuses writes).
                state.withLock { $0.failures += 1 }
                failureHandler.withLock { $0 }?.body(error)
            }
        }
    }

    /// Checkpoints run, pages copied in total, checkpoints that failed,
    /// rounds that found the checkpoint lock taken (tests).
    var statistics: (runs: Int, pages: Int, failures: Int, busy: Int) {
        state.withLock { ($0.runs, $0.pages, $0.failures, $0.busy) }
    }

    /// Stops the thread, waits for it, and closes the connection; later calls do nothing.
    func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return !s.stopped
        }
        guard first else { return }
        wake.signal()
        finished.wait()
        try? connection.close()
    }
}
