import ChatConfig
import ChatDaemon
@testable import ChatPostgres
import ChatTestSupport
import Foundation
import GRDB
import Logging
import Testing

/// Start-up failures say which address or path and why (issue 16 item 5).
struct StartupErrorTests {
    @Test func aPortInUseAndAnImpossibleDataDirectoryAreNamed() async throws {
        try await withServer { server in
            let taken = TestServer.testConfig(dataDir: TestServer.tempDir())
                .setting("server.listen", .string("127.0.0.1:\(server.port)"))
            do {
                let daemon = try await Daemon.start(config: taken, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
                await daemon.shutdown()
                Issue.record("a second chatd listened on a port in use")
            } catch {
                #expect("\(error)".hasPrefix("cannot listen on 127.0.0.1:\(server.port) (server.listen): the address is in use"), "\(error)")
            }
            // --check-config's checks: the address in use is a warning (the running chatd may hold it).
            let findings = StartupChecks.check(taken)
            #expect(findings.errors.isEmpty, "\(findings.errors)")
            #expect(findings.warnings.contains { $0.contains("127.0.0.1:\(server.port) (server.listen) is in use") })
        }
        // A data directory below a regular file cannot be made.
        let impossible = TestServer.testConfig(dataDir: "/etc/hostname/chatd-data")
        let findings = StartupChecks.check(impossible)
        #expect(findings.errors.first?.contains("/etc/hostname (on the way to storage.data_dir /etc/hostname/chatd-data) exists and is not a directory") == true, "\(findings.errors)")
        do {
            let daemon = try await Daemon.start(config: impossible, logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() })
            await daemon.shutdown()
            Issue.record("chatd started on an impossible data directory")
        } catch {
            #expect("\(error)".contains("exists and is not a directory"), "\(error)")
        }
        // Nothing is created by the check.
        let fresh = TestServer.tempDir() + "/a/b"
        #expect(StartupChecks.check(TestServer.testConfig(dataDir: fresh)).errors.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: fresh))
        // Run as root, the check says its findings may not hold for chatd's user.
        let asRoot = StartupChecks.check(TestServer.testConfig(dataDir: fresh), euid: 0)
        #expect(asRoot.errors.isEmpty && asRoot.warnings.contains { $0.hasPrefix("checked as root") }, "\(asRoot)")
        #expect(!StartupChecks.check(TestServer.testConfig(dataDir: fresh), euid: 1000).warnings.contains { $0.hasPrefix("checked as root") })
    }
}

extension StartupErrorTests {
    /// Every binary says what it is (issue 16 item 2).
    @Test func everyBinaryAnswersVersion() async throws {
        for binary in ["chatd", "chatctl", "chatc", "chatbench"] {
            let result = try await runTool(binary, ["--version"], env: [:])
            #expect(result.status == 0, "\(binary): \(result.stderr)")
            #expect(result.stdout.hasPrefix("0.3.0 (commit "), "\(binary): \(result.stdout)")
        }
    }
}

extension StartupErrorTests {
    /// `--check-config` connects to a configured PostgreSQL and says plainly
    /// when it cannot (exit 78); a start on it is refused the same way.
    @Test func checkConfigNamesAnUnreachablePostgreSQL() async throws {
        let dir = TestServer.tempDir()
        let path = dir + "/chatd.conf"
        try """
            [storage]
            data_dir = "\(dir)/data"
            backend = "postgresql"
            postgresql_url = "postgresql://chatd@127.0.0.1:1/chatd"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let check = try await runTool("chatd", ["--check-config", "--config", path], env: [:])
        #expect(check.status == 78, "\(check.stderr)")
        #expect(check.stderr.contains("storage.postgresql_url: unreachable"), "\(check.stderr)")
        // A password in the URL is refused without being echoed.
        try """
            [storage]
            postgresql_url = "postgresql://chatd:s3cretpw@127.0.0.1:1/chatd"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let secret = try await runTool("chatd", ["--check-config", "--config", path], env: [:])
        #expect(secret.status == 78)
        #expect(secret.stderr.contains("must not contain a password") && !secret.stderr.contains("s3cretpw"), "\(secret.stderr)")
    }
}

extension StartupErrorTests {
    /// A data directory whose database a newer chatd has migrated is
    /// refused (chatd exits 78, as for any data directory it will not
    /// start on) with the reason, not opened with a schema it does not know.
    @Test func aDatabaseMigratedByANewerChatdIsRefused() async throws {
        let dataDir = TestServer.tempDir()
        let config = TestServer.testConfig(dataDir: dataDir)
        let logger = Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }
        try await Daemon.start(config: config, logger: logger).shutdown()
        let queue = try DatabaseQueue(path: dataDir + "/chatd.sqlite3")
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-a-newer-chatd')") }
        try queue.close()
        do {
            let daemon = try await Daemon.start(config: config, logger: logger)
            await daemon.shutdown()
            Issue.record("chatd started on a database a newer chatd has migrated")
        } catch let error as DataDirectoryRefused {
            #expect("\(error)".contains("(v99-from-a-newer-chatd): a newer chatd has used it"), "\(error)")
        }
    }
}

extension StartupErrorTests {
    /// The same on PostgreSQL: a database whose schema a newer chatd has
    /// migrated is refused at the start (exit 78) and by `--check-config`,
    /// with the versions named, and nothing is migrated.
    @Test func aPostgreSQLDatabaseMigratedByANewerChatdIsRefused() async throws {
        let dir = TestServer.tempDir()
        let database = try await PostgresTestCluster.shared.freshDatabase()
        let cluster = try await PostgresTestCluster.shared.start()
        let config = try await TestBackend.postgresql(TestServer.testConfig(dataDir: dir), database: database, dataDir: dir)
        let logger = Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }
        try await Daemon.start(config: config, logger: logger).shutdown()
        let newer = PostgresSchema.latestVersion + 1
        try PostgresTestCluster.run(
            ["/usr/bin/env", "psql", "-h", "127.0.0.1", "-p", String(cluster.port), "-U", "chatd", "-d", database.database, "-qAt",
             "-c", "INSERT INTO chatd_schema (version) VALUES (\(newer))"],
            environment: ["PGPASSWORD": cluster.password])
        let expected = "schema version \(newer), newer than this chatd knows (\(PostgresSchema.latestVersion))"
        do {
            let daemon = try await Daemon.start(config: config, logger: logger)
            await daemon.shutdown()
            Issue.record("chatd started on a database a newer chatd has migrated")
        } catch let error as DataDirectoryRefused {
            #expect("\(error)".contains(expected), "\(error)")
        }
        let path = dir + "/chatd.conf"
        try """
            [storage]
            data_dir = "\(dir)/data"
            backend = "postgresql"
            postgresql_url = "postgresql://\(database.user)@\(database.host):\(database.port)/\(database.database)"
            postgresql_password_file = "\(cluster.directory)/password"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let check = try await runTool("chatd", ["--check-config", "--config", path], env: [:])
        #expect(check.status == 78, "\(check.stderr)")
        #expect(check.stderr.contains(expected), "\(check.stderr)")
    }
}
