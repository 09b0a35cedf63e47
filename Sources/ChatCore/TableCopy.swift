/// A column's value in a stored row, as both stores can hold it: what
/// `chatd migrate` carries from the SQLite store to the PostgreSQL one,
/// table by table, without either store knowing the other.
public enum StoredValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A store whose tables can be read row by row, in batches (the source of
/// `chatd migrate`). Calls are synchronous, on the caller's thread (never
/// an event loop): the copy runs inside the target's transaction.
public protocol TableSource: Sendable {
    /// The tables that hold data (no index, no internal bookkeeping of the
    /// engine or of the migrator).
    func tableNames() throws -> [String]

    /// The columns of `table`, in their order; nil when there is no such table.
    func columns(of table: String) throws -> [String]?

    /// Calls `body` with the rows of `table` (`columns`, in that order),
    /// at most `batchSize` at a time, without holding more than a batch in
    /// memory.
    func forEachBatch(of table: String, columns: [String], batchSize: Int, _ body: ([[StoredValue]]) throws -> Void) throws

    /// The number of rows of `table`.
    func rowCount(of table: String) throws -> Int64

    /// The highest id ever given to a row of `table`, when the store keeps
    /// it apart from the rows (ids that are never reused: a deleted newest
    /// row's id stays taken); nil when it does not.
    func idFloor(of table: String) throws -> Int64?

    /// Per distinct `key` of `table` above `after`, in ascending order, the
    /// greatest `value` (e.g. each conversation's last event seq); at most
    /// `limit` of them.
    func maxima(of value: String, in table: String, by key: String, after: Int64, limit: Int) throws -> [(key: Int64, max: Int64)]
}

public enum TableCopy {
    /// Whether `name` may be written into a statement as a table or column
    /// name unquoted: lower-case letters, digits and `_`, not starting with a
    /// digit (every name of both schemas). The copy refuses any other.
    public static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return false }
        return name.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                || $0 == UInt8(ascii: "_")
        }
    }
}

/// A table or column name that is not a plain identifier reached the copy.
public struct TableCopyError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
