import ChatDaemon
import ChatPostgres
import Foundation
import Logging
import Synchronization

/// Where the cluster of this test process lives, for the exit handler.
private let clusterDirectory = Mutex<String?>(nil)

public actor PostgresTestCluster {
    public static let shared = PostgresTestCluster()

    public struct Started: Sendable {
        public var directory: String
        public var port: Int
        public var password: String
    }

    private var started: Started?

    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    /// Starts the cluster the first time (tools/pg start), stopping it when the process exits.
    public func start() throws -> Started {
        if let started { return started }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatd-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let url = try Self.run(["\(Self.root)/tools/pg", "start", directory], environment: ["CHATD_PG_THROWAWAY": "1"])
        guard let port = url.split(separator: ":").last.flatMap({ $0.split(separator: "/").first }).flatMap({ Int($0) }) else {
            throw PostgresTestFailure("tools/pg printed no URL: \(url)")
        }
        let password = try String(contentsOfFile: "\(directory)/password", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        clusterDirectory.withLock { $0 = directory }
        atexit {
            guard let directory = clusterDirectory.withLock({ $0 }) else { return }
            _ = try? PostgresTestCluster.run(["\(PostgresTestCluster.root)/tools/pg", "stop", directory])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let cluster = Started(directory: directory, port: port, password: password)
        started = cluster
        return cluster
    }

    /// A store on a new, empty database of the cluster.
    public func freshStore() async throws -> PostgresStore {
        try await PostgresStore.open(freshDatabase(), logger: Logger(label: "test.postgres"))
    }

    /// Settings for a new, empty database of the cluster (several stores on
    /// one of them stand for several nodes).
    public func freshDatabase() throws -> PostgresStore.Settings {
        let cluster = try start()
        let database = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        try Self.run(
            ["/usr/bin/env", "psql", "-h", "127.0.0.1", "-p", String(cluster.port), "-U", "chatd", "-d", "chatd", "-qAt",
             "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(database)"],
            environment: ["PGPASSWORD": cluster.password])
        return Self.settings(cluster, database: database)
    }

    public func settings(database: String = "chatd") throws -> PostgresStore.Settings {
        try Self.settings(start(), database: database)
    }

    public static func settings(_ cluster: Started, database: String) -> PostgresStore.Settings {
        PostgresStore.Settings(
            host: "127.0.0.1", port: cluster.port, user: "chatd", password: cluster.password, database: database, poolSize: 4)
    }

    /// Runs a command and returns its standard output; a failure throws with
    /// its standard error. Through ChildProcess (posix_spawn with every
    /// descriptor above 2 closed): system(3) let the cluster's postmaster,
    /// which outlives the command, inherit whatever sockets the tests had
    /// open at that moment, so a client's close never reached its chatd
    /// (an end-to-end test running beside a cluster start waited in vain
    /// for a presence change). Foundation's Process left the child
    /// unreaped here, and the test hung.
    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("chatd-pg-run-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: scratch + ".out")
            try? FileManager.default.removeItem(atPath: scratch + ".err")
        }
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let assignments = environment.map { "\($0.key)=\(quoted($0.value)) " }.joined()
        let command = assignments + arguments.map(quoted).joined(separator: " ")
        let exit = try ChildProcess(["/bin/sh", "-c", command], stdout: scratch + ".out", stderr: scratch + ".err").waitBlocking()
        let status: Int32 = if case .exited(let code) = exit { code } else { -1 }
        let output = (try? String(contentsOfFile: scratch + ".out", encoding: .utf8)) ?? ""
        guard status == 0 else {
            let errors = (try? String(contentsOfFile: scratch + ".err", encoding: .utf8)) ?? ""
            throw PostgresTestFailure("\(arguments.joined(separator: " ")) exited with status \(status): \(errors)")
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct PostgresTestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
