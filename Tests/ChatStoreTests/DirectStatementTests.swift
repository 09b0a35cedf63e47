import Foundation
import GRDB
import Testing

@testable import ChatStore

/// The send path's statements bypass GRDB's argument and cursor machinery
/// (`Database.directRows`); these are the checks that came with GRDB's.
struct DirectStatementTests {
    private func database() throws -> DatabaseQueue {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, size INTEGER, flag INTEGER)")
        }
        return db
    }

    @Test func valuesRoundTripInOrderWithNullsAndEmptyText() throws {
        try database().write { db in
            let sql = "INSERT INTO t (id, name, size, flag) VALUES (?, ?, ?, ?)"
            try db.directExecute(sql, Int64(1), "één", Int64?.some(7), true)
            try db.directExecute(sql, Int64(2), "", Int64?.none, false)
            let rows = try db.directRows("SELECT id, name, size, flag FROM t WHERE id >= ? ORDER BY id", Int64(1)) { row in
                (row[0] as Int64?, row[1] as String?, row[2] as Int64?, row[3] as Bool?)
            }
            #expect(rows.count == 2)
            #expect(rows[0] == (1, "één", 7, true))
            // An empty string is text, not NULL.
            #expect(rows[1] == (2, "", nil, false))
            let empty = try db.directValue(Int64.self, "SELECT count(*) FROM t WHERE name = ?", "")
            #expect(empty == 1)
            let first = try db.directRows("SELECT id FROM t ORDER BY id", limit: 1) { $0[0] as Int64? }
            #expect(first == [1])
            let missing = try db.directRow("SELECT id FROM t WHERE id = ?", Int64(3)) { $0[0] as Int64? }
            #expect(missing == nil)
        }
    }

    @Test func aFailedStatementThrowsItsCodeAndStaysUsable() throws {
        try database().write { db in
            let sql = "INSERT INTO t (id, name) VALUES (?, ?)"
            try db.directExecute(sql, Int64(1), "a")
            #expect {
                try db.directExecute(sql, Int64(2), "a")
            } throws: { ($0 as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT }
            // The same cached statement runs again, through this path and GRDB's.
            try db.directExecute(sql, Int64(2), "b")
            try db.cachedExecute(sql: sql, arguments: [3, "c"])
            let count = try db.directValue(Int64.self, "SELECT count(*) FROM t")
            #expect(count == 3)
        }
    }

    @Test func theValuesMustMatchTheParameters() throws {
        try database().write { db in
            #expect {
                try db.directExecute("INSERT INTO t (id, name) VALUES (?, ?)", Int64(1))
            } throws: { ($0 as? DatabaseError)?.resultCode == .SQLITE_MISUSE }
            #expect {
                try db.directExecute("INSERT INTO t (id) VALUES (?)", Int64(1), "extra")
            } throws: { ($0 as? DatabaseError)?.resultCode == .SQLITE_RANGE }
            // Nothing was written by either.
            let count = try db.directValue(Int64.self, "SELECT count(*) FROM t")
            #expect(count == 0)
        }
    }

    /// Outside a transaction (say SQLite rolled one back under a write that
    /// went on) a statement would commit on its own: it is refused.
    @Test func outsideATransactionNothingRuns() throws {
        try database().writeWithoutTransaction { db in
            #expect {
                try db.directExecute("INSERT INTO t (id) VALUES (?)", Int64(1))
            } throws: { ($0 as? DatabaseError)?.resultCode == .SQLITE_ABORT }
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM t")
            #expect(count == 0)
        }
    }
}
