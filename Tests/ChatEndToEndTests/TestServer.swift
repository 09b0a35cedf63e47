import ChatClient
import ChatConfig
import ChatCore
import ChatDaemon
import ChatProtocol
import ChatServer
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

    static func start(
        dataDir: String? = nil, clock: any WallClock = SystemClock(), _ adjust: (Config) -> Config = { $0 }
    ) async throws -> TestServer {
        let dir = dataDir ?? tempDir()
        let config = adjust(testConfig(dataDir: dir))
        let logger = Logger(label: "chatd-test") { _ in SwiftLogNoOpLogHandler() }
        let daemon = try await Daemon.start(config: config, logger: logger, clock: clock)
        return TestServer(daemon: daemon, dataDir: dir, config: config)
    }

    var port: Int { daemon.clientPort }

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

/// Runs `body` against a fresh server and always stops it.
func withServer(
    clock: any WallClock = SystemClock(), _ adjust: (Config) -> Config = { $0 }, _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(clock: clock, adjust)
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

    /// Waits until `condition` holds, up to `seconds`.
    func wait(seconds: Double = 5, until condition: @Sendable ([ChatPush]) -> Bool) async -> Bool {
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
func waitClosed(_ c: ChatConnection, seconds: Double = 5) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if !c.isActive { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return !c.isActive
}
