import ChatCore
@testable import ChatPostgres
import ChatTestSupport
import Testing

/// The PostgreSQL store's text handling, without a server.
struct PostgresPlumbingTests {
    @Test func placeholdersBecomeNumberedOutsideQuotes() {
        #expect(PGSession.postgresSQL("SELECT ? , ?2, '?' FROM t WHERE a = ? AND \"q?\" = ?") == "SELECT $1 , $2, '?' FROM t WHERE a = $2 AND \"q?\" = $3")
        #expect(PGSession.postgresSQL("a = ?1 OR b = ?1") == "a = $1 OR b = $1")
    }

    /// What a write may run before a rule refuses it without its batch
    /// rolling back (PostgresGroupCommit): a SELECT without effects only.
    @Test func onlySelectsWithoutEffectsCountAsReadOnly() {
        #expect(PGStatement.isReadOnly("SELECT 1"))
        #expect(PGStatement.isReadOnly("\n  select\n x FROM t WHERE id = ? FOR UPDATE"))
        #expect(PostgresStore.sendSnapshotSQL.readOnly)
        #expect(PostgresStore.standingForUpdateSQL.readOnly)
        #expect(!PostgresStore.appendEventSQL.readOnly, "a WITH … UPDATE writes")
        #expect(!PostgresStore.notifySQL.readOnly)
        #expect(!PGStatement.isReadOnly("SELECT setval(pg_get_serial_sequence(?, ?), ?)"))
        #expect(!PGStatement.isReadOnly("SELECT NEXTVAL('s')"))
        #expect(!PGStatement.isReadOnly("UPDATE t SET x = 1"))
        #expect(!PGStatement.isReadOnly("SELECTED"))
        #expect(!PGStatement.isReadOnly("SELECT"))
        #expect(!PGStatement.isReadOnly("SET LOCAL statement_timeout = 0"))
    }

    /// The database server refusing work is `unavailable` with a retry (as
    /// SQLite's low space), not `internal`; other errors are not refusals.
    @Test func aFullDiskOrARecoveringServerIsUnavailable() throws {
        let full = try #require(PostgresStore.refusal(sqlState: "53100"))
        #expect(full.kind == .unavailable && full.retryAfterMs == StorageHealth.lowSpaceRetryMs)
        #expect(full.message == "the database refuses writes: its disk is full (SQLSTATE 53100)")
        for state in ["53200", "53300"] { #expect(PostgresStore.refusal(sqlState: state)?.retryAfterMs == 30_000) }
        for state in ["25006", "58030", "57P01", "57P02", "57P03"] {
            #expect(PostgresStore.refusal(sqlState: state)?.retryAfterMs == 5_000)
        }
        for state in ["23505", "40001", "42P01", "57014", ""] { #expect(PostgresStore.refusal(sqlState: state) == nil) }
    }

    @Test func aGetOrCreateRaceRunsAgainInsteadOfConflicting() {
        #expect(PostgresStore.isRetryable(sqlState: "40P01", constraint: nil))
        #expect(PostgresStore.isRetryable(sqlState: "40001", constraint: nil))
        #expect(PostgresStore.isRetryable(sqlState: "23505", constraint: "conversations_direct_key_key"))
        #expect(PostgresStore.isRetryable(sqlState: "23505", constraint: "blocks_pkey"))
        // Real conflicts stay conflicts.
        #expect(!PostgresStore.isRetryable(sqlState: "23505", constraint: "users_username_key"))
        #expect(!PostgresStore.isRetryable(sqlState: "23505", constraint: "conversations_name_key"))
        #expect(!PostgresStore.isRetryable(sqlState: "23505", constraint: "events_client_msg"))
        #expect(!PostgresStore.isRetryable(sqlState: "23505", constraint: nil))
    }

    @Test func everyConnectionAsksForDurableCommits() throws {
        let settings = PostgresStore.Settings(host: "127.0.0.1", port: 5432, user: "chatd", password: nil, database: "chatd")
        let parameters = PostgresStore.startupParameters(settings)
        #expect(parameters.contains { $0 == ("synchronous_commit", "on") })
    }

    @Test func migrationsSplitAtTopLevelSemicolonsOnly() {
        let script = """
            CREATE TABLE a (x TEXT DEFAULT ';'); -- a comment; with a semicolon
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RETURN NULL;
            END $$;
            CREATE INDEX i ON a(x)
            """
        let statements = PostgresSchema.statements(script)
        #expect(statements.count == 3)
        #expect(statements[0] == "CREATE TABLE a (x TEXT DEFAULT ';')")
        #expect(statements[1].hasPrefix("-- a comment; with a semicolon\nCREATE FUNCTION") && statements[1].hasSuffix("END $$"))
        #expect(statements[2] == "CREATE INDEX i ON a(x)")
        for migration in PostgresSchema.migrations { #expect(!PostgresSchema.statements(migration).isEmpty) }
    }

    @Test func announcementsRoundTripAndStayUnderThePayloadLimit() {
        var changes = CommittedChanges()
        for seq in 1...3 { changes.events.append(Event(conversationID: 7, seq: Int64(seq), kind: .message, senderID: 1, createdAt: 0)) }
        changes.events.append(Event(conversationID: 9, seq: 5, kind: .message, senderID: 1, createdAt: 0))
        changes.accountEvents.append(AccountEvent(userID: 4, seq: 2, kind: .systemNotice, createdAt: 0))
        let payloads = PostgresStore.notifications(changes, node: "n1")
        #expect(payloads == ["n1;c7:1-3;c9:5-5;a4:2-2"])
        let parsed = PostgresStore.announcement(payloads[0])
        #expect(parsed?.node == "n1")
        #expect(parsed?.conversations.map { [$0.0, $0.1, $0.2] } == [[7, 1, 3], [9, 5, 5]])
        #expect(parsed?.accounts.map { [$0.0, $0.1, $0.2] } == [[4, 2, 2]])
        #expect(PostgresStore.announcement("n1;x1:2-3") == nil)
        #expect(PostgresStore.announcement("n1;c1:3-2") == nil)
        // A notice to many accounts: several notifications, each under the limit.
        var many = CommittedChanges()
        for user in 1...5000 { many.accountEvents.append(AccountEvent(userID: Int64(user), seq: 1, kind: .systemNotice, createdAt: 0)) }
        let split = PostgresStore.notifications(many, node: "n1")
        #expect(split.count > 1)
        #expect(split.allSatisfy { $0.utf8.count <= PostgresStore.maxPayloadBytes })
        #expect(split.compactMap(PostgresStore.announcement).map(\.accounts.count).reduce(0, +) == 5000)
    }
}

/// Closing the store under a running write batch.
@Suite(.timeLimit(.minutes(1)))
struct PostgresCloseTests {
    /// The batch's connection closes under its statement; the write fails
    /// and its caller hears so. (postgres-nio never answers a statement
    /// given to a connection that has just closed: waiting on it blocked a
    /// pool thread, the write's caller, and the daemon's shutdown behind it.)
    @Test func closingUnderARunningWriteFailsItInsteadOfHanging() async throws {
        let store = try await PostgresTestCluster.shared.freshStore()
        let write = Task {
            try await store.write { s in
                try s.execute("SELECT pg_sleep(2)")
                try s.execute("SELECT 1")
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        await store.close(drain: .milliseconds(100))
        let result = await write.result
        if case .success = result { Issue.record("a write cut off by close succeeded") }
    }
}
