import ArgumentParser
import ChatDaemon
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `chatd migrate`: from one box (SQLite) to several nodes (PostgreSQL).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a stopped chatd's SQLite database into an empty PostgreSQL database.",
        discussion: """
            Moves a one-box deployment to several nodes. DATA_DIR must hold a stopped chatd: its lock is taken \
            for the whole copy. FILE is the nodes' config (storage.backend = "postgresql"); its database is \
            created or migrated to chatd's schema and must hold no row. The copy first waits for the search \
            index to take in every message, a rebuild included, for as long as the index's rounds go on. Every \
            table is copied with its ids and seqs in one transaction and checked before it commits (row counts, \
            each conversation's last seq, each user's last account seq): on any failure the database is left \
            empty. The token key and the file store are not copied: the summary says where they must go.

            Exit status: 0 copied and verified; 1 the copy failed (nothing was written); 64 a usage error; \
            65 the PostgreSQL database is not empty; 66 DATA_DIR holds no chatd database; 69 PostgreSQL cannot \
            be reached or used (unreachable, login refused, too old, newer schema); 70 the verification found \
            a difference (nothing was committed); 73 a chatd is running on DATA_DIR; 78 FILE is not a valid \
            config selecting PostgreSQL.
            """)

    @Option(
        name: .customLong("from-sqlite"),
        help: ArgumentHelp("The data directory of the stopped chatd (storage.data_dir, e.g. /var/lib/chatd).", valueName: "DATA_DIR"))
    var fromSQLite: String

    @Option(
        name: .customLong("to-config"),
        help: ArgumentHelp("The config file of the new nodes, naming the PostgreSQL database to copy into.", valueName: "FILE"))
    var toConfig: String

    func run() async throws {
        umask(0o077)
        var logger = Logger(label: "chatd.migrate") { label in LineLogHandler(label: label, format: .text) }
        // Failures come back as errors with their reason; the client pool's
        // own warnings would only clutter the report.
        logger.logLevel = .error
        do {
            // Progress goes to standard error; the summary alone to standard output.
            let summary = try await Migration.run(dataDir: fromSQLite, configPath: toConfig, logger: logger) { line in
                FileHandle.standardError.write(Data("chatd migrate: \(line)\n".utf8))
            }
            print(summary.text, terminator: "")
        } catch {
            FileHandle.standardError.write(Data("chatd migrate: \(error)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}
