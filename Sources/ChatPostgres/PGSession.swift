import ChatCore
import Dispatch
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// A value bound to a statement or read from a row. Rows are decoded into
/// these at once, so mapping a row to a model value cannot fail halfway.
enum PGValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case bytes([UInt8])
    case bool(Bool)
    case array(PGArray)
}

/// A one-dimensional array parameter (`bigint[]`, `text[]` or `boolean[]`)
/// whose elements may be NULL, in PostgreSQL's binary array format: one
/// parameter carrying a column of many rows (`unnest`), so that a batch's
/// rows go in one statement whatever their number.
struct PGArray: Sendable, Equatable, PostgresDynamicTypeEncodable {
    let psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .binary }
    /// The encoded array (header and elements).
    let bytes: ByteBuffer

    init(_ values: [Int64?]) {
        self.init(.int8Array, element: .int8, values) { $1.writeInteger($0) }
    }

    init(_ values: [String?]) {
        self.init(.textArray, element: .text, values) { $1.writeString($0) }
    }

    init(_ values: [Bool?]) {
        self.init(.boolArray, element: .bool, values) { $1.writeInteger($0 ? 1 : 0, as: UInt8.self) }
    }

    private init<T>(
        _ type: PostgresDataType, element: PostgresDataType, _ values: [T?], write: (T, inout ByteBuffer) -> Void
    ) {
        psqlType = type
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(values.isEmpty ? 0 : 1))  // dimensions (an empty array has none)
        buffer.writeInteger(Int32(values.contains { $0 == nil } ? 1 : 0))  // has NULLs
        buffer.writeInteger(element.rawValue)
        guard !values.isEmpty else {
            bytes = buffer
            return
        }
        buffer.writeInteger(Int32(values.count))
        buffer.writeInteger(Int32(1))  // lower bound
        for value in values {
            guard let value else {
                buffer.writeInteger(Int32(-1))
                continue
            }
            let lengthAt = buffer.writerIndex
            buffer.writeInteger(Int32(0))
            write(value, &buffer)
            buffer.setInteger(Int32(buffer.writerIndex - lengthAt - 4), at: lengthAt)
        }
        bytes = buffer
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeImmutableBuffer(bytes)
    }
}

/// What may be bound to a `?` of a statement.
protocol PGBindable: Sendable {
    var pgValue: PGValue { get }
}

extension Int64: PGBindable { var pgValue: PGValue { .int(self) } }
extension Int: PGBindable { var pgValue: PGValue { .int(Int64(self)) } }
extension Int32: PGBindable { var pgValue: PGValue { .int(Int64(self)) } }
extension String: PGBindable { var pgValue: PGValue { .text(self) } }
extension Bool: PGBindable { var pgValue: PGValue { .bool(self) } }
extension Array: PGBindable where Element == UInt8 { var pgValue: PGValue { .bytes(self) } }
extension Optional: PGBindable where Wrapped: PGBindable { var pgValue: PGValue { self?.pgValue ?? .null } }
extension PGArray: PGBindable { var pgValue: PGValue { .array(self) } }

/// One row, decoded; columns by position or by name.
struct PGRow: Sendable {
    let values: [PGValue]
    let names: [String]

    subscript(_ i: Int) -> PGValue { i < values.count ? values[i] : .null }
    subscript(_ name: String) -> PGValue { names.firstIndex(of: name).map { values[$0] } ?? .null }
}

extension PGValue {
    var int: Int64 { intOrNil ?? 0 }
    var intOrNil: Int64? {
        switch self {
        case .int(let i): i
        case .bool(let b): b ? 1 : 0
        case .double(let d): Int64(exactly: d.rounded(.towardZero))
        default: nil
        }
    }
    var text: String { textOrNil ?? "" }
    var textOrNil: String? { if case .text(let s) = self { s } else { nil } }
    var bool: Bool { boolOrNil ?? false }
    var boolOrNil: Bool? {
        switch self {
        case .bool(let b): b
        case .int(let i): i != 0
        default: nil
        }
    }
    var bytesOrNil: [UInt8]? { if case .bytes(let b) = self { b } else { nil } }
    var isNull: Bool { self == .null }
}

/// One leased connection used synchronously, from a thread of the store's
/// pool (never an event loop): each statement waits for its result. This is
/// what lets the synchronous `StoreTransaction` seam run on PostgreSQL.
final class PGSession {
    let connection: PostgresConnection
    let logger: Logger
    /// Where this connection's prepared statements are kept (nil: none are).
    let prepared: PGPreparedStatements?
    /// Rows the last statement changed (UPDATE/DELETE/INSERT; not
    /// counted for a `PGStatement`).
    private(set) var changesCount = 0

    init(_ connection: PostgresConnection, logger: Logger, prepared: PGPreparedStatements? = nil) {
        self.connection = connection
        self.logger = logger
        self.prepared = prepared
    }

    /// Runs `sql`, whose `?` (or `?N`) placeholders take `args`, and returns its rows.
    @discardableResult
    func rows(_ sql: String, _ args: [any PGBindable] = []) throws -> [PGRow] {
        try flushAppends()
        if !touched || batch.knowsRows, !PGStatement.isReadOnly(sql) {
            touched = true
            batch.forgetRows()
        }
        do {
            let query = try Self.query(sql, args)
            let result = try answer(connection.query(query, logger: logger))
            changesCount = result.metadata.rows ?? 0
            lastCommand = result.metadata.command
            return result.rows.map { Self.decode($0) }
        } catch {
            failed()
            throw error
        }
    }

    func execute(_ sql: String, _ args: [any PGBindable] = []) throws {
        try rows(sql, args)
    }

    /// Waits for a statement's answer. A statement given to a connection
    /// that has just closed (the store closing under a running write batch)
    /// is never answered by postgres-nio, and its future never completes: so
    /// the wait looks at the connection every second and throws once it has
    /// closed, instead of blocking a thread of the pool for ever.
    private func answer<T>(_ future: EventLoopFuture<T>) throws -> T {
        let done = DispatchSemaphore(value: 0)
        future.whenComplete { _ in done.signal() }
        while done.wait(timeout: .now() + .seconds(1)) == .timedOut {
            if connection.isClosed { throw ChatFailure(.unavailable, "the connection to PostgreSQL closed") }
        }
        return try future.wait()
    }

    /// Whether, since `startWrite()`, a statement may have changed the
    /// transaction: one that writes (`PGStatement.isReadOnly` false) or one
    /// that failed (PostgreSQL then aborts the transaction). A group-commit
    /// batch runs its writes without savepoints; a write that failed
    /// untouched leaves the batch as it found it, one that failed touched
    /// makes the batch roll back (PostgresGroupCommit).
    private(set) var touched = false
    /// Whether, since `startWrite()`, a statement failed: PostgreSQL has
    /// aborted the transaction, whatever the write did with the error.
    private(set) var statementFailed = false
    /// The command tag of the last statement run by SQL text ("COMMIT", or
    /// "ROLLBACK" for a COMMIT of an aborted transaction).
    private(set) var lastCommand = ""

    func startWrite() {
        touched = false
        statementFailed = false
    }

    private func failed() {
        touched = true
        statementFailed = true
    }

    // MARK: A group-commit batch's transaction

    /// What the batch running on this session knows of its transaction
    /// (PostgresGroupCommit); empty outside batches.
    private(set) var batch = PGBatchState()

    /// A new batch's transaction has begun; `deferring`: its appends may
    /// wait for the next statement.
    func beginBatch(deferring: Bool) { batch = PGBatchState(deferring: deferring) }

    /// The batch locked these conversations' rows: their last seqs, as read then.
    func locked(lastSeqs: [(ConversationID, Seq)]) {
        guard batch.deferring else { return }
        for (id, seq) in lastSeqs { batch.lastSeq[id] = seq }
    }

    /// A send snapshot read for the batch (a row of `sendSnapshotSQL`'s columns).
    func prefetched(_ row: PGRow, conversation: ConversationID, sender: UserID, clientMsgID: String) {
        batch.snapshots[PGBatchState.MessageKey(sender: sender, clientMsgID: clientMsgID), default: [:]][conversation] = row
    }

    /// The prefetched snapshot of this send, if it still holds (nothing the
    /// batch ran since could have changed it), its head seq brought up to
    /// date; used once.
    func takeSnapshot(conversation: ConversationID, sender: UserID, clientMsgID: String) -> PGRow? {
        let key = PGBatchState.MessageKey(sender: sender, clientMsgID: clientMsgID)
        guard let row = batch.snapshots[key]?.removeValue(forKey: conversation) else { return nil }
        guard !row[0].isNull, let head = batch.lastSeq[conversation] else { return row }
        var values = row.values
        values[2] = .int(head)
        return PGRow(values: values, names: row.names)
    }

    /// Stores `event` at its conversation's next seq when the batch knows
    /// that seq (its row locked by this transaction): the row goes in with
    /// the batch's other deferred appends, in one statement, before the
    /// next statement of the transaction runs, so every statement sees it.
    /// Returns the event's seq; nil when it must be stored now.
    func deferAppend(_ event: Event) -> Seq? {
        guard batch.deferring, let last = batch.lastSeq[event.conversationID] else { return nil }
        var stored = event
        stored.seq = last + 1
        touched = true
        batch.appends.append(stored)
        appended(stored)
        return stored.seq
    }

    /// An event was stored at `event.seq` (deferred or not): the
    /// conversation's last seq is that, and a snapshot of a send with the
    /// same sender and client_msg_id no longer holds (it now has a prior event).
    func appended(_ event: Event) {
        guard batch.deferring else { return }
        batch.lastSeq[event.conversationID] = event.seq
        if let id = event.clientMsgID { batch.snapshots[PGBatchState.MessageKey(sender: event.senderID, clientMsgID: id)] = nil }
    }

    /// The user's read or delivered position in the conversation changed:
    /// the user's snapshots of sends there no longer hold (their membership
    /// is part of them); nothing else the batch knows changed.
    func positionsChanged(conversation: ConversationID, user: UserID) {
        for key in batch.snapshots.keys where key.sender == user {
            batch.snapshots[key]?[conversation] = nil
        }
    }

    /// Stores the deferred appends (one statement), sending the NOTIFY
    /// `payloads` on `channel` with them; false when there was nothing to
    /// store (and nothing was sent). A failure here belongs to no single
    /// write: `batch.flushFailed` says so, and the batch runs again without
    /// deferring (PostgresGroupCommit).
    @discardableResult
    func flushAppends(notifying payloads: [String] = [], on channel: String = "") throws -> Bool {
        guard !batch.appends.isEmpty else { return false }
        let events = batch.appends
        batch.appends = []
        // Whether the write running now changed anything is its own matter.
        let wasTouched = touched
        do {
            try pipelined([(PostgresStore.insertEventsSQL, PostgresStore.insertEventsArgs(events, notifying: payloads, on: channel))])
            touched = wasTouched
            return true
        } catch {
            batch.flushError = error
            throw error
        }
    }

    /// Rolls the transaction back; deferred appends are dropped.
    func rollback() throws {
        batch = PGBatchState()
        try execute("ROLLBACK")
    }

    func row(_ sql: String, _ args: [any PGBindable] = []) throws -> PGRow? { try rows(sql, args).first }

    /// Runs a statement of the hot paths: prepared once per connection, so
    /// PostgreSQL parses and plans it once instead of at every call.
    @discardableResult
    func rows(_ statement: PGStatement, _ args: [any PGBindable] = []) throws -> [PGRow] {
        try pipelined([(statement, args)])[0]
    }

    func execute(_ statement: PGStatement, _ args: [any PGBindable] = []) throws { try rows(statement, args) }

    /// Runs `statements` one after another without waiting for each
    /// answer before sending the next (one round trip to PostgreSQL, not
    /// one each), and returns their rows in order. The first failure is
    /// thrown once every answer is in (the statements after it fail too:
    /// the transaction is aborted).
    func pipelined(_ statements: [(PGStatement, [any PGBindable])]) throws -> [[PGRow]] {
        try flushAppends()
        guard let prepared else { return try statements.map { try rows($0.0.sql, $0.1) } }
        var sent: [(EventLoopFuture<[PostgresRow]>, PostgresFormat?)] = []
        for (statement, args) in statements {
            if !statement.readOnly {
                touched = true
                if !statement.bookkept { batch.forgetRows() }
            }
            do {
                if statement.plannedEachCall {
                    // An unnamed statement: parsed and planned with these arguments.
                    var binds = PostgresBindings(capacity: args.count)
                    for arg in args { Self.bind(arg.pgValue, into: &binds) }
                    let query = PostgresQuery(unsafeSQL: statement.sql, binds: binds)
                    sent.append((connection.query(query, logger: logger).map(\.rows), nil))
                } else {
                    let query = try prepared.query(statement, on: connection, wait: { try answer($0) })
                    // Results always come in binary, but the description
                    // postgres-nio kept from the preparation still says text.
                    sent.append((query.execute(args.map { Self.data($0.pgValue) }), .binary))
                }
            } catch {
                failed()
                throw error
            }
        }
        var results: [[PGRow]] = []
        var failure: (any Error)?
        for (future, format) in sent {
            do {
                results.append(try answer(future).map { Self.decode($0, format: format) })
            } catch {
                failure = failure ?? error
            }
        }
        if let failure {
            failed()
            throw failure
        }
        return results
    }

    func row(_ statement: PGStatement, _ args: [any PGBindable] = []) throws -> PGRow? { try rows(statement, args).first }

    func int(_ statement: PGStatement, _ args: [any PGBindable] = []) throws -> Int64? { try row(statement, args)?[0].intOrNil }

    func exists(_ statement: PGStatement, _ args: [any PGBindable] = []) throws -> Bool { try row(statement, args) != nil }

    func int(_ sql: String, _ args: [any PGBindable] = []) throws -> Int64? { try row(sql, args)?[0].intOrNil }

    func ints(_ sql: String, _ args: [any PGBindable] = []) throws -> [Int64] { try rows(sql, args).compactMap { $0[0].intOrNil } }

    func exists(_ sql: String, _ args: [any PGBindable] = []) throws -> Bool { try row(sql, args) != nil }

    // MARK: Statements

    /// Turns SQLite-style placeholders into PostgreSQL's: `?` is the next
    /// argument, `?N` the Nth; text inside quotes is left alone.
    static func postgresSQL(_ sql: String) -> String {
        // Over UTF-8 bytes (every byte that matters is ASCII): each statement
        // passes here, and iterating Characters cost ~1 % of a send.
        let bytes = Array(sql.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var next = 1
        var quote: UInt8?
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
                continue
            }
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                quote = c
                out.append(c)
                continue
            }
            guard c == UInt8(ascii: "?") else {
                out.append(c)
                continue
            }
            var end = i
            while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") { end += 1 }
            out.append(UInt8(ascii: "$"))
            if end == i {
                out.append(contentsOf: String(next).utf8)
                next += 1
            } else {
                out.append(contentsOf: bytes[i..<end])
                i = end
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func query(_ sql: String, _ args: [any PGBindable]) throws -> PostgresQuery {
        var binds = PostgresBindings(capacity: args.count)
        for arg in args { bind(arg.pgValue, into: &binds) }
        return PostgresQuery(unsafeSQL: postgresSQL(sql), binds: binds)
    }

    static func bind(_ value: PGValue, into binds: inout PostgresBindings) {
        switch value {
        case .null: binds.appendNull()
        case .int(let i): binds.append(i)
        case .double(let d): binds.append(d)
        case .text(let s): binds.append(s)
        case .bytes(let b): binds.append(ByteBuffer(bytes: b))
        case .bool(let b): binds.append(b)
        case .array(let a): binds.append(a)
        }
    }

    /// Runs `sql`, already in PostgreSQL's `$N` form, with `binds` (bulk
    /// statements, whose placeholders are not worth rewriting each time).
    func execute(postgresSQL sql: String, binds: PostgresBindings) throws {
        try flushAppends()
        touched = true
        batch.forgetRows()
        do {
            let result = try answer(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger))
            changesCount = result.metadata.rows ?? 0
        } catch {
            failed()
            throw error
        }
    }

    static func data(_ value: PGValue) -> PostgresData {
        switch value {
        case .null: .null
        case .int(let i): PostgresData(int64: i)
        case .double(let d): PostgresData(double: d)
        case .text(let s): PostgresData(string: s)
        case .bytes(let b): PostgresData(bytes: b)
        case .bool(let b): PostgresData(bool: b)
        case .array(let a): PostgresData(type: a.psqlType, formatCode: .binary, value: a.bytes)
        }
    }

    static func decode(_ row: PostgresRow, format: PostgresFormat? = nil) -> PGRow {
        var values: [PGValue] = []
        var names: [String] = []
        for var cell in row {
            if let format { cell.format = format }
            names.append(cell.columnName)
            values.append(value(cell))
        }
        return PGRow(values: values, names: names)
    }

    static func value(_ cell: PostgresCell) -> PGValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid:
            return (try? cell.decode(Int64.self)).map(PGValue.int) ?? .null
        case .bool:
            return (try? cell.decode(Bool.self)).map(PGValue.bool) ?? .null
        case .float4, .float8:
            return (try? cell.decode(Double.self)).map(PGValue.double) ?? .null
        case .bytea:
            return (try? cell.decode(ByteBuffer.self)).map { .bytes(Array($0.readableBytesView)) } ?? .null
        case .numeric:
            return (try? cell.decode(String.self)).flatMap { Int64($0) }.map(PGValue.int) ?? .null
        default:
            return (try? cell.decode(String.self)).map(PGValue.text) ?? .null
        }
    }
}

/// A statement of the hot paths (a send, a read or delivered position, a
/// batch's NOTIFY, another node's events), prepared once per connection.
/// PostgreSQL infers its parameters' types from the statement, so each `?`
/// stands where a column or a cast gives it one (the value bound must be of
/// that type: int8 for ids, seqs and times, text, bool, bytea).
struct PGStatement: Sendable {
    /// In PostgreSQL's `$N` form.
    let sql: String
    /// Whether it only reads (`isReadOnly`).
    let readOnly: Bool
    /// Whether what it writes is accounted for by the session itself (an
    /// append, a mention, a NOTIFY, a read or delivered position), so that it leaves what a batch knows
    /// (`PGBatchState`) standing; any other write makes the batch forget it.
    let bookkept: Bool
    /// Whether PostgreSQL plans it at every call, with the arguments at
    /// hand, rather than once per connection: for a statement joining array
    /// arguments (`unnest`) with `events`, which grows faster than
    /// autovacuum's analyses in a database's first minutes. A prepared statement's
    /// plan is reused once PostgreSQL finds a generic one as cheap, and it
    /// finds that while the tables are small (at a node's first batches,
    /// before autovacuum's first analysis); such a plan then joined every
    /// batch's sends with a sequential scan of `events` (~10 ms per
    /// batch after 150,000 messages, growing with the table).
    let plannedEachCall: Bool

    init(_ sql: String, bookkept: Bool = false, plannedEachCall: Bool = false) {
        self.sql = PGSession.postgresSQL(sql)
        readOnly = Self.isReadOnly(sql)
        self.bookkept = bookkept
        self.plannedEachCall = plannedEachCall
    }

    /// Whether `sql` cannot change anything a rollback would undo: a
    /// SELECT calling none of the functions with effects chatd uses
    /// (`pg_notify`, `setval`, `nextval`). Row locks (FOR UPDATE) and
    /// advisory locks it may take last until the transaction ends either
    /// way. Anything else counts as a write.
    static func isReadOnly(_ sql: String) -> Bool {
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D }
        let head = sql.utf8.drop(while: isSpace).prefix(7)
        guard head.count == 7, let last = head.last, isSpace(last),
            String(decoding: head.dropLast(), as: UTF8.self).lowercased() == "select"
        else { return false }
        let lowered = sql.lowercased()
        return !["pg_notify", "setval", "nextval"].contains { lowered.contains($0) }
    }
}

/// What a group-commit batch knows of its own transaction, to spare round
/// trips to PostgreSQL (PostgresGroupCommit.runBatch): the last seq of each
/// conversation whose row it locked, the snapshots of its sends read in one
/// statement, and appends not yet stored. What it knows holds until a
/// statement the session does not account for writes (`forgetRows`).
struct PGBatchState {
    struct MessageKey: Hashable {
        let sender: UserID
        let clientMsgID: String
    }

    /// Whether appends may be deferred: in a batch, except when it runs
    /// again after a deferred append failed.
    var deferring = false
    var lastSeq: [ConversationID: Seq] = [:]
    /// Prefetched send snapshots, by sender and client_msg_id, then conversation.
    var snapshots: [MessageKey: [ConversationID: PGRow]] = [:]
    /// Events with their seqs, to store before the next statement.
    var appends: [Event] = []
    /// Why storing deferred appends failed (the transaction is aborted).
    var flushError: (any Error)?
    var flushFailed: Bool { flushError != nil }

    var knowsRows: Bool { !lastSeq.isEmpty || !snapshots.isEmpty }

    mutating func forgetRows() {
        lastSeq = [:]
        snapshots = [:]
    }
}

/// The statements prepared on each connection of the pool, by connection.
/// A statement is prepared the first time a connection runs it and kept for
/// the connection's life; a failed preparation is not kept (it is tried
/// again next time). Closed connections are forgotten when a new one comes.
final class PGPreparedStatements: Sendable {
    private struct Connection {
        let connection: PostgresConnection
        var queries: [String: PreparedQuery] = [:]
    }

    private let connections = Mutex<[PostgresConnection.ID: Connection]>([:])

    func query(
        _ statement: PGStatement, on connection: PostgresConnection, wait: (EventLoopFuture<PreparedQuery>) throws -> PreparedQuery
    ) throws -> PreparedQuery {
        if let query = connections.withLock({ $0[connection.id]?.queries[statement.sql] }) { return query }
        let query = try wait(connection.prepare(query: statement.sql))
        connections.withLock {
            if $0[connection.id] == nil {
                $0 = $0.filter { !$0.value.connection.isClosed }
                $0[connection.id] = Connection(connection: connection)
            }
            $0[connection.id]?.queries[statement.sql] = query
        }
        return query
    }

    /// Connections with prepared statements (tests).
    var count: Int { connections.withLock { $0.count } }
}

/// What PostgreSQL answered about a statement that failed, from either of
/// postgres-nio's error types (a prepared statement's failure comes as
/// its older `PostgresError`).
struct PGServerError {
    let sqlState: String?
    let message: String?
    let columnName: String?
    let constraintName: String?
    /// ERROR, FATAL or PANIC (not localized); FATAL and PANIC end the session.
    let severity: String?

    init?(_ error: any Error) {
        if let error = error as? PSQLError, let info = error.serverInfo {
            sqlState = info[.sqlState]
            message = info[.message]
            columnName = info[.columnName]
            constraintName = info[.constraintName]
            severity = info[.severity] ?? info[.localizedSeverity]
        } else if case PostgresError.server(let answer) = error {
            sqlState = answer.fields[.sqlState]
            message = answer.fields[.message]
            columnName = answer.fields[.columnName]
            constraintName = answer.fields[.constraintName]
            severity = answer.fields[.severity] ?? answer.fields[.localizedSeverity]
        } else {
            return nil
        }
    }

    /// The server ended the session (FATAL, PANIC): the statement's
    /// answer may never have been the error, e.g. a COMMIT whose record was
    /// flushed when another backend's crash made every session end (57P02).
    var endsSession: Bool { severity == "FATAL" || severity == "PANIC" }
}
