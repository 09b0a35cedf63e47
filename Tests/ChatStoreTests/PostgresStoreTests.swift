import ChatCore
import Dispatch
@testable import ChatPostgres
import ChatTestSupport
import Logging
import Synchronization
import Testing

/// What only the PostgreSQL store has to show: several nodes on one
/// database, its migrations, its full-text search and its connection errors.
struct PostgresStoreTests {
    static let logger = Logger(label: "test.postgres")

    /// Two stores on one database stand for two nodes, each LISTENing for
    /// the other's commits. Concurrent sends to one room through both get
    /// one gap-free seq stream; the same client_msg_id sent through both
    /// nodes at once is stored once; each node's observer gets the whole
    /// stream, in order, exactly once.
    @Test func twoNodesShareOneGapFreeStreamAndIdempotency() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let nodes = [try await PostgresStore.open(settings, logger: Self.logger), try await PostgresStore.open(settings, logger: Self.logger)]
        let published = [Published(), Published()]
        var listeners: [Task<Void, Never>] = []
        for (i, node) in nodes.enumerated() {
            node.setEventObserver { batch in published[i].withLock { $0 += batch.flatMap(\.events).map(\.seq) } }
            listeners.append(Task { await node.listenForOtherNodes(retry: .milliseconds(50)) })
        }
        defer { for listener in listeners { listener.cancel() } }
        for node in nodes { try await Self.waitUntil { node.isListening } }
        let f = Fixture(existing: nodes[0])
        let alice = try await Self.register(f, "alice")
        let room = try await f.rooms().createRoom(alice, name: "shared", description: "", visibility: .public)
        // The other node hears of the room's first event.
        try await Self.waitUntil { published[1].withLock { $0 } == [1] }
        let services = nodes.map { ConversationService(store: $0, clock: f.clock, limits: DomainLimits()) }
        let results = try await withThrowingTaskGroup(of: (Int64, Bool).self) { group in
            for i in 0..<40 {
                group.addTask {
                    let r = try await services[i % 2].send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m\(i)", text: "t\(i)"))
                    return (r.event.seq, r.duplicate)
                }
                // The same id through the other node.
                group.addTask {
                    let r = try await services[(i + 1) % 2].send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m\(i)", text: "t\(i)"))
                    return (r.event.seq, r.duplicate)
                }
            }
            var all: [(Int64, Bool)] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.filter { !$0.1 }.count == 40)
        #expect(results.filter { $0.1 }.count == 40)
        let page = try await nodes[1].history(conversation: room.id, anchor: .after(0), limit: 100, viewer: alice.userID)
        #expect(page.events.map(\.seq) == Array(1...41))
        #expect(page.headSeq == 41)
        for seen in published {
            try await Self.waitUntil { seen.withLock { $0.count } >= 41 }
            #expect(seen.withLock { $0 } == Array(1...41))
        }
        for node in nodes { await node.close() }
    }

    /// History, Sync and the conversation list read in one snapshot
    /// (§5.10, §6.2), as SQLite's reads do: a message committed between two
    /// statements of such a read is seen by both or neither. Each statement
    /// of a plain read sees its own moment, which is what a page's head seq
    /// read before a message and its unread count read after it came from.
    @Test func aSnapshotReadSeesOneMoment() async throws {
        let (store, rooms, alice, _, room, _) = try await Self.roomOfTwo("snapshot")
        defer { Task { await store.close() } }
        func countTwiceAroundASend(snapshot: Bool, _ id: String) async throws -> (Int64, Int64) {
            let firstCounted = DispatchSemaphore(value: 0)
            let sent = DispatchSemaphore(value: 0)
            let body: @Sendable (PGSession) throws -> (Int64, Int64) = { s in
                let sql = "SELECT count(*) FROM events WHERE conversation_id = ?"
                let before = try s.int(sql, [room.id]) ?? 0
                firstCounted.signal()
                guard sent.wait(timeout: .now() + 30) == .success else { throw ChatFailure(.internal, "the send never came") }
                return (before, try s.int(sql, [room.id]) ?? 0)
            }
            let counts = Task { snapshot ? try await store.snapshotRead(body) : try await store.read(body) }
            await withCheckedContinuation { done in DispatchQueue.global().async { firstCounted.wait(); done.resume() } }
            _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: id, text: id))
            sent.signal()
            return try await counts.value
        }
        let plain = try await countTwiceAroundASend(snapshot: false, "m1")
        #expect(plain.1 == plain.0 + 1, "a plain read's second statement sees the send")
        let snapshot = try await countTwiceAroundASend(snapshot: true, "m2")
        #expect(snapshot.1 == snapshot.0, "both statements of a snapshot read see one moment")
    }

    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func withLock<T>(_ body: (inout [String]) -> T) -> T { lines.withLock { body(&$0) } }
    }

    final class Flag: Sendable {
        let state = Mutex(true)
        var value: Bool {
            get { state.withLock { $0 } }
            set { state.withLock { $0 = newValue } }
        }
    }

    final class Published: Sendable {
        let seqs = Mutex<[Int64]>([])
        func withLock<T>(_ body: (inout [Int64]) -> T) -> T { seqs.withLock { body(&$0) } }
    }

    static func register(_ f: Fixture, _ name: String) async throws -> Session {
        try await f.accounts().register(
            username: name, password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
    }

    /// A fresh store with a public room of alice (its creator) and bob, and the room's head seq.
    static func roomOfTwo(_ name: String) async throws -> (PostgresStore, ConversationService, Session, Session, Conversation, Seq) {
        let store = try await PostgresTestCluster.shared.freshStore()
        let f = Fixture(existing: store)
        let alice = try await register(f, "alice")
        let bob = try await register(f, "bob")
        let rooms = f.rooms()
        let room = try await rooms.createRoom(alice, name: name, description: "", visibility: .public)
        _ = try await rooms.join(bob, room: room.id)
        let head = try #require(try await store.conversation(id: room.id, viewer: nil)).headSeq
        return (store, rooms, alice, bob, room, head)
    }

    /// Polls `condition` for up to 10 s.
    static func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        for _ in 0..<1000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting")
    }

    /// A node loads where the streams stand before it serves anyone (the
    /// daemon does, before it reads the memberships its fan-out works from);
    /// what another node commits before this node's LISTEN takes effect (a
    /// join, a message to a client already connected here) is published
    /// when it does, not skipped.
    @Test func whatOtherNodesCommitBeforeListeningTakesEffectIsPublished() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let writer = try await PostgresStore.open(settings, logger: Self.logger)
        let late = try await PostgresStore.open(settings, logger: Self.logger)
        let f = Fixture(existing: writer)
        let alice = try await Self.register(f, "alice")
        let before = try await f.rooms().createRoom(alice, name: "before", description: "", visibility: .public)
        try await late.loadHeads()
        let published = Published()
        let accountEvents = Mutex<[AccountEventKind]>([])
        late.setEventObserver { batch in
            published.withLock { $0 += batch.flatMap(\.events).filter { $0.conversationID != before.id }.map(\.seq) }
            accountEvents.withLock { $0 += batch.flatMap(\.accountEvents).map(\.kind) }
        }
        // Committed after the heads were loaded, before LISTEN.
        let room = try await f.rooms().createRoom(alice, name: "meanwhile", description: "", visibility: .public)
        let services = ConversationService(store: writer, clock: f.clock, limits: DomainLimits())
        for i in 0..<3 { _ = try await services.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m\(i)", text: "t\(i)")) }
        let listener = Task { await late.listenForOtherNodes(retry: .milliseconds(50)) }
        defer { listener.cancel() }
        try await Self.waitUntil { late.isListening }
        try await Self.waitUntil { published.withLock { $0 } == [1, 2, 3, 4] }
        #expect(accountEvents.withLock { $0 }.contains(.addedToConversation))
        // And what comes after, once.
        _ = try await services.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m3", text: "t3"))
        try await Self.waitUntil { published.withLock { $0 } == [1, 2, 3, 4, 5] }
    }

    /// What a node that listens again checks its sessions against: each
    /// device's state, and the reason its sessions end.
    @Test func endedDevicesNameWhyEachSessionEnds() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let store = try await PostgresStore.open(settings, logger: Self.logger)
        let f = Fixture(existing: store)
        var devices: [String: DeviceRowID] = [:]
        for name in ["alive", "revoked", "disabled", "loggedout"] {
            devices[name] = try await f.accounts().register(
                username: name, password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
            ).session.deviceRowID
        }
        let (revoked, disabled, loggedOut) = (devices["revoked"] ?? 0, devices["disabled"] ?? 0, devices["loggedout"] ?? 0)
        try await store.transaction { tx in try tx.revokeDevice(revoked, now: 5) }
        let disabledUser = try await store.devices(user: nil, includeRevoked: true, limit: 100).first { $0.rowID == disabled }?.userID
        try await store.setDisabled(user: disabledUser ?? 0, true)
        try await store.setToken(device: loggedOut, hash: nil, expiresAt: nil)
        let ended = try await store.endedDevices(Array(devices.values) + [999_999])
        #expect(
            Dictionary(ended, uniquingKeysWith: { a, _ in a })
                == [revoked: .deviceRevoked, disabled: .accountDisabled, loggedOut: .tokenEnded, 999_999: .accountDisabled])
        #expect(try await store.endedDevices([]).isEmpty)
        await store.close()
    }

    /// Two nodes sending into the same conversations at once, each in the
    /// opposite order, never deadlock: a batch locks its conversations' rows
    /// in id order before its writes run. (Before, nearly every such batch
    /// deadlocked and waited PostgreSQL's deadlock_timeout: a direct chat
    /// whose users sat on two nodes managed about 13 sends/s.)
    @Test func twoNodesWritingTheSameConversationsDoNotDeadlock() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let nodes = [try await PostgresStore.open(settings, logger: Self.logger), try await PostgresStore.open(settings, logger: Self.logger)]
        let f = Fixture(existing: nodes[0])
        let alice = try await Self.register(f, "alice")
        var rooms: [ConversationID] = []
        for i in 0..<8 {
            rooms.append(try await f.rooms().createRoom(alice, name: "r\(i)", description: "", visibility: .public).id)
        }
        let services = nodes.map { ConversationService(store: $0, clock: f.clock, limits: DomainLimits()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for round in 0..<6 {
                for (n, service) in services.enumerated() {
                    // Node 0 goes through the rooms upwards, node 1 downwards.
                    for room in n == 0 ? rooms : rooms.reversed() {
                        group.addTask {
                            _ = try await service.send(
                                alice, conversation: room, toUser: 0, .init(clientMsgID: "\(n)-\(room)-\(round)", text: "x"))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let deadlocks = try await nodes[0].read { s in
            try s.int("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()") ?? -1
        }
        #expect(deadlocks == 0)
        for room in rooms {
            let page = try await nodes[1].history(conversation: room, anchor: .after(0), limit: 100, viewer: alice.userID)
            #expect(page.events.map(\.seq) == Array(1...13))
        }
        for node in nodes { await node.close() }
    }

    /// A send whose batch's connection breaks at its COMMIT (`fault` runs
    /// once, just before or just after it): the send is answered as if nothing had
    /// broken, stored once, and published once. Answers the batches rolled back.
    static func sendThroughABrokenCommit(
        _ name: String, afterCommit: Bool, fault: @escaping @Sendable (PGSession) throws -> Void
    ) async throws -> Int {
        let (store, rooms, alice, _, room, head) = try await roomOfTwo(name)
        let seen = Published()
        store.setEventObserver { batch in seen.withLock { $0 += batch.flatMap(\.events).map(\.seq) } }
        let armed = Flag()
        store.commitFault.withLockedValue {
            $0 = { s, after in
                guard after == afterCommit, armed.value else { return }
                armed.value = false
                try fault(s)
            }
        }
        let sent = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m1", text: "hello"))
        let faultRan = !armed.value
        #expect(faultRan)
        #expect(!sent.duplicate && sent.event.seq == head + 1)
        let page = try await store.history(conversation: room.id, anchor: .after(head), limit: 10, viewer: alice.userID)
        #expect(page.events.map(\.seq) == [head + 1] && page.events.first?.text == "hello")
        #expect(seen.withLock { $0 } == [head + 1], "published once")
        // The store goes on writing on fresh connections.
        let next = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m2", text: "again"))
        #expect(next.event.seq == head + 2)
        let rolledBack = store.rolledBackBatches
        await store.close()
        return rolledBack
    }

    /// The COMMIT took effect and its answer was lost: the database says
    /// the transaction committed, so the send succeeds (it used to fail
    /// with the connection's error, and nothing here published the message).
    @Test func aCommitWhoseAnswerWasLostIsFoundCommitted() async throws {
        let rolledBack = try await Self.sendThroughABrokenCommit("answer-lost", afterCommit: true) { s in
            try? s.connection.close().wait()
            throw ChatFailure(.unavailable, "the connection to PostgreSQL closed")
        }
        #expect(rolledBack == 0)
    }

    /// The connection broke before the COMMIT went out: the database says
    /// the transaction aborted, so the batch runs again on a fresh
    /// connection and the send is stored then.
    @Test func aCommitThatNeverArrivedRunsTheBatchAgain() async throws {
        let rolledBack = try await Self.sendThroughABrokenCommit("commit-lost", afterCommit: false) { s in
            try? s.connection.close().wait()
        }
        #expect(rolledBack == 1)
    }

    /// The server ended the batch's session before its COMMIT (as an
    /// operator's pg_terminate_backend or a crash of another backend
    /// does): the transaction aborted, so the batch runs again.
    @Test func aSessionTheServerEndsBeforeCommitRunsTheBatchAgain() async throws {
        let rolledBack = try await Self.sendThroughABrokenCommit("terminated", afterCommit: false) { s in
            _ = try? s.rows("SELECT pg_terminate_backend(pg_backend_pid())")
        }
        #expect(rolledBack == 1)
    }

    /// What `settle` learns of a transaction: in progress while a backend
    /// sits idle in it, which is then terminated (its COMMIT will never
    /// come), so that it aborts; committed once committed.
    @Test func aTransactionLeftIdleIsEndedAndAborts() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let store = try await PostgresStore.open(settings, logger: Self.logger)
        let other = try await PostgresStore.open(settings, logger: Self.logger)
        @Sendable func begin(_ s: PGSession) throws -> PostgresStore.BatchTransaction {
            try s.execute("BEGIN")
            guard let row = try s.row(PostgresStore.batchTransactionSQL) else { throw ChatFailure(.internal, "no xid") }
            return PostgresStore.BatchTransaction(xid: row[0].int, backend: row[1].int)
        }
        // Left open on one of the other store's connections, as a batch
        // whose COMMIT never reached the server leaves it.
        let idle = try await other.read { s in try begin(s) }
        var statuses: [PostgresStore.TransactionStatus] = []
        for _ in 0..<250 {
            let status = try await store.read { s in try PostgresStore.transactionStatus(idle, s) }
            statuses.append(status)
            if status != .inProgress { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(statuses.first == .inProgress && statuses.last == .aborted, "\(statuses)")
        let committed = try await store.read { s in
            let t = try begin(s)
            try s.execute("COMMIT")
            return t
        }
        #expect(try await store.read { s in try PostgresStore.transactionStatus(committed, s) } == .committed)
        await other.close()
        await store.close()
    }

    /// Nodes starting at once with the same `rooms.default` create each
    /// room once, and every node gets its id (a second INSERT of the name
    /// used to fail that node's start with `conflict`).
    @Test func nodesStartingAtOnceCreateEachDefaultRoomOnce() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let nodes = [try await PostgresStore.open(settings, logger: Self.logger), try await PostgresStore.open(settings, logger: Self.logger)]
        let names = ["lobby", "Random", "help"]
        let answers = try await withThrowingTaskGroup(of: [ConversationID].self) { group in
            for i in 0..<12 {
                group.addTask { try await nodes[i % 2].ensureRooms(names: names, now: 1_000) }
            }
            var all: [[ConversationID]] = []
            for try await ids in group { all.append(ids) }
            return all
        }
        #expect(answers.count == 12)
        #expect(Set(answers).count == 1, "every start got the same rooms: \(answers)")
        let counts = try await nodes[0].read { s in
            try s.rows(
                """
                SELECT c.name, count(*) OVER (PARTITION BY c.name_key),
                       (SELECT count(*) FROM events e WHERE e.conversation_id = c.id)
                FROM conversations c ORDER BY c.id
                """
            ).map { "\($0[0].text) \($0[1].int) \($0[2].int)" }
        }
        #expect(counts == ["lobby 1 1", "Random 1 1", "help 1 1"])
        for node in nodes { await node.close() }
    }

    /// A write that swallows a failed statement and answers success is
    /// refused: PostgreSQL aborted the batch's transaction (and would
    /// answer its COMMIT with ROLLBACK). The batch's other writes run again
    /// and commit.
    @Test func aWriteThatGoesOnAfterAFailedStatementIsRefused() async throws {
        let store = try await PostgresTestCluster.shared.freshStore()
        try await store.write { s in try s.execute("CREATE TABLE scratch (x bigint PRIMARY KEY)") }
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for i in 0..<40 {
                group.addTask {
                    let ok = (try? await store.write { s in
                        if i == 7 {
                            _ = try? s.execute("SELECT 1 / 0")
                            return i
                        }
                        try s.execute("INSERT INTO scratch (x) VALUES (?)", [i])
                        return i
                    }) != nil
                    return (i, ok)
                }
            }
            var out: [Int: Bool] = [:]
            for await (i, ok) in group { out[i] = ok }
            return out
        }
        #expect(results.filter { !$0.value }.map(\.key) == [7])
        let stored = try await store.read { s in try s.ints("SELECT x FROM scratch ORDER BY x") }
        #expect(stored == (0..<40).filter { $0 != 7 }.map(Int64.init))
        await store.close()
    }

    /// Content placement and collection exclude each other across nodes
    /// (two nodes on one file store): while one node holds the content
    /// lock, another node's request waits; a failing body releases it; and
    /// cutting every connection to the database does not keep a node from
    /// taking it next.
    @Test func theContentLockExcludesOtherNodes() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let a = try await PostgresStore.open(settings, logger: Self.logger)
        let b = try await PostgresStore.open(settings, logger: Self.logger)
        let log = Lines()
        let (entered, enter) = AsyncStream.makeStream(of: Void.self)
        let (released, release) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await a.excludingOtherNodes {
                log.withLock { $0.append("a in") }
                enter.yield()
                for await _ in released { break }
                log.withLock { $0.append("a out") }
            }
        }
        for await _ in entered { break }
        let waiter = Task { try await b.excludingOtherNodes { log.withLock { $0.append("b in") } } }
        try await Task.sleep(for: .milliseconds(500))
        #expect(log.withLock { $0 } == ["a in"])
        release.yield()
        try await holder.value
        try await waiter.value
        #expect(log.withLock { $0 } == ["a in", "a out", "b in"])

        await #expect(throws: ChatFailure.self) {
            try await a.excludingOtherNodes { () async throws -> Int in throw ChatFailure(.unavailable, "the body failed") }
        }
        try await b.excludingOtherNodes { log.withLock { $0.append("b again") } }

        // Cut every connection holding an advisory lock or idle on it: the
        // next requests reconnect.
        let admin = try await PostgresStore.open(settings, logger: Self.logger)
        try await admin.read { s in
            try s.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        }
        try await a.excludingOtherNodes { log.withLock { $0.append("a again") } }
        try await b.excludingOtherNodes { log.withLock { $0.append("b third") } }
        #expect(log.withLock { $0 }.suffix(3) == ["b again", "a again", "b third"])
        for store in [a, b, admin] { await store.close() }
    }

    @Test func aNewerSchemaIsRefusedAndMigrationsRunOnce() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let store = try await PostgresStore.open(settings, logger: Self.logger)
        let version = try await store.schemaVersion()
        #expect(version >= 1)
        await store.close()
        // Opening again migrates nothing.
        let again = try await PostgresStore.open(settings, logger: Self.logger)
        #expect(try await again.schemaVersion() == version)
        try await again.transaction { tx in _ = tx }
        await again.close()
        let cluster = try await PostgresTestCluster.shared.start()
        try PostgresTestCluster.run(
            ["/usr/bin/env", "psql", "-h", "127.0.0.1", "-p", String(cluster.port), "-U", "chatd", "-d", settings.database, "-qAt",
             "-c", "INSERT INTO chatd_schema (version) VALUES (\(version + 1))"],
            environment: ["PGPASSWORD": cluster.password])
        do {
            _ = try await PostgresStore.open(settings, logger: Self.logger)
            Issue.record("a newer schema was accepted")
        } catch let error as PostgresStoreError {
            #expect(error.kind == .newerSchema)
        }
    }

    /// The hot paths' statements are prepared once per connection and
    /// answer as the same statement sent unprepared does; a failing one
    /// reports PostgreSQL's error as any statement does, and a statement
    /// whose preparation failed is prepared again next time, not kept.
    @Test func hotStatementsArePreparedOncePerConnection() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let store = try await PostgresStore.open(settings, logger: Self.logger)
        let f = Fixture(existing: store)
        let alice = try await Self.register(f, "alice")
        let room = try await f.rooms().createRoom(alice, name: "prepared", description: "", visibility: .public)
        _ = try await f.rooms().send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m1", text: "hello"))
        #expect(store.preparedStatements.count > 0)
        try await store.read { s in
            let args: [any PGBindable] = [room.id, alice.userID]
            let prepared = try s.rows(PostgresStore.standingSQL, args)
            #expect(try s.rows(PostgresStore.standingSQL, args).map(\.values) == prepared.map(\.values))
            // The same values as unprepared (text, ints, nulls: results come in binary).
            #expect(prepared.map(\.values) == (try s.rows(PostgresStore.standingSQL.sql, args)).map(\.values))
            #expect(prepared.first?[0] == .text("room"))
            #expect(prepared.first?[3] == .text("owner"))
            #expect(prepared.first?[5] == .null)
            let events = try s.rows(PostgresStore.eventRangeSQL, [room.id, 1, 10]).map(PostgresStore.event)
            #expect(events.map(\.text) == [nil, "hello"])
            #expect(
                try s.int("SELECT count(*) FROM pg_prepared_statements WHERE statement = ?", [PostgresStore.standingSQL.sql]) == 1)

            let divide = PGStatement("SELECT 1 / ?::bigint")
            #expect(try s.int(divide, [2]) == 0)
            #expect { try s.int(divide, [0]) } throws: { PGServerError($0)?.sqlState == "22012" }
            let missing = PGStatement("SELECT x FROM no_such_table WHERE x = ?")
            for _ in 0..<2 {
                #expect { try s.rows(missing, [1]) } throws: {
                    "\(PostgresStore.translate($0))".contains("42P01") && PGServerError($0)?.sqlState == "42P01"
                }
            }
        }
        await store.close()
    }

    /// A send's reads, pipelined and merged (`sendSnapshot`), answer what
    /// the seam's separate reads answer: a prior event or none, a member or
    /// not, a direct chat blocked either way or not, no such conversation.
    @Test func aSendsReadsTogetherAnswerAsTheSeparateReads() async throws {
        let settings = try await PostgresTestCluster.shared.freshDatabase()
        let store = try await PostgresStore.open(settings, logger: Self.logger)
        let f = Fixture(existing: store)
        let register = { (name: String) in try await Self.register(f, name) }
        let alice = try await register("alice")
        let bob = try await register("bob")
        let carol = try await register("carol")
        let rooms = f.rooms()
        let room = try await rooms.createRoom(alice, name: "snapshots", description: "", visibility: .public)
        _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m1", text: "hello"))
        let blockedChat = try await rooms.openDirect(alice, userID: bob.userID, username: "")
        let openChat = try await rooms.openDirect(alice, userID: carol.userID, username: "")
        try await FriendService(store: store, clock: f.clock).block(bob, userID: alice.userID, username: "")
        let cases: [(UserID, ConversationID, String)] = [
            (alice.userID, room.id, "m1"), (alice.userID, room.id, "new"), (carol.userID, room.id, "m1"),
            (alice.userID, blockedChat.id, "d1"), (bob.userID, blockedChat.id, "d1"), (carol.userID, blockedChat.id, "d1"),
            (alice.userID, openChat.id, "d2"), (alice.userID, 999_999, "m1"),
        ]
        let checked = try await store.transaction { tx in
            var blocked: [Bool] = []
            for (user, conversation, clientMsgID) in cases {
                let snapshot = try tx.sendSnapshot(sender: user, in: conversation, clientMsgID: clientMsgID)
                let standing = try tx.standing(of: user, in: conversation)
                #expect(snapshot.standing == standing)
                #expect(snapshot.prior == (try tx.priorEvent(sender: user, clientMsgID: clientMsgID)))
                let peer = try tx.peer(inDirect: conversation, of: user)
                let direct = standing.conversation?.kind == .direct
                #expect(snapshot.blocked == (try direct && peer.map { try tx.isBlocked(user, $0) } == true))
                blocked.append(snapshot.blocked)
            }
            return blocked
        }
        #expect(checked == [false, false, false, true, true, false, false, false])
        // The same reads for every case at once (a group-commit batch's), row by row.
        let together = try await store.write { s in
            try s.rows(
                PostgresStore.batchSendSnapshotSQL,
                [PGArray(cases.map { Optional($0.1) }), PGArray(cases.map { Optional($0.0) }), PGArray(cases.map { Optional($0.2) })]
            ).map { row in
                let key = PostgresStore.batchSendSnapshotKey(row)
                return ("\(key.sender) \(key.conversation) \(key.clientMsgID)", Array(row.values.dropLast(3)))
            }
        }
        let alone = try await store.write { s in
            try cases.map { ("\($0.0) \($0.1) \($0.2)", try s.row(PostgresStore.sendSnapshotSQL, [$0.1, $0.0, $0.2])?.values ?? []) }
        }
        #expect(together.count == cases.count)
        #expect(Dictionary(uniqueKeysWithValues: together) == Dictionary(uniqueKeysWithValues: alone))
        await store.close()
    }

    /// A node reads the events another node announced in one statement:
    /// the same events as a statement per range, in the announcement's
    /// order (a range past the head reads nothing).
    @Test func anAnnouncementsRangesReadTogetherAnswerAsTheSeparateReads() async throws {
        let (store, rooms, alice, bob, room, head) = try await Self.roomOfTwo("ranges")
        let direct = try await rooms.openDirect(alice, userID: bob.userID, username: "")
        for i in 0..<4 {
            _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "r\(i)", text: "room \(i)"))
            _ = try await rooms.send(bob, conversation: direct.id, toUser: 0, .init(clientMsgID: "d\(i)", text: "direct \(i)"))
        }
        let ranges: [(ConversationID, Seq, Seq)] = [
            (direct.id, 2, 3), (room.id, head + 1, head + 4), (direct.id, 1, 1), (room.id, head + 5, head + 9), (999_999, 1, 5),
        ]
        let (together, alone) = try await store.write { s in
            let alone = try ranges.flatMap { try s.rows(PostgresStore.eventRangeSQL, [$0.0, $0.1, $0.2]).map(PostgresStore.event) }
            return (try PostgresStore.eventRanges(s, ranges), alone)
        }
        #expect(together.map { "\($0.conversationID):\($0.seq)" } == [
            "\(direct.id):2", "\(direct.id):3", "\(room.id):\(head + 1)", "\(room.id):\(head + 2)", "\(room.id):\(head + 3)",
            "\(room.id):\(head + 4)", "\(direct.id):1",
        ])
        #expect(together == alone)
        await store.close()
    }

    /// The statements that join a batch's array arguments with `events`
    /// look rows up by index whatever PostgreSQL estimates. Written as
    /// joins, both were planned as a hash join over every event when the
    /// statistics made that look cheaper (a node's first minute, before
    /// autovacuum analyzes the grown table: 5–16 ms per batch after 10 s
    /// of sends). Here the planner is told to avoid nested loops and merge
    /// joins, as such estimates would make it: each lookup stays an index scan.
    @Test func batchStatementsReadEventsByIndexWhateverTheEstimates() async throws {
        let (store, _, alice, bob, room, head) = try await Self.roomOfTwo("plans")
        let bulk: Int64 = 2_000
        try await store.write { s in
            try s.execute(
                """
                INSERT INTO events (conversation_id, seq, kind, sender_id, client_msg_id, message_type, text, created_at)
                SELECT ?, ? + g, 'message', ?, 'bulk' || g, 'text', 'bulk ' || g, 0 FROM generate_series(1, ?::bigint) g
                """, [room.id, head, alice.userID, bulk])
            try s.execute("UPDATE conversations SET last_seq = ? WHERE id = ?", [head + bulk, room.id])
            try s.execute("ANALYZE events")
        }
        func plan(_ statement: PGStatement, _ args: [any PGBindable]) async throws -> String {
            try await store.write { s in
                try s.execute("SET LOCAL enable_nestloop = off")
                try s.execute("SET LOCAL enable_mergejoin = off")
                return try s.rows("EXPLAIN " + statement.sql, args).map { $0[0].text }.joined(separator: "\n")
            }
        }
        let ranges = try await plan(
            PostgresStore.eventRangesSQL,
            [PGArray([room.id, room.id, room.id]), PGArray([head + 1, head + 900, head + 1500]), PGArray([head + 600, head + 910, head + 1600])])
        let snapshots = try await plan(
            PostgresStore.batchSendSnapshotSQL,
            [PGArray([room.id, room.id, room.id]), PGArray([alice.userID, bob.userID, alice.userID]), PGArray(["bulk5", "new", "bulk7"])])
        #expect(!ranges.contains("Seq Scan on events"), "\(ranges)")
        #expect(!snapshots.contains("Seq Scan on events"), "\(snapshots)")
        // And they answer as before.
        let events = try await store.write { s in
            try PostgresStore.eventRanges(s, [(room.id, head + 1, head + 3), (room.id, head + bulk, head + bulk + 5)])
        }
        #expect(events.map(\.seq) == [head + 1, head + 2, head + 3, head + bulk])
        await store.close()
    }

    /// A group-commit batch reads its sends' snapshots in one statement and
    /// stores their events (with mentions and each conversation's head) in
    /// one more. When that store fails, no single write is to blame: the
    /// batch runs again appending write by write, and only the write whose
    /// row the database refuses fails. Retries within the batch are
    /// duplicates, the stream has no gap, and the mentions are there.
    @Test func aBatchsSendsAreStoredTogetherAndOnlyARefusedOneFails() async throws {
        let (store, rooms, alice, bob, room, head) = try await Self.roomOfTwo("batch")
        try await store.write { s in
            try s.execute(
                """
                CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.text = 'refused' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$
                """)
            try s.execute("CREATE TRIGGER test_refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_refuse()")
        }
        // Batches fill up: the sends below share a few of them.
        store.reconfigureGroupCommit(maxWrites: 64, maxDelayMicros: 50_000)
        let before = store.rolledBackBatches
        let results = await withTaskGroup(of: (Int, AppendResult?).self) { group in
            for i in 0..<30 {
                group.addTask {
                    let (sender, other) = i % 2 == 0 ? (alice, "bob") : (bob, "alice")
                    // 21 retries 3 (both bob's); 13 is refused by the database.
                    let id = i == 21 ? "m3" : "m\(i)"
                    let text = i == 13 ? "refused" : "hi @\(other) \(i == 21 ? 3 : i)"
                    let r = try? await rooms.send(sender, conversation: room.id, toUser: 0, .init(clientMsgID: id, text: text))
                    return (i, r)
                }
            }
            var out: [Int: AppendResult?] = [:]
            for await (i, r) in group { out[i] = r }
            return out
        }
        #expect(results.filter { $0.value == nil }.map(\.key) == [13])
        #expect(store.rolledBackBatches > before)
        let stored = results.compactMap(\.value).filter { !$0.duplicate }.map(\.event.seq).sorted()
        #expect(stored == Array((head + 1)...(head + 28)))
        let (first, retry) = (try #require(results[3] ?? nil), try #require(results[21] ?? nil))
        #expect(first.event.seq == retry.event.seq && first.duplicate != retry.duplicate)
        let page = try await store.history(conversation: room.id, anchor: .after(head), limit: 100, viewer: alice.userID)
        #expect(page.events.map(\.seq) == stored)
        #expect(page.headSeq == head + 28)
        #expect(Set(page.events.compactMap(\.text)).count == 28)
        let mentions = try await store.read { s in
            try s.rows("SELECT seq, user_id FROM mentions WHERE conversation_id = ? ORDER BY seq", [room.id]).map { [$0[0].int, $0[1].int] }
        }
        #expect(mentions == page.events.map { [$0.seq, $0.senderID == alice.userID ? bob.userID : alice.userID] })
        #expect(page.events.allSatisfy { $0.mentions == [$0.senderID == alice.userID ? bob.userID : alice.userID] })
        await store.close()
    }

    /// What a batch knows of its transaction (the conversation's last seq,
    /// prefetched snapshots) holds only until a statement it does not
    /// account for writes: a send after a member was removed in the same
    /// transaction sees the removal, and seqs go on from the deferred appends.
    @Test func aBatchForgetsWhatAnotherWriteMayHaveChanged() async throws {
        let (store, _, alice, bob, room, head) = try await Self.roomOfTwo("forget")
        @Sendable func message(_ sender: Session, _ id: String) -> NewMessage {
            NewMessage(
                conversation: room.id, sender: sender.userID, clientMsgID: id, type: .text, text: id, attachment: nil, replyTo: nil,
                mentionKeys: [], now: 1)
        }
        let (seqs, refused) = try await store.write { s, changes in
            let locked = try s.rows(PostgresStore.lockConversationsSQL, [PGArray([Optional(room.id)])])
            s.locked(lastSeqs: locked.map { ($0[0].int, $0[1].int) })
            for (sender, id) in [(bob, "b1"), (bob, "b2"), (alice, "a1")] {
                let row = try #require(
                    try s.rows(
                        PostgresStore.batchSendSnapshotSQL,
                        [PGArray([Optional(room.id)]), PGArray([Optional(sender.userID)]), PGArray([Optional(id)])]
                    ).first)
                s.prefetched(row, conversation: room.id, sender: sender.userID, clientMsgID: id)
            }
            let tx = PostgresTransaction(s)
            let b1 = try tx.appendMessage(message(bob, "b1")).event.seq
            // Deferred: in the transaction, but not stored yet.
            #expect(s.batch.appends.map(\.seq) == [b1])
            // A delivered position: the events go in first; only bob's own
            // snapshot there stops holding.
            _ = try tx.markDelivered([DeliveredEntry(conversation: room.id, seq: b1)], user: bob.userID)
            #expect(s.batch.appends.isEmpty && s.batch.lastSeq[room.id] == b1)
            #expect(s.batch.snapshots[.init(sender: bob.userID, clientMsgID: "b2")]?[room.id] == nil)
            #expect(s.batch.snapshots[.init(sender: alice.userID, clientMsgID: "a1")]?[room.id] != nil)
            try tx.deleteMember(conversation: room.id, user: bob.userID)
            #expect(s.batch.appends.isEmpty && !s.batch.knowsRows)
            let refused = (try? tx.appendMessage(message(bob, "b2"))) == nil
            let a1 = try tx.appendMessage(message(alice, "a1")).event.seq
            changes = tx.changes
            return ([b1, a1], refused)
        }
        #expect(seqs == [head + 1, head + 2])
        #expect(refused)
        let page = try await store.history(conversation: room.id, anchor: .after(head), limit: 10, viewer: alice.userID)
        #expect(page.events.map(\.text) == ["b1", "a1"])
        await store.close()
    }

    @Test func connectionProblemsAreNamed() async throws {
        var settings = try await PostgresTestCluster.shared.settings()
        #expect(try await PostgresStore.check(settings, logger: Self.logger) >= 150_000)
        settings.password = "not-the-password"
        await #expect { try await PostgresStore.check(settings, logger: Self.logger) } throws: {
            ($0 as? PostgresStoreError)?.kind == .authenticationFailed && !"\($0)".contains("not-the-password")
        }
        settings.port = 1
        await #expect { try await PostgresStore.check(settings, logger: Self.logger) } throws: {
            ($0 as? PostgresStoreError)?.kind == .unreachable
        }
    }

    /// The search syntax of spec §13.6 on tsvector: words, phrases,
    /// prefixes, OR, exclusion; only the viewer's conversations.
    @Test func fullTextSearchTakesTheSameSyntax() async throws {
        let f = try await Fixture(.postgresql)
        let rooms = f.rooms()
        let register = { (name: String) in try await Self.register(f, name) }
        let alice = try await register("alice")
        let bob = try await register("bob")
        let room = try await rooms.createRoom(alice, name: "search", description: "", visibility: .public)
        let other = try await rooms.createRoom(bob, name: "elsewhere", description: "", visibility: .private)
        var seqs: [String: Int64] = [:]
        for text in ["the quick brown fox", "a lazy dog", "Quickly now", "brown bread and fox tails"] {
            seqs[text] = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: text, text: text)).event.seq
        }
        _ = try await rooms.send(bob, conversation: other.id, toUser: 0, .init(clientMsgID: "x", text: "fox in a private room"))
        func search(_ q: String, order: SearchOrder = .newest) async throws -> [Int64] {
            try await f.store.searchMessages(
                SearchRequest(viewer: alice.userID, query: try SearchQuery(q), conversation: nil, order: order, cursor: .start, limit: 10)
            ).hits.map(\.seq)
        }
        let quick = try #require(seqs["the quick brown fox"])
        let lazy = try #require(seqs["a lazy dog"])
        let quickly = try #require(seqs["Quickly now"])
        let bread = try #require(seqs["brown bread and fox tails"])
        #expect(try await search("fox") == [bread, quick])
        #expect(try await search("\"brown fox\"") == [quick])
        #expect(try await search("quick*") == [quickly, quick])
        #expect(try await search("lazy OR bread") == [bread, lazy])
        #expect(try await search("fox -bread") == [quick])
        #expect(Set(try await search("fox", order: .rank)) == [bread, quick])
        let hit = try #require(try await f.store.searchMessages(
            SearchRequest(viewer: alice.userID, query: try SearchQuery("lazy"), conversation: room.id, order: .newest, cursor: .start, limit: 1)
        ).hits.first)
        #expect(hit.snippet.contains("\u{2}lazy\u{3}"))
        // An edit re-indexes; a deletion removes.
        _ = try await rooms.edit(alice, conversation: room.id, seq: quickly, text: "slowly now", clientMsgID: "edit")
        #expect(try await search("slowly") == [quickly])
        _ = try await rooms.deleteMessage(alice, conversation: room.id, seq: lazy, clientMsgID: "del")
        #expect(try await search("lazy").isEmpty)
    }
}
