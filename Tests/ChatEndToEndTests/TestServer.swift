import ChatClient
import ChatConfig
import ChatCore
import ChatDaemon
import ChatPostgres
import ChatProtocol
import ChatServer
import ChatStore
import ChatTestSupport
import Foundation
import Logging
import NIOCore
import Testing

/// A real chatd in this process: ephemeral port on 127.0.0.1, temporary data
/// directory, cheap Argon2 limits so tests do not spend seconds hashing.
final class TestServer: Sendable {
    let daemon: Daemon
    let dataDir: String
    let config: Config

    static func tempDir() -> String {
        let dir = NSTemporaryDirectory() + "chatd-test-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func testConfig(dataDir: String) -> Config {
        Config.defaults
            .setting("server.listen", .string("127.0.0.1:0"))
            .setting("server.event_loop_threads", .int(2))
            .setting("storage.data_dir", .string(dataDir))
            .setting("storage.synchronous", .string("normal"))
            .setting("security.argon2_ops_limit", .int(1))
            .setting("security.argon2_mem_kib", .int(8))
            .setting("security.logins_per_address", .int(10_000))
            // Tests create many rooms per user; one test checks the limit itself.
            .setting("limits.conversations_created_per_user", .int(100_000))
            .setting("log.level", .string("warning"))
    }

    init(daemon: Daemon, dataDir: String, config: Config) {
        self.daemon = daemon
        self.dataDir = dataDir
        self.config = config
    }

    /// `backend`: the suite's (`TestBackend.current`) unless a test is about
    /// one of them. `database`: a PostgreSQL database to share with other
    /// nodes (default: a fresh one per server).
    static func start(
        dataDir: String? = nil, clock: any WallClock = SystemClock(), backend: TestBackend = .current,
        database: PostgresStore.Settings? = nil, _ adjust: (Config) -> Config = { $0 }
    ) async throws -> TestServer {
        let dir = dataDir ?? tempDir()
        var base = testConfig(dataDir: dir)
        if backend == .postgresql || database != nil {
            base = try await TestBackend.postgresql(base, database: database, dataDir: dir)
        }
        let config = adjust(base)
        let logger = Logger(label: "chatd-test") { _ in SwiftLogNoOpLogHandler() }
        let daemon = try await Daemon.start(config: config, logger: logger, clock: clock)
        return TestServer(daemon: daemon, dataDir: dir, config: config)
    }

    var port: Int { daemon.clientPort }

    /// The store of a server started on SQLite (tests about the database file).
    var sqlite: SQLiteStore {
        get throws {
            guard let store = daemon.store as? SQLiteStore else { throw PostgresTestFailure("this server is not on SQLite") }
            return store
        }
    }

    func stop(removeData: Bool = true) async {
        await daemon.shutdown()
        if removeData { try? FileManager.default.removeItem(atPath: dataDir) }
    }

    /// A connected client that has said Hello.
    func connect(hello: Bool = true) async throws -> ChatConnection {
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: port, requestTimeout: .seconds(20))
        if hello { try await c.hello() }
        return c
    }

    /// Registers `username` and returns its authenticated connection.
    func user(_ username: String, password: String = "password-\(UUID().uuidString.prefix(4))", device: String = "")
        async throws -> (ChatConnection, Chatd_V1_AuthResponse)
    {
        let c = try await connect()
        var d = Chatd_V1_DeviceInfo()
        d.deviceID = device
        d.name = "test device"
        d.platform = "linux"
        let auth = try await c.register(username: username, password: password, device: d)
        return (c, auth)
    }
}

/// The backend the end-to-end suite runs on: SQLite, or PostgreSQL when
/// CHATD_TEST_BACKEND=postgresql (tools/test runs the suite once on each).
enum TestBackend: String, Sendable {
    case sqlite
    case postgresql

    static let current: TestBackend =
        ProcessInfo.processInfo.environment["CHATD_TEST_BACKEND"].flatMap(TestBackend.init(rawValue:)) ?? .sqlite

    /// `config` on a PostgreSQL database of the test cluster: the one given,
    /// else the one this data directory used before (a restart), else a fresh one.
    static func postgresql(_ config: Config, database: PostgresStore.Settings?, dataDir: String) async throws -> Config {
        let cluster = try await PostgresTestCluster.shared.start()
        let remembered = dataDir + "/test-database"
        var settings = database
        if settings == nil, let name = try? String(contentsOfFile: remembered, encoding: .utf8) {
            settings = PostgresTestCluster.settings(cluster, database: name)
        }
        if settings == nil {
            let fresh = try await PostgresTestCluster.shared.freshDatabase()
            try fresh.database.write(toFile: remembered, atomically: true, encoding: .utf8)
            settings = fresh
        }
        guard let settings else { throw PostgresTestFailure("no database") }
        return config
            .setting("storage.backend", .string("postgresql"))
            .setting(
                "storage.postgresql_url",
                .string("postgresql://\(settings.user)@\(settings.host):\(settings.port)/\(settings.database)"))
            .setting("storage.postgresql_password_file", .string(cluster.directory + "/password"))
            .setting("storage.postgresql_pool_size", .int(4))
    }
}

/// Runs `body` against a fresh server and always stops it.
func withServer(
    clock: any WallClock = SystemClock(), backend: TestBackend = .current, _ adjust: (Config) -> Config = { $0 },
    _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(clock: clock, backend: backend, adjust)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// Expects `body` to fail with the server error `code`.
func expectError<T>(
    _ code: ErrorCode, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code), got success \(comment.map { "(\($0))" } ?? "")", sourceLocation: sourceLocation)
    } catch let error as ChatClientError {
        #expect(error.code == code, "\(error) \(comment.map { "(\($0))" } ?? "")", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Collects pushes from a connection in the background.
actor PushCollector {
    private(set) var pushes: [ChatPush] = []
    private var task: Task<Void, Never>?

    init(_ connection: ChatConnection) {
        let stream = connection.pushes
        Task { await self.start(stream) }
    }

    private func start(_ stream: AsyncStream<ChatPush>) {
        task = Task {
            for await push in stream { self.append(push) }
        }
    }

    private func append(_ push: ChatPush) { pushes.append(push) }

    var events: [Chatd_V1_Event] {
        pushes.compactMap { if case .event(let e) = $0 { e } else { nil } }
    }

    var goodbyes: [Chatd_V1_GoodbyePush] {
        pushes.compactMap { if case .goodbye(let g) = $0 { g } else { nil } }
    }

    /// Waits until `condition` holds, up to `seconds` (see `testWaitSeconds`).
    func wait(seconds: Double = testWaitSeconds, until condition: @Sendable ([ChatPush]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition(pushes) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(pushes)
    }
}

func eventCount(_ pushes: [ChatPush]) -> Int {
    pushes.filter { if case .event = $0 { true } else { false } }.count
}

func goodbyeReason(_ pushes: [ChatPush]) -> Chatd_V1_GoodbyeReason? {
    for push in pushes { if case .goodbye(let g) = push { return g.reason } }
    return nil
}

/// Waits for the connection to be closed by the server.
/// How long a test waits for what the server should do by default. Waits
/// end as soon as their condition holds; the limit only matters when it
/// never does. The full suite runs about a hundred servers in one process
/// on CI's 2 cores, where a push or a close can take several seconds (a
/// send took 360 ms there), so the limit is generous.
let testWaitSeconds: Double = 20

func waitClosed(_ c: ChatConnection, seconds: Double = testWaitSeconds) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if !c.isActive { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return !c.isActive
}
