import ChatBuildInfo
import ChatConfig
import ChatCore
import ChatCrypto
import ChatProtocol
import ChatServer
import ChatStore
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus
import Synchronization

/// The composition root: builds every part of chatd from a `Config` and
/// starts the listeners. `chatd` runs one; the end-to-end tests run many.
public final class Daemon: Sendable {
    /// The configuration in force (startup values, plus reloaded keys).
    public var config: Config { effective.withLock { $0 } }
    /// Written by reload and chatctl log-level.
    let effective: Mutex<Config>
    let rooms: ConversationService
    public let files: FileService
    public let store: SQLiteStore
    public let server: ServerContext
    /// The plain client listener; nil when `server.listen` is "" (TLS only).
    public let listener: ChatListener?
    /// The TLS client listener; nil when `tls.listen` is "".
    public let tlsListener: ChatListener?
    public let control: ControlListener
    public let accounts: AccountService
    let hasher: SodiumPasswordHasher
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    let notifier: SystemdNotifier
    /// The log level in force (`log.level`, changed by reload and chatctl log-level).
    public let logLevel: LogLevelControl
    /// The Prometheus endpoint, when `metrics.listen` is set.
    public let metricsListener: MetricsListener?
    /// Free space and faults of the database's and the file store's disks.
    public let storage: StorageMonitors
    /// Held from start to the end of shutdown: one chatd per data directory.
    let lock: DataDirectoryLock
    private let keepAlive = Mutex<Task<Void, Never>?>(nil)
    private let maintenance = Mutex<[Task<Void, Never>]>([])

    private init(
        config: Config, store: SQLiteStore, server: ServerContext, listener: ChatListener?, tlsListener: ChatListener?,
        control: ControlListener,
        accounts: AccountService, rooms: ConversationService, files: FileService, hasher: SodiumPasswordHasher,
        group: MultiThreadedEventLoopGroup, logger: Logger, notifier: SystemdNotifier, logLevel: LogLevelControl,
        metricsListener: MetricsListener?, storage: StorageMonitors, lock: DataDirectoryLock
    ) {
        self.lock = lock
        self.metricsListener = metricsListener
        self.storage = storage
        self.notifier = notifier
        self.logLevel = logLevel
        effective = Mutex(config)
        self.rooms = rooms
        self.files = files
        self.store = store
        self.server = server
        self.listener = listener
        self.tlsListener = tlsListener
        self.control = control
        self.accounts = accounts
        self.hasher = hasher
        self.group = group
        self.logger = logger
    }

    /// The port clients connect to (useful when `listen` asked for port 0):
    /// the plain listener's, or the TLS listener's when there is no plain one.
    public var clientPort: Int { (listener ?? tlsListener)?.localPort ?? 0 }
    /// The TLS listener's port, when there is one.
    public var tlsPort: Int? { tlsListener?.localPort }

    private var listeners: [ChatListener] { [listener, tlsListener].compactMap { $0 } }
    public var controlSocketPath: String { control.path }

    /// Builds and starts chatd. Throws `InstanceConflictError` when another
    /// chatd holds the data directory or listens on the control socket.
    public static func start(
        config: Config, logger: Logger, clock: any WallClock = SystemClock(), allowedControlUIDs: Set<UInt32>? = nil,
        notifier: SystemdNotifier = SystemdNotifier(environment: [:]), listenDescriptor: CInt? = nil,
        logLevel: LogLevelControl? = nil
    ) async throws -> Daemon {
        guard Sodium.ready else { throw DaemonError("libsodium failed to initialise") }
        try DataDirectory.prepare(config.dataDir)
        // Before anything is created in it: a new token key or an empty database would hide the problem.
        try DataDirectory.refuseUnfinishedBackup(config.dataDir)
        // One chatd per data directory: nothing in it is opened before the lock is held.
        let lock = try DataDirectoryLock.acquire(dataDir: config.dataDir)
        do {
            return try await assemble(
                config: config, logger: logger, clock: clock, allowedControlUIDs: allowedControlUIDs, notifier: notifier,
                listenDescriptor: listenDescriptor, logLevel: logLevel, lock: lock)
        } catch {
            lock.release()
            throw error
        }
    }

    private static func assemble(
        config: Config, logger: Logger, clock: any WallClock, allowedControlUIDs: Set<UInt32>?, notifier: SystemdNotifier,
        listenDescriptor: CInt?, logLevel: LogLevelControl?, lock: DataDirectoryLock
    ) async throws -> Daemon {
        let logLevel = logLevel ?? LogLevelControl(Logger.Level(rawValue: config.string("log.level")) ?? .info)
        let dataDir = config.dataDir
        let tokenKey = try DataDirectory.tokenKey(in: dataDir)
        // The file store (content-addressed files), backed up and measured by chatctl.
        let fileStore = config.filesDir

        let store = try SQLiteStore.open(
            path: (dataDir as NSString).appendingPathComponent("chatd.sqlite3"),
            synchronous: SQLiteStore.Synchronous(rawValue: config.string("storage.synchronous")) ?? .full,
            readers: Int(config.int("storage.reader_count")), groupCommit: Settings(config).groupCommit)

        let registry = SessionRegistry()
        let presence = PresenceHub(registry: registry, store: store, clock: clock, logger: logger)
        presence.load(try await store.allContacts())
        let hub = FanoutHub(registry: registry, presence: presence)
        let throughput = MessageThroughput(clock: clock)
        let metricsAddress = ListenAddress(config.string("metrics.listen"))
        let prometheus = metricsAddress.map { _ in PrometheusCollectorRegistry() }
        let metrics = ServerMetrics(factory: prometheus.map(Self.metricsFactory) ?? NOOPMetricsHandler.instance)
        store.setEventObserver {
            hub.publish($0)
            metrics.messagesCommitted(throughput.committed($0))
        }
        if prometheus != nil { store.setBatchObserver { metrics.batchCommitted(writes: $0, duration: $1) } }
        hub.load(try await store.allMemberships())

        let settings = Settings(config)
        let hasher = SodiumPasswordHasher(
            limits: settings.argon2, threads: Int(config.int("security.hash_threads")),
            queueCapacity: Int(config.int("security.hash_queue")))
        let crypto = SodiumTokenCrypto(key: tokenKey)
        let accounts = AccountService(
            store: store, hasher: hasher, crypto: crypto, clock: clock, sessions: registry, limits: settings.domain,
            throttle: settings.throttle)
        let rooms = ConversationService(store: store, clock: clock, limits: settings.domain)
        let friends = FriendService(store: store, clock: clock)
        let blobs = try DiskBlobStore(root: config.filesDir, makeHasher: { Blake2bStream() })
        let storage = StorageMonitors(database: store.storage, files: blobs.storage)
        storage.configure(settings)
        storage.observe(logger: logger, notifier: notifier)
        let files = FileService(
            catalog: store, blobs: blobs, random: { Sodium.randomBytes($0) }, clock: clock, limits: settings.files)
        try await applyDefaultRooms(config, store: store, accounts: accounts, clock: clock, logger: logger)
        let router = ClientRouter(
            accounts: accounts, conversations: rooms, friends: friends, files: files, hub: hub, clock: clock,
            logger: logger, maxFrameLength: settings.server.maxFrameLength)
        let server = ServerContext(
            router: router, registry: registry, hub: hub, crypto: crypto, settings: settings.server, logger: logger,
            metrics: metrics)

        let tls = try TLSSetup.credentials(config).map { credentials in
            for warning in credentials.warnings { logger.warning("\(warning)") }
            return TLSEndpoint(credentials: credentials, limits: TLSSetup.limits(config))
        }
        let threads = Int(config.int("server.event_loop_threads"))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads > 0 ? threads : System.coreCount)
        var opened: [ChatListener] = []
        do {
            var listener: ChatListener?
            if let fd = listenDescriptor {
                listener = try await ChatListener.adopt(descriptor: fd, server: server, group: group)
                logger.info("adopted the listening socket from the service manager", metadata: ["chatd.fd": "\(fd)"])
            } else if let listen = config.listen {
                listener = try await StartupChecks.listening("server.listen", "\(listen)") {
                    try await ChatListener.bind(host: listen.host, port: listen.port, server: server, group: group)
                }
            }
            opened += [listener].compactMap { $0 }
            var tlsListener: ChatListener?
            if let tls, let address = config.tlsListen {
                tlsListener = try await StartupChecks.listening("tls.listen", "\(address)") {
                    try await ChatListener.bind(host: address.host, port: address.port, server: server, group: group, tls: tls)
                }
                logger.info(
                    "TLS certificate loaded",
                    metadata: [
                        "chatd.tls.subject": "\(tls.credentials.subject)",
                        "chatd.tls.expires": "\(TLSCredentials.date(tls.credentials.notValidAfter))",
                    ])
            }
            opened += [tlsListener].compactMap { $0 }
            let info = DaemonInfo(
                startedAtMs: clock.nowMs(), dataDir: dataDir,
                listen: opened.map(Self.describe).joined(separator: ", "))
            // The reloader needs the daemon, which exists only once the
            // listeners are up: it is looked up through a box.
            let daemonBox = DaemonBox()
            let controlRouter = ControlRouter(
                store: store, accounts: accounts, rooms: rooms, registry: registry, hub: hub, files: files, clock: clock,
                info: info, logger: logger,
                probe: { try await store.probeWrite() },
                reloader: {
                    guard let daemon = daemonBox.daemon else { throw ChatFailure(.unavailable, "chatd is starting") }
                    return try daemon.reloadFromFile()
                },
                hooks: OperatorHooks(
                    // No content is placed or collected while the backup runs, so every
                    // file the database snapshot knows has its content in the copy.
                    backup: { path in
                        try await files.excludingContentChanges {
                            try await Backup.run(
                                store: store, dataDir: dataDir, fileStore: fileStore, to: path, chatdVersion: chatdVersion,
                                clock: clock)
                        }
                    },
                    stats: { await Self.stats(store: store, hasher: hasher, fileStore: fileStore, storage: storage) },
                    config: {
                        let config = daemonBox.daemon?.config ?? config
                        return (config.entries().map(Self.configEntry), config.source ?? "")
                    },
                    logLevel: { level in
                        guard let daemon = daemonBox.daemon else { throw ChatFailure(.unavailable, "chatd is starting") }
                        return try daemon.setLogLevel(level)
                    }),
                throughput: throughput)
            let control: ControlListener
            do {
                control = try await ControlListener.bind(
                    path: config.controlSocketPath, router: controlRouter, group: group, allowedUIDs: allowedControlUIDs,
                    maxFrameLength: settings.server.maxFrameLength, logger: logger)
            } catch let inUse as ControlSocketInUseError {
                throw InstanceConflictError(.controlSocket(path: inUse.path, reason: inUse.reason))
            }
            var metricsListener: MetricsListener?
            if let metricsAddress, let prometheus {
                do {
                    metricsListener = try await StartupChecks.listening("metrics.listen", "\(metricsAddress)") {
                        try await MetricsListener.bind(
                            host: metricsAddress.host, port: metricsAddress.port, group: group, logger: logger,
                            render: Self.renderMetrics(
                                prometheus, registry: registry, store: store, hasher: hasher, storage: storage),
                            health: { (try? await store.probeWrite()) != nil })
                    }
                } catch {
                    await control.close()
                    throw error
                }
            }
            logger.info(
                "chatd listening",
                metadata: [
                    "chatd.listen": "\(info.listen)", "chatd.control": "\(control.path)", "chatd.data_dir": "\(dataDir)",
                ])
            let daemon = Daemon(
                config: config, store: store, server: server, listener: listener, tlsListener: tlsListener, control: control,
                accounts: accounts,
                rooms: rooms, files: files, hasher: hasher, group: group, logger: logger, notifier: notifier, logLevel: logLevel,
                metricsListener: metricsListener, storage: storage, lock: lock)
            daemonBox.set(daemon)
            notifier.ready(status: daemon.statusLine())
            daemon.startKeepAlive()
            daemon.startMaintenance(every: .seconds(config.int("files.gc_interval_minutes") * 60)) { await $0.collectGarbage() }
            daemon.startMaintenance(every: .seconds(config.int("retention.purge_interval_minutes") * 60)) { await $0.purge() }
            daemon.startMaintenance(every: StorageMonitors.checkInterval) { $0.storage.refresh() }
            return daemon
        } catch {
            for listener in opened { await listener.close() }
            hasher.shutdown()
            try? store.close()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// A one-line summary for systemd's STATUS=.
    public func statusLine() -> String {
        let addresses = [config.listen.map { "\($0)" }, config.tlsListen.map { "\($0) (TLS)" }].compactMap { $0 }
        let line = "listening on \(addresses.joined(separator: ", ")), \(server.registry.connectionCount) connections (\(server.registry.authenticatedCount) authenticated)"
        guard let trouble = storage.trouble else { return line }
        return line + "; " + trouble
    }

    /// Watchdog keep-alives at half of $WATCHDOG_USEC, and a STATUS line with
    /// the connection counts every 10 s (only under systemd).
    private func startKeepAlive() {
        guard notifier.isEnabled else { return }
        let interval = notifier.watchdogInterval ?? .seconds(10)
        let task = Task { [weak self] in
            var sinceStatus = Duration.zero
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                if self.notifier.watchdogInterval != nil { self.notifier.watchdog() }
                sinceStatus += interval
                if sinceStatus >= .seconds(10) {
                    sinceStatus = .zero
                    self.notifier.status(self.statusLine())
                }
            }
        }
        keepAlive.withLock { $0 = task }
    }

    /// Periodic housekeeping off the request path: file garbage collection
    /// (expired uploads, unreferenced files, strays) and the retention purge.
    private func startMaintenance(every interval: Duration, _ job: @escaping @Sendable (Daemon) async -> Void) {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await job(self)
            }
        }
        maintenance.withLock { $0.append(task) }
    }

    /// Graceful stop: refuse new connections and requests, let requests in
    /// flight finish (up to the drain timeout), say goodbye to every client,
    /// checkpoint the WAL and close the database.
    public func shutdown() async {
        logger.info("chatd stopping")
        notifier.stopping()
        keepAlive.withLock { $0?.cancel() }
        maintenance.withLock { tasks in tasks.forEach { $0.cancel() } }
        for listener in listeners { await listener.close() }
        server.beginDraining()
        let deadline = ContinuousClock.now + .seconds(config.int("server.drain_timeout_seconds"))
        while server.inflightRequests > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        server.endAllConnections()
        // Give the goodbye frames a moment to leave.
        let closeDeadline = ContinuousClock.now + .seconds(2)
        while server.registry.connectionCount > 0 && ContinuousClock.now < closeDeadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        await control.close()
        await metricsListener?.close()
        hasher.shutdown()
        do {
            try store.checkpoint()
            try store.close()
        } catch {
            logger.error("closing the database failed", metadata: ["chatd.error": "\(error)"])
        }
        try? await group.shutdownGracefully()
        // Last: the next chatd may open the database only once this one has closed it.
        lock.release()
        logger.info("chatd stopped")
    }
}

extension Daemon {
    static func describe(_ listener: ChatListener) -> String {
        let address = listener.channel.localAddress
        let host = address?.ipAddress ?? "?"
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(shown):\(address?.port ?? 0)" + (listener.tls == nil ? "" : " (TLS)")
    }
}

final class DaemonBox: Sendable {
    private let value = Mutex<Daemon?>(nil)
    var daemon: Daemon? { value.withLock { $0 } }
    func set(_ daemon: Daemon) { value.withLock { $0 = daemon } }
}

public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
