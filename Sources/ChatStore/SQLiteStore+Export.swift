import ChatCore
import Foundation
import GRDB

/// The store's tables as plain rows, for `chatd migrate` (the copy to
/// PostgreSQL). Reads only; each call is one read transaction of its own,
/// which is consistent because the migration holds the data directory's
/// lock (no chatd writes meanwhile).
extension SQLiteStore: TableSource {
    public func tableNames() throws -> [String] {
        try writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM (
                      SELECT name FROM main.sqlite_master WHERE type = 'table'
                      UNION ALL SELECT name FROM search.sqlite_master WHERE type = 'table')
                    WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name
                    """)
        }
    }

    public func columns(of table: String) throws -> [String]? {
        let name = try Self.plain(table)
        return try writer.read { db -> [String]? in
            guard try db.tableExists(name) else { return nil }
            return try db.columns(in: name).map(\.name)
        }
    }

    public func forEachBatch(
        of table: String, columns: [String], batchSize: Int, _ body: ([[StoredValue]]) throws -> Void
    ) throws {
        let name = try Self.plain(table)
        let list = try columns.map(Self.plain).joined(separator: ", ")
        let size = max(1, batchSize)
        try writer.read { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT \(list) FROM \(name)")
            var batch: [[StoredValue]] = []
            batch.reserveCapacity(size)
            while let row = try cursor.next() {
                batch.append(row.databaseValues.map(Self.storedValue))
                if batch.count == size {
                    try body(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { try body(batch) }
        }
    }

    public func rowCount(of table: String) throws -> Int64 {
        let name = try Self.plain(table)
        return try writer.read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(name)") ?? 0 }
    }

    /// AUTOINCREMENT tables keep their highest id ever in `sqlite_sequence`.
    public func idFloor(of table: String) throws -> Int64? {
        let name = try Self.plain(table)
        return try writer.read { db -> Int64? in
            guard try db.tableExists("sqlite_sequence") else { return nil }
            return try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [name])
        }
    }

    public func maxima(of value: String, in table: String, by key: String, after: Int64, limit: Int) throws -> [(key: Int64, max: Int64)] {
        let (t, v, k) = (try Self.plain(table), try Self.plain(value), try Self.plain(key))
        return try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(k), max(\(v)) FROM \(t) WHERE \(k) > ? GROUP BY \(k) ORDER BY \(k) LIMIT ?",
                arguments: [after, limit]
            ).map { row -> (key: Int64, max: Int64) in
                let key: Int64? = row[0]
                let max: Int64? = row[1]
                return (key: key ?? 0, max: max ?? 0)
            }
        }
    }

    private static func plain(_ name: String) throws -> String {
        guard TableCopy.isPlainIdentifier(name) else { throw TableCopyError("not a table or column name: \(name)") }
        return name
    }

    private static func storedValue(_ value: DatabaseValue) -> StoredValue {
        switch value.storage {
        case .null: .null
        case .int64(let i): .integer(i)
        case .double(let d): .real(d)
        case .string(let s): .text(s)
        case .blob(let data): .blob(Array(data))
        }
    }
}
