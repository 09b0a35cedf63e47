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
    private let effective: Mutex<Config>
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
        let logLevel = logLevel ?? LogLevelControl(Logger.Level(rawValue: config[.logLevel]) ?? .info)
        let dataDir = config.dataDir
        let tokenKey = try DataDirectory.tokenKey(in: dataDir)
        // The file store (content-addressed files), backed up and measured by chatctl.
        let fileStore = config.filesDir

        let store = try SQLiteStore.open(
            path: (dataDir as NSString).appendingPathComponent("chatd.sqlite3"),
            synchronous: SQLiteStore.Synchronous(rawValue: config[.storageSynchronous]) ?? .full,
            readers: Int(config[.storageReaderCount]), groupCommit: Settings(config).groupCommit)

        let registry = SessionRegistry()
        let presence = PresenceHub(registry: registry, store: store, clock: clock, logger: logger)
        presence.load(try await store.allContacts())
        let hub = FanoutHub(registry: registry, presence: presence)
        let throughput = MessageThroughput(clock: clock)
        let metricsAddress = ListenAddress(config[.metricsListen])
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
            limits: settings.argon2, threads: Int(config[.securityHashThreads]),
            queueCapacity: Int(config[.securityHashQueue]))
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
        let threads = Int(config[.serverEventLoopThreads])
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
            daemon.startMaintenance(every: .seconds(config[.filesGcIntervalMinutes] * 60)) { await $0.collectGarbage() }
            daemon.startMaintenance(every: .seconds(config[.retentionPurgeIntervalMinutes] * 60)) { await $0.purge() }
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

    public struct ReloadResult: Sendable, Equatable {
        /// Reloadable keys whose new value is now in force.
        public var applied: [String]
        /// Changed keys that take effect only after a restart.
        public var needRestart: [String]
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

    func purge() async {
        do {
            let report = try await rooms.purgeExpired()
            if report.events > 0 {
                logger.info(
                    "retention purge",
                    metadata: [
                        "chatd.conversations": "\(report.conversations)", "chatd.events": "\(report.events)",
                        "chatd.messages": "\(report.messages)",
                    ])
            }
        } catch {
            logger.error("retention purge failed", metadata: ["chatd.error": "\(error)"])
        }
        do {
            let removed = try await accounts.pruneAudit()
            if removed > 0 { logger.info("audit pruned", metadata: ["chatd.rows": "\(removed)"]) }
        } catch {
            logger.error("audit prune failed", metadata: ["chatd.error": "\(error)"])
        }
    }

    func collectGarbage() async {
        do {
            let report = try await files.collectGarbage()
            if report != GarbageReport() {
                logger.info(
                    "file garbage collected",
                    metadata: [
                        "chatd.uploads": "\(report.expiredUploads)", "chatd.files": "\(report.files)",
                        "chatd.contents": "\(report.contents)", "chatd.bytes": "\(report.contentBytes)",
                        "chatd.strays": "\(report.strays)",
                    ])
            }
        } catch {
            logger.error("file garbage collection failed", metadata: ["chatd.error": "\(error)"])
        }
    }

    /// Re-reads nothing itself: applies `new` (see `reload(_:)`), telling
    /// systemd around it.
    @discardableResult
    public func reloadNotifying(_ new: Config) -> ReloadResult {
        notifier.reloading()
        let result = reload(new)
        notifier.ready(status: statusLine())
        return result
    }

    /// Applies the reloadable keys of `new` (SIGHUP). Connections stay open;
    /// changed keys that are not reloadable are reported, not applied.
    @discardableResult
    public func reload(_ new: Config) -> ReloadResult {
        let (result, merged) = effective.withLock { current -> (ReloadResult, Config) in
            var merged = current
            var result = ReloadResult(applied: [], needRestart: [])
            for key in new.changedKeys(from: current) {
                if key.reloadable {
                    merged = merged.setting(key.path, new.value(key))
                    result.applied.append(key.path)
                } else {
                    result.needRestart.append(key.path)
                }
            }
            // The new file was valid as a whole, but its reloadable keys next to
            // the running restart-only ones may not be (a bigger message limit
            // waiting for a bigger frame limit): such a key waits for the restart too.
            while let problem = merged.relationProblem() {
                guard let key = problem.key, let index = result.applied.firstIndex(of: key), let tableKey = ConfigTable.key(key)
                else {
                    merged = current  // cannot tell which key: apply nothing
                    result.needRestart += result.applied
                    result.applied = []
                    break
                }
                merged = merged.setting(key, current.value(tableKey))
                result.applied.remove(at: index)
                result.needRestart.append(key)
            }
            current = merged
            return (result, merged)
        }
        let settings = Settings(merged)
        if result.applied.contains("rooms.default") {
            let (store, accounts, logger) = (self.store, self.accounts, self.logger)
            Task {
                do {
                    try await Self.applyDefaultRooms(merged, store: store, accounts: accounts, clock: SystemClock(), logger: logger)
                } catch {
                    logger.error("rooms.default not applied", metadata: ["chatd.error": "\(error)"])
                }
            }
        }
        if result.applied.contains(Setting.logLevel.path), let level = Logger.Level(rawValue: merged[.logLevel]) {
            logLevel.set(level)
        }
        accounts.reconfigure(limits: settings.domain, throttle: settings.throttle)
        store.reconfigure(groupCommit: settings.groupCommit)
        rooms.reconfigure(limits: settings.domain)
        files.reconfigure(limits: settings.files)
        server.updateSettings(settings.server)
        tlsListener?.tls?.update(TLSSetup.limits(merged))
        storage.configure(settings)
        logger.info(
            "configuration reloaded",
            metadata: [
                "chatd.applied": "\(result.applied.joined(separator: ","))",
                "chatd.restart_needed": "\(result.needRestart.joined(separator: ","))",
            ])
        return result
    }

    /// Prometheus factory for chatd's swift-metrics, with buckets that fit
    /// group commit: batches of 1 to a few hundred writes, commits of 50 µs
    /// (no fsync) to a second (a slow disk).
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[ServerMetrics.writeBatchSizeLabel] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        factory.durationHistogramBuckets[ServerMetrics.commitLatencyLabel] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        return factory
    }

    /// Sets the gauges read at scrape time, then renders the exposition text.
    static func renderMetrics(
        _ prometheus: PrometheusCollectorRegistry, registry: SessionRegistry, store: SQLiteStore,
        hasher: SodiumPasswordHasher, storage: StorageMonitors
    ) -> MetricsListener.Render {
        func gauge(_ name: String, _ help: String, namespace: String = "chatd") -> Prometheus.Gauge {
            prometheus.makeGauge(descriptor: MetricNameDescriptor(namespace: namespace, metricName: name, unitName: "", helpText: help))
        }
        let connections = gauge("connections", "Open client connections.")
        let authenticated = gauge("authenticated_connections", "Open client connections that are logged in.")
        let argon2 = gauge("argon2_queue_depth", "Password hashes waiting for a hashing thread.")
        let writes = gauge("write_queue_depth", "Writes waiting for the group-commit writer.")
        let databaseWritable = gauge(
            "database_storage_writable", "1 when the database's disk accepts writes, 0 when low on space or failed.")
        let filesWritable = gauge(
            "file_store_storage_writable", "1 when the file store's disk accepts writes, 0 when low on space or failed.")
        let databaseFree = gauge("database_storage_free_bytes", "Free bytes on the database's filesystem.")
        let filesFree = gauge("file_store_storage_free_bytes", "Free bytes on the file store's filesystem.")
        let databaseBytes = gauge("database_bytes", "Bytes of the database: main file and write-ahead log.")
        func processGauge(_ name: String, _ help: String) -> Prometheus.Gauge { gauge(name, help, namespace: "process") }
        let processCPU = processGauge("cpu_seconds_total", "Total user and system CPU time spent in seconds.")
        let processRSS = processGauge("resident_memory_bytes", "Resident memory size in bytes.")
        let processVSZ = processGauge("virtual_memory_bytes", "Virtual memory size in bytes.")
        let processFDs = processGauge("open_fds", "Number of open file descriptors.")
        let processMaxFDs = processGauge("max_fds", "Maximum number of open file descriptors.")
        let processStart = processGauge("start_time_seconds", "Start time of the process since unix epoch in seconds.")
        prometheus.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "chatd", metricName: "build_info", unitName: "", helpText: "Always 1; the labels say which chatd this is."),
            labels: [("version", BuildInfo.version), ("commit", BuildInfo.commit)]
        ).set(Int64(1))
        return {
            databaseWritable.set(Double(storage.database.current.isWritable ? 1 : 0))
            filesWritable.set(Double(storage.files.current.isWritable ? 1 : 0))
            if let free = storage.database.freeBytes { databaseFree.set(Double(free)) }
            if let free = storage.files.freeBytes { filesFree.set(Double(free)) }
            connections.set(Double(registry.connectionCount))
            authenticated.set(Double(registry.authenticatedCount))
            argon2.set(Double(hasher.pool.queueDepth))
            writes.set(Double(store.writeQueueDepth))
            databaseBytes.set(Double(store.databaseFileBytes))
            let process = ProcessMetrics.read()
            processCPU.set(process.cpuSeconds)
            processRSS.set(process.residentBytes)
            processVSZ.set(process.virtualBytes)
            processFDs.set(process.openFDs)
            processMaxFDs.set(process.maxFDs)
            processStart.set(process.startTimeSeconds)
            return prometheus.emitToBuffer()
        }
    }

    static func stats(
        store: SQLiteStore, hasher: SodiumPasswordHasher, fileStore: String, storage: StorageMonitors
    ) async -> DaemonStats {
        var s = DaemonStats()
        s.databaseStorage = storage.database.current.summary
        s.fileStoreStorage = storage.files.current.summary
        s.databaseFreeBytes = storage.database.freeBytes ?? -1
        s.fileStoreFreeBytes = storage.files.freeBytes ?? -1
        s.writeQueueDepth = store.writeQueueDepth
        (s.writeBatches, s.writes) = store.groupCommitStatistics
        s.argon2QueueDepth = hasher.pool.queueDepth
        (s.fileStoreFiles, s.fileStoreBytes) = await DataDirectory.treeSize(fileStore)
        return s
    }

    static func configEntry(_ e: Config.Entry) -> Chatd_Control_V1_ConfigEntry {
        var p = Chatd_Control_V1_ConfigEntry()
        p.key = e.key
        p.value = e.value
        p.defaultValue = e.defaultValue
        p.reloadable = e.reloadable
        p.secret = e.secret
        p.isDefault = e.isDefault
        return p
    }

    /// chatctl log-level: sets the level now (nil: reads it) and records it
    /// as the effective `log.level`; the next reload puts the file's value
    /// back (it differs from the one in force). Returns (in force, previous).
    public func setLogLevel(_ text: String?) throws -> (current: String, previous: String) {
        guard let text else { return (logLevel.level.rawValue, logLevel.level.rawValue) }
        guard let level = Logger.Level(rawValue: text) else {
            throw ChatFailure.invalid(
                "level", "level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let previous = logLevel.set(level)
        effective.withLock { $0 = $0.setting("log.level", .string(level.rawValue)) }
        logger.notice("log level changed", metadata: ["chatd.level": "\(level)", "chatd.previous": "\(previous)"])
        return (level.rawValue, previous.rawValue)
    }

    /// Creates the configured default rooms that do not exist yet and makes
    /// new accounts join them.
    static func applyDefaultRooms(
        _ config: Config, store: SQLiteStore, accounts: AccountService, clock: any WallClock, logger: Logger
    ) async throws {
        let limits = Settings(config).domain
        var names: [String] = []
        for name in config[.roomsDefault] {
            do {
                names.append(try Validate.roomName(name, limits: limits))
            } catch {
                throw DaemonError("rooms.default: \"\(name)\" is not a valid room name: \(error)")
            }
        }
        let ids = try await store.ensureRooms(names: names, now: clock.nowMs())
        accounts.setDefaultRooms(ids)
        if !ids.isEmpty { logger.info("default rooms", metadata: ["chatd.rooms": "\(names.joined(separator: ", "))"]) }
    }

    /// Re-reads the config file this daemon was started from and applies it
    /// (chatctl reload; SIGHUP goes through the same path).
    public func reloadFromFile() throws -> (applied: [String], needRestart: [String]) {
        guard let path = config.source else {
            throw ChatFailure(.wrongState, "chatd runs on its embedded default; there is no config file to reload")
        }
        let next: Config
        do {
            next = try Config.load(path: path)
        } catch {
            logger.error("reload refused, configuration unchanged", metadata: ["chatd.error": "\(error)"])
            throw ChatFailure.invalid("config", "\(error)")
        }
        // The TLS files are read again on every reload (a renewal replaces them
        // in place). One that cannot be used refuses the whole reload, so the
        // certificate in force and every key stay as they were.
        var credentials: TLSCredentials?
        if tlsListener != nil {
            do {
                credentials = try TLSSetup.credentials(next)
            } catch {
                logger.error(
                    "reload refused, configuration and TLS certificate unchanged", metadata: ["chatd.error": "\(error)"])
                throw ChatFailure.invalid(error.key ?? "tls", "\(error); the certificate in use is kept")
            }
        }
        let result = reloadNotifying(next)
        if let credentials, let tls = tlsListener?.tls {
            tls.replace(credentials)
            for warning in credentials.warnings { logger.warning("\(warning)") }
            logger.info(
                "TLS certificate reloaded",
                metadata: [
                    "chatd.tls.subject": "\(credentials.subject)",
                    "chatd.tls.expires": "\(TLSCredentials.date(credentials.notValidAfter))",
                ])
        }
        return (result.applied, result.needRestart)
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
        let deadline = ContinuousClock.now + .seconds(config[.serverDrainTimeoutSeconds])
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

/// The data directory is one chatd must not start on (chatd exits 78,
/// EX_CONFIG, as for a bad config file): it would serve an empty or partial
/// database as if it were the real one.
public struct DataDirectoryRefused: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Typed settings derived from the config table.
struct Settings {
    var server: ServerSettings
    var domain: DomainLimits
    var throttle: AccountService.Throttle
    var argon2: Sodium.Argon2Limits
    var groupCommit: SQLiteStore.GroupCommitSettings
    var files: FileLimits
    var databaseMinFreeBytes: Int64
    var filesMinFreeBytes: Int64

    init(_ c: Config) {
        groupCommit = SQLiteStore.GroupCommitSettings(
            maxWrites: Int(c[.storageGroupCommitMaxWrites]),
            maxDelayMicros: Int(c[.storageGroupCommitMaxDelayUs]))
        server = ServerSettings(
            maxFrameLength: Int(c[.serverMaxFrameBytes]),
            maxInflight: Int(c[.serverMaxInflightRequests]),
            idleTimeoutMs: c[.serverIdleTimeoutSeconds] * 1000,
            authTimeoutMs: c[.serverAuthTimeoutSeconds] * 1000,
            maxOutboundBytes: Int(c[.serverMaxOutboundBytes]),
            maxOutboundBytesBeforeLogin: Int(c[.serverMaxOutboundBytesBeforeLogin]),
            slowConsumerGraceMs: c[.serverSlowConsumerGraceSeconds] * 1000,
            maxConnections: Int(c[.serverMaxConnections]),
            maxConnectionsPerAddress: Int(c[.serverMaxConnectionsPerAddress]),
            maxConcurrentPagesPerUser: Int(c[.serverMaxConcurrentPagesPerUser]))
        var d = DomainLimits()
        d.minPasswordBytes = Int(c[.accountsPasswordMinBytes])
        d.maxPasswordBytes = Int(c[.accountsPasswordMaxBytes])
        d.tokenTTLMs = c[.accountsTokenTtlDays] * 24 * 3600 * 1000
        d.registrationOpen = c[.accountsRegistrationOpen]
        d.maxMessageBytes = Int(c[.limitsMaxMessageBytes])
        d.maxHistoryLimit = Int(c[.limitsMaxHistoryLimit])
        d.maxRoomNameBytes = Int(c[.limitsMaxRoomNameBytes])
        d.maxDescriptionBytes = Int(c[.limitsMaxDescriptionBytes])
        d.maxDisplayNameBytes = Int(c[.limitsMaxDisplayNameBytes])
        d.maxStatusTextBytes = Int(c[.limitsMaxStatusTextBytes])
        d.maxAvatarURLBytes = Int(c[.limitsMaxAvatarUrlBytes])
        d.defaultRetentionDays = Int(c[.retentionDefaultDays])
        d.auditRetentionDays = Int(c[.retentionAuditDays])
        d.conversationCreations = Int(c[.limitsConversationsCreatedPerUser])
        d.conversationCreationWindowMs = c[.limitsConversationCreationWindowSeconds] * 1000
        domain = d
        throttle = AccountService.Throttle(
            accountFailures: Int(c[.securityLoginFailuresPerAccount]),
            accountWindowMs: c[.securityLoginFailureWindowSeconds] * 1000,
            addressAttempts: Int(c[.securityLoginsPerAddress]),
            addressWindowMs: c[.securityLoginAddressWindowSeconds] * 1000)
        var f = FileLimits()
        f.maxFileBytes = c[.filesMaxFileBytes]
        // The parser keeps the chunk 4 KiB below the frame limit; this only guards configs built in code.
        f.maxChunkBytes = Int(max(512, min(c[.filesMaxChunkBytes], c[.serverMaxFrameBytes] - 4096)))
        f.userQuotaBytes = c[.filesUserQuotaBytes]
        f.policy = ContentPolicy(allowed: c[.filesAllowedTypes])
        f.uploadTTLMs = c[.filesUploadTtlHours] * 3600 * 1000
        databaseMinFreeBytes = c[.storageMinFreeBytes]
        filesMinFreeBytes = c[.filesMinFreeBytes]
        f.unreferencedGraceMs = c[.filesUnreferencedGraceHours] * 3600 * 1000
        files = f
        argon2 = Sodium.Argon2Limits(
            opsLimit: UInt64(c[.securityArgon2OpsLimit]), memLimit: Int(c[.securityArgon2MemKib]) * 1024)
    }
}

/// The data directory: created owner-only; holds the token key.
enum DataDirectory {
    static func prepare(_ path: String) throws {
        if let problem = problem(creating: path) { throw DaemonError(problem) }
    }

    /// Makes `path` (and missing parents, owner-only) unless it is a
    /// writable directory already; nil on success, else why not in plain words.
    /// With `create` false nothing is made: the nearest existing ancestor
    /// must be a writable directory (`chatd --check-config`).
    static func problem(
        creating path: String, key: String = "storage.data_dir", target: String? = nil, create: Bool = true
    ) -> String? {
        let what = target == nil ? "\(key) \(path)" : "\(path) (on the way to \(key) \(target ?? ""))"
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { return "\(what) exists and is not a directory" }
            guard access(path, W_OK | X_OK) == 0 else {
                return "\(what) is not writable by chatd (uid \(getuid())): \(String(cString: strerror(errno))); "
                    + "chown it to chatd's user or choose another directory"
            }
            return nil
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path,
            let problem = problem(creating: parent, key: key, target: target ?? path, create: create)
        {
            return problem
        }
        guard create else { return nil }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            return "cannot create \(what): \(String(cString: strerror(errno))); "
                + "create it as root (owned by chatd's user, mode 0700) or choose another directory"
        }
        return nil
    }

    /// A backup that did not finish (its staging directory, restored by
    /// mistake, or a partial copy of one) holds the marker; a backup whose
    /// database went missing holds the manifest alone. Starting on either
    /// would create an empty database and a new token key, silently.
    static func refuseUnfinishedBackup(_ path: String) throws(DataDirectoryRefused) {
        let fm = FileManager.default
        let marker = (path as NSString).appendingPathComponent(BackupDirectory.incompleteMarkerName)
        if fm.fileExists(atPath: marker) {
            throw DataDirectoryRefused(
                "data_dir \(path) holds \(BackupDirectory.incompleteMarkerName): it is a backup that did not finish (chatctl backup was interrupted), its database may be missing or partial; restore a complete backup instead (check one with chatctl backup --verify PATH)"
            )
        }
        let manifest = (path as NSString).appendingPathComponent(BackupDirectory.manifestName)
        let database = (path as NSString).appendingPathComponent(BackupDirectory.databaseName)
        if fm.fileExists(atPath: manifest), !fm.fileExists(atPath: database) {
            throw DataDirectoryRefused(
                "data_dir \(path) holds a backup manifest (\(BackupDirectory.manifestName)) but no \(BackupDirectory.databaseName): the backup's database is missing and chatd would start on an empty one; restore the whole backup directory (check it with chatctl backup --verify PATH)"
            )
        }
    }

    /// (regular files, bytes) under `path`, walked on a dispatch thread; (0, 0) when it does not exist.
    static func treeSize(_ path: String) async -> (Int, Int64) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var files = 0
                var bytes: Int64 = 0
                let enumerator = FileManager.default.enumerator(
                    at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
                while let url = enumerator?.nextObject() as? URL {
                    guard let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]),
                        values.isRegularFile == true
                    else { continue }
                    files += 1
                    bytes += Int64(values.fileSize ?? 0)
                }
                continuation.resume(returning: (files, bytes))
            }
        }
    }

    /// Reads the 32-byte token key, creating it (mode 0600) on first start.
    static func tokenKey(in dir: String) throws -> [UInt8] {
        let path = (dir as NSString).appendingPathComponent("token.key")
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else {
                throw DaemonError("\(path) must hold exactly 32 bytes (it has \(data.count)); restore it or remove it to end all sessions")
            }
            return Array(data)
        }
        let key = Sodium.randomBytes(32)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw DaemonError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = key.withUnsafeBytes { write(fd, $0.baseAddress, 32) }
        guard written == 32, fsync(fd) == 0 else { throw DaemonError("cannot write \(path)") }
        return key
    }
}
