@testable import ChatStore
import Foundation
import GRDB
import GRDBSQLite
import Testing

/// chatd-wal (WALBuffer.c): a commit's log frames reach the file in few
/// pwrites, and all of them before the commit returns, in every
/// synchronous mode, whatever the transaction's size.
struct WALBufferTests {
    /// A database file in a fresh directory, removed with it.
    private struct TemporaryDatabase {
        let directory = NSTemporaryDirectory() + "walbuf-\(UUID().uuidString)"
        var path: String { directory + "/db.sqlite3" }
        init() throws {
            try WALBuffer.install()
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        func remove() { try? FileManager.default.removeItem(atPath: directory) }

        func pool(synchronous: String, cachePages: Int = 2000) throws -> DatabasePool {
            var config = Configuration()
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                try db.execute(sql: "PRAGMA cache_size = \(cachePages)")
            }
            let pool = try DatabasePool(path: path, configuration: config)
            // The pool sets its writer to NORMAL after prepareDatabase.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            return pool
        }
    }

    /// Rows of `size` bytes each: every row a page or more of the log.
    private static func insert(_ db: Database, from first: Int, count: Int, size: Int = 3000) throws {
        for i in first..<(first + count) {
            try db.execute(
                sql: "INSERT INTO t (id, body) VALUES (?, ?)",
                arguments: [i, Data(repeating: UInt8(truncatingIfNeeded: i), count: size)])
        }
    }

    /// Table t's row count and bytes, and the integrity check's verdict.
    private static func summary(_ reader: some DatabaseReader) throws -> (rows: Int, bytes: Int, integrity: String) {
        try reader.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM t") ?? -1,
                try Int.fetchOne(db, sql: "SELECT coalesce(sum(length(body)), 0) FROM t") ?? -1,
                try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? ""
            )
        }
    }

    @Test func itIsTheDefaultVFSOnceAStoreOpens() throws {
        let db = try TemporaryDatabase()
        defer { db.remove() }
        try SQLiteStore.open(path: db.path).close()
        let vfs = try #require(sqlite3_vfs_find(nil))
        #expect(String(cString: vfs.pointee.zName) == "chatd-wal")
    }

    @Test(arguments: ["FULL", "NORMAL", "OFF"])
    func aCommitsFramesAreInTheFileWhenItReturns(synchronous: String) throws {
        let db = try TemporaryDatabase()
        defer { db.remove() }
        let pool = try db.pool(synchronous: synchronous)
        try pool.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
        let before = WALBuffer.statistics
        // 400 rows of 3,000 bytes: about 1.2 MiB of log in one commit, far
        // over one gathered write (124 KiB), then small commits.
        try pool.write { db in try Self.insert(db, from: 0, count: 400) }
        for i in 0..<20 { try pool.write { db in try Self.insert(db, from: 400 + i, count: 1) } }
        let after = WALBuffer.statistics
        // Counted process-wide, and other tests write meanwhile: this test's
        // ~700 writes in ~30 pwrites dominate, and no mix of commits makes
        // more pwrites than writes. Without gathering there is a pwrite per write.
        let writes = after.writes - before.writes, flushes = after.flushes - before.flushes
        #expect(writes >= 800)  // ~405 pages, two writes each, then the small commits
        #expect(flushes * 2 < writes, "\(writes) WAL writes in \(flushes) pwrites")
        // A reader sees every commit (the wal-index says the frames are there).
        #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") } == 420)
        // What kill -9 would leave: the files as they are now, connection
        // open. A copy recovers every commit from the log.
        let copy = db.directory + "/copy.sqlite3"
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: db.path + suffix, toPath: copy + suffix) }
        let recovered = try Self.summary(DatabaseQueue(path: copy))
        #expect(recovered.rows == 420 && recovered.bytes == 420 * 3000 && recovered.integrity == "ok", "\(recovered)")
    }

    /// A transaction larger than the page cache spills frames to the log
    /// before it commits and rewrites some of them in place; a savepoint
    /// rolled back and a transaction rolled back leave nothing behind.
    @Test func spilledRewrittenAndRolledBackFramesStayConsistent() throws {
        let db = try TemporaryDatabase()
        defer { db.remove() }
        let pool = try db.pool(synchronous: "FULL", cachePages: 10)
        try pool.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
        try pool.write { db in
            try Self.insert(db, from: 0, count: 300)
            // The spilled pages again, changed.
            try db.execute(sql: "UPDATE t SET body = zeroblob(2000) WHERE id % 3 = 0")
            try db.inSavepoint {
                try Self.insert(db, from: 1000, count: 50)
                return .rollback
            }
        }
        try? pool.write { db in
            try Self.insert(db, from: 2000, count: 100)
            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "roll back")
        }
        let after = try Self.summary(pool)
        #expect(after.rows == 300 && after.bytes == 200 * 3000 + 100 * 2000 && after.integrity == "ok", "\(after)")
        // Checkpointed into the database file and the log started over: the
        // next commit's frames (the log header first) go to the log's start.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(RESTART)") }
        try pool.write { db in try Self.insert(db, from: 3000, count: 30) }
        let copy = db.directory + "/copy.sqlite3"
        for suffix in ["", "-wal"] { try FileManager.default.copyItem(atPath: db.path + suffix, toPath: copy + suffix) }
        let recovered = try Self.summary(DatabaseQueue(path: copy))
        #expect(recovered.rows == 330 && recovered.integrity == "ok", "\(recovered)")
    }

    /// A transaction that spilled frames and rolled back leaves them
    /// gathered; another connection then commits frames at the same offsets.
    /// The first connection must never write its leftovers over them (it
    /// would, at its next read or close, had they not been dropped when it
    /// gave up the write lock).
    @Test func aRolledBackTransactionsFramesAreNeverWrittenOverAnotherCommit() throws {
        let db = try TemporaryDatabase()
        defer { db.remove() }
        let pool = try db.pool(synchronous: "FULL", cachePages: 10)
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            try Self.insert(db, from: 0, count: 50)
        }
        // All of it into the database file, the log emptied: the rollback
        // below reloads its pages from the file, not the log (a read of the
        // log would write the leftovers while the lock is still held).
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        // 25 pages through a cache of 10: frames spill, one at a time, and
        // stay gathered (under 124 KiB), from the log's first frame on.
        try? pool.write { db in
            try Self.insert(db, from: 1000, count: 25)
            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "roll back")
        }
        let other = try DatabaseQueue(path: db.path)
        try other.write { db in try Self.insert(db, from: 2000, count: 5, size: 2500) }
        // The first connection reads what the other committed, then closes.
        let seen = try pool.write { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM t") }
        #expect(seen == 55)
        try pool.close()
        try other.close()
        let after = try Self.summary(DatabaseQueue(path: db.path))
        #expect(after.rows == 55 && after.bytes == 50 * 3000 + 5 * 2500 && after.integrity == "ok", "\(after)")
    }
}
