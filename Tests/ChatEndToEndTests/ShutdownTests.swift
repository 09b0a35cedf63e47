import ChatClient
import ChatCore
@testable import ChatDaemon
import ChatProtocol
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// chatd's services in one ServiceGroup (issue 13 item 6): a graceful
/// shutdown, however it is asked for, drains and closes in order. (The
/// graceful shutdown test starts two servers: on PostgreSQL, each a fresh
/// database migrated by a debug build, that took over a minute in a loaded
/// full run, and 3 s alone.)
@Suite(.timeLimit(.minutes(3)))
struct ShutdownTests {
    /// The graceful shutdown of the task that started the daemon reaches its
    /// service group: clients are told goodbye, the listeners close, the
    /// database is closed and the data directory released.
    @Test func gracefulShutdownSaysGoodbyeAndReleasesTheDataDirectory() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await testGracefulShutdown { trigger in
            let server = try await TestServer.start(dataDir: dir)
            let (alice, _) = try await server.user("alice", password: "password1")
            let pushes = PushCollector(alice)
            trigger.triggerGracefulShutdown()
            try await server.daemon.waitUntilStopped()
            #expect(server.daemon.server.isDraining)
            #expect(await pushes.wait { goodbyeReason($0) == .serverShutdown })
            #expect(server.daemon.server.registry.connectionCount == 0)
            // The listener is closed. (Connecting to its old port would prove
            // nothing: a server of a test running beside this one may have it now.)
            #expect(server.daemon.listener?.channel.isActive == false)
        }
        let next = try await TestServer.start(dataDir: dir)
        let auth = try await next.connect().login(username: "alice", password: "password1")
        #expect(auth.user.username == "alice")
        await next.stop(removeData: false)
    }

    /// `shutdown()` is the same path, and a second call finds it done.
    @Test func shutdownTwiceIsOneShutdown() async throws {
        let server = try await TestServer.start()
        await server.daemon.shutdown()
        await server.stop()
        #expect(server.daemon.server.isDraining)
    }

    /// The stop order: the announcement and the jobs first, then the client
    /// listeners, the connections, the control socket and the metrics
    /// endpoint, the database last (the group stops them in reverse).
    @Test func servicesStartInTheOrderTheyStopInReverse() async throws {
        try await withServer({ $0.setting("metrics.listen", .string("127.0.0.1:0")) }) { server in
            let names = server.daemon.services(signals: nil).map(\.serviceName)
            // On PostgreSQL, the other nodes' commits and signals come in before any listener opens.
            let cluster = TestBackend.current == .postgresql ? ["cross-node delivery", "cluster heartbeat"] : []
            #expect(
                names == ["database, hashing and event loops"] + cluster + [
                    "push notifications", "metrics endpoint",
                    "control socket \(server.daemon.controlSocketPath)", "client connections",
                    "listener 127.0.0.1:\(server.port)", "storage monitors", "search index watch", "file garbage collection",
                    "retention purge",
                    "systemd keep-alive",
                ])
        }
    }

    /// The chatd process: SIGINT stops it as SIGTERM does (ProcessTests),
    /// through the group, and a signal during the stop is only logged.
    @Test func sigintStopsTheProcessGracefully() async throws {
        let dir = TestServer.tempDir()
        defer { for path in [dir, dir + ".conf"] { try? FileManager.default.removeItem(atPath: path) } }
        let chatd = try ChatdProcess(dataDir: dir)
        let port = try await chatd.waitReady()
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await c.hello()
        let pushes = PushCollector(c)
        chatd.signal(SIGINT)
        chatd.signal(SIGINT)
        #expect(await chatd.waitExit() == 0)
        #expect(await chatd.waitForOutput("chatd stopped"))
        #expect(chatd.output.contains("signal received chatd.signal=SIGINT"))
        #expect(await pushes.wait { goodbyeReason($0) == .serverShutdown })
    }

    /// A periodic job stops waiting at the shutdown; it does not run once more.
    @Test func periodicJobStopsAtGracefulShutdown() async {
        let runs = Mutex(0)
        await testGracefulShutdown { trigger in
            let service = PeriodicJobService(description: "job", interval: .seconds(3600)) { runs.withLock { $0 += 1 } }
            let running = Task { await service.run() }
            trigger.triggerGracefulShutdown()
            await running.value
        }
        #expect(runs.withLock { $0 } == 0)
    }

    /// Without systemd the keep-alive only waits; at the shutdown it logs that chatd is stopping.
    @Test func keepAliveAnnouncesTheStop() async {
        let lines = LogLines()
        await testGracefulShutdown { trigger in
            let service = SystemdKeepAliveService(
                notifier: SystemdNotifier(environment: [:]), logger: lines.logger, status: { nil })
            let running = Task { await service.run() }
            trigger.triggerGracefulShutdown()
            await running.value
        }
        #expect(lines.all == ["<6>info chatd: chatd stopping\n"])
    }
}

/// Log lines (journal format, no timestamps) kept for a test to read.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    var logger: Logger {
        Logger(label: "chatd") { label in
            LineLogHandler(label: label, format: .text, journal: true) { line in self.lines.withLock { $0.append(line) } }
        }
    }
}
