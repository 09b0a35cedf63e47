import ChatCore
import PostgresNIO

/// Copying a whole deployment into this store (`chatd migrate`): rows go in
/// as they are, ids and seqs included, inside one transaction.
extension PostgresStore {
    /// Runs `body` in one transaction, committed when it returns and rolled
    /// back when it throws (so a failed copy leaves nothing behind). In it
    /// the user triggers of `tables` are off: rows that triggers derive
    /// (file references, search documents) are copied like the others
    /// rather than derived twice. No statement timeout applies.
    public func withImport<T: Sendable>(
        tables: [String], _ body: @escaping @Sendable (PostgresImport) throws -> T
    ) async throws -> T {
        let names = try tables.map(PostgresImport.plain)
        return try await write { s in
            try s.execute("SET LOCAL statement_timeout = 0")
            for table in names { try s.execute("ALTER TABLE \(table) DISABLE TRIGGER USER") }
            let result = try body(PostgresImport(s))
            for table in names { try s.execute("ALTER TABLE \(table) ENABLE TRIGGER USER") }
            return result
        }
    }
}

/// The import transaction of `PostgresStore.withImport`: valid only inside
/// its body, on the body's thread.
public final class PostgresImport {
    let session: PGSession

    init(_ session: PGSession) { self.session = session }

    /// PostgreSQL takes at most 65 535 parameters per statement.
    static let maxParameters = 65_535

    /// The tables of `tables` that hold at least one row.
    public func nonEmptyTables(_ tables: [String]) throws -> [String] {
        try tables.filter { try session.int("SELECT count(*) FROM (SELECT 1 FROM \(Self.plain($0)) LIMIT 1) t") ?? 0 > 0 }
    }

    /// Copies every row of `table` from `source`, `batchSize` rows per
    /// statement; returns how many. Each source column must exist here;
    /// a column only this schema has must have a default or be derived
    /// (`search_docs.document`, the tsvector of the message's text).
    public func copy(table: String, from source: some TableSource, batchSize: Int) throws -> Int64 {
        let name = try Self.plain(table)
        guard let sourceColumns = try source.columns(of: name) else { throw TableCopyError("the source has no table \(name)") }
        let target = try columns(of: name)
        guard !target.isEmpty else { throw TableCopyError("PostgreSQL has no table \(name)") }
        let byName = Dictionary(target.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var copied: [Column] = []
        for column in sourceColumns {
            guard let match = byName[column] else {
                throw TableCopyError("column \(name).\(column) has no counterpart in PostgreSQL")
            }
            copied.append(match)
        }
        let derived = target.filter { !sourceColumns.contains($0.name) }
        let statement: InsertStatement
        if name == "search_docs" && derived.map(\.name) == ["document"] {
            statement = .searchDocuments(copied)
        } else if let missing = derived.first(where: { !$0.optional }) {
            throw TableCopyError("column \(name).\(missing.name) of PostgreSQL has no counterpart in the source and no default")
        } else {
            statement = .rows(table: name, copied)
        }
        let rowsPerStatement = max(1, min(batchSize, Self.maxParameters / max(1, copied.count)))
        let fullBatch = statement.sql(rows: rowsPerStatement)
        let kinds = copied.map(\.kind)
        var count: Int64 = 0
        try source.forEachBatch(of: name, columns: sourceColumns, batchSize: rowsPerStatement) { rows in
            var binds = PostgresBindings(capacity: rows.count * copied.count)
            for row in rows {
                guard row.count == copied.count else { throw TableCopyError("\(name): a row of \(row.count) values for \(copied.count) columns") }
                for i in 0..<row.count {
                    PGSession.bind(try Self.convert(row[i], to: copied[i], kind: kinds[i], table: name), into: &binds)
                }
            }
            try session.execute(postgresSQL: rows.count == rowsPerStatement ? fullBatch : statement.sql(rows: rows.count), binds: binds)
            count += Int64(rows.count)
        }
        return count
    }

    public func rowCount(of table: String) throws -> Int64 {
        try session.int("SELECT count(*) FROM \(Self.plain(table))") ?? 0
    }

    /// As `TableSource.maxima`, on the rows written so far.
    public func maxima(of value: String, in table: String, by key: String, after: Int64, limit: Int) throws -> [(key: Int64, max: Int64)] {
        let (t, v, k) = (try Self.plain(table), try Self.plain(value), try Self.plain(key))
        return try session.rows("SELECT \(k), max(\(v)) FROM \(t) WHERE \(k) > ? GROUP BY \(k) ORDER BY \(k) LIMIT ?", [after, limit])
            .map { (key: $0[0].int, max: $0[1].int) }
    }

    /// Moves each identity column's sequence of `table` past the highest id
    /// copied and past `floor` (an id the source gave and will not give
    /// again), so that the next new row gets a fresh id. Returns the
    /// (column, last id taken) pairs it set.
    @discardableResult
    public func advanceIdentities(of table: String, floor: Int64?) throws -> [(column: String, value: Int64)] {
        let name = try Self.plain(table)
        var set: [(column: String, value: Int64)] = []
        for column in try columns(of: name) where column.identity {
            let highest = try session.int("SELECT max(\(column.name)) FROM \(name)") ?? 0
            let value = max(highest, floor ?? 0)
            guard value > 0 else { continue }
            try session.execute("SELECT setval(pg_get_serial_sequence(?, ?), ?)", [name, column.name, value])
            set.append((column.name, value))
        }
        return set
    }

    // MARK: Helpers

    struct Column {
        var name: String
        var type: String
        /// `type`, decided once per column rather than per value.
        var kind: Kind {
            switch type {
            case "bigint", "integer", "smallint": .integer
            case "boolean": .boolean
            case "double precision", "real": .real
            case "text": .text
            case "bytea": .bytes
            default: .other
            }
        }
        /// GENERATED ALWAYS AS IDENTITY: an insert with its value needs OVERRIDING SYSTEM VALUE.
        var alwaysGenerated: Bool
        var identity: Bool
        /// Nullable or with a default: may be left out of an insert.
        var optional: Bool

        enum Kind { case integer, boolean, real, text, bytes, other }
    }

    func columns(of table: String) throws -> [Column] {
        try session.rows(
            """
            SELECT column_name, data_type, coalesce(identity_generation, ''), is_identity,
                   is_nullable = 'YES' OR column_default IS NOT NULL OR is_identity = 'YES'
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position
            """, [table]
        ).map {
            Column(
                name: $0[0].text, type: $0[1].text, alwaysGenerated: $0[2].text == "ALWAYS", identity: $0[3].text == "YES",
                optional: $0[4].bool)
        }
    }

    enum InsertStatement {
        case rows(table: String, [Column])
        case searchDocuments([Column])

        func sql(rows: Int) -> String {
            switch self {
            case .rows(let table, let columns):
                let names = columns.map(\.name).joined(separator: ", ")
                let overriding = columns.contains(where: \.alwaysGenerated) ? " OVERRIDING SYSTEM VALUE" : ""
                return "INSERT INTO \(table) (\(names))\(overriding) VALUES " + Self.tuples(rows: rows, columns: columns)
            case .searchDocuments(let columns):
                // The document as the events trigger makes it (PostgresSchema:
                // chatd_events_changed), from the copied message's text.
                let names = columns.map(\.name).joined(separator: ", ")
                let picked = columns.map { "v.\($0.name)" }.joined(separator: ", ")
                return """
                    INSERT INTO search_docs (\(names), document) OVERRIDING SYSTEM VALUE
                    SELECT \(picked), to_tsvector('simple', unaccent(lower(e.text)))
                    FROM (VALUES \(Self.tuples(rows: rows, columns: columns))) AS v(\(names))
                    JOIN events e ON e.conversation_id = v.conversation_id AND e.seq = v.seq
                    """
            }
        }

        /// "($1::bigint, $2::text), ($3::bigint, ...)": typed, so that a
        /// VALUES list of NULLs still has its column types.
        static func tuples(rows: Int, columns: [Column]) -> String {
            var text = ""
            var next = 1
            for row in 0..<rows {
                text += row == 0 ? "(" : ", ("
                for (i, column) in columns.enumerated() {
                    text += (i == 0 ? "$" : ", $") + String(next) + "::" + column.type
                    next += 1
                }
                text += ")"
            }
            return text
        }
    }

    static func plain(_ name: String) throws -> String {
        guard TableCopy.isPlainIdentifier(name) else { throw TableCopyError("not a table or column name: \(name)") }
        return name
    }

    /// A source value as the PostgreSQL column's type holds it (SQLite keeps
    /// booleans as 0/1 integers).
    static func convert(_ value: StoredValue, to column: Column, kind: Column.Kind, table: String) throws -> PGValue {
        switch (value, kind) {
        case (.null, _): return .null
        case (.integer(let i), .integer): return .int(i)
        case (.integer(let i), .boolean): return .bool(i != 0)
        case (.integer(let i), .real): return .double(Double(i))
        case (.real(let d), .real): return .double(d)
        case (.real(let d), .integer):
            guard let i = Int64(exactly: d) else { break }
            return .int(i)
        case (.text(let s), .text): return .text(s)
        case (.blob(let b), .bytes): return .bytes(b)
        default: break
        }
        throw TableCopyError("\(table).\(column.name): a value of the source (\(value.kind)) that PostgreSQL's \(column.type) cannot hold")
    }
}

extension StoredValue {
    /// The kind of value, for an error message (never the value itself).
    fileprivate var kind: String {
        switch self {
        case .null: "null"
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        }
    }
}
