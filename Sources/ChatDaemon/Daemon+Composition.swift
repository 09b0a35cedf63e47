import ChatConfig
import ChatCore
import ChatCrypto
import ChatWebPush
import ChatPostgres
import ChatProtocol
import ChatServer
import ChatStore
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import Prometheus

/// Composition: every part of chatd built from the config, wired together,
/// and the listeners bound. Nothing runs yet but the listeners' accepting;
/// `start` hands the parts to the service group.
extension Daemon {
    /// The configured backend's store, open and migrated.
    static func openDatabase(_ config: Config, logger: Logger) async throws -> any DaemonDatabase {
        if config.usesPostgreSQL {
            let store: PostgresStore
            do {
                store = try await PostgresStore.open(try StorageBackend.postgresSettings(config), logger: logger)
            } catch let error as PostgresStoreError where error.kind == .newerSchema {
                // As for SQLite below: a database this chatd does not know is not served.
                throw DataDirectoryRefused("storage.postgresql_url: \(error)")
            }
            store.reconfigure(groupCommit: Settings(config).groupCommit)
            return store
        }
        do {
            return try SQLiteStore.open(
                path: (config.dataDir as NSString).appendingPathComponent("chatd.sqlite3"),
                synchronous: SQLiteStore.Synchronous(rawValue: config[.storageSynchronous]) ?? .full,
                readers: Int(config[.storageReaderCount]), groupCommit: Settings(config).groupCommit)
        } catch let error as SQLiteStore.SchemaTooNew {
            throw DataDirectoryRefused("\(error)")
        }
    }

    static func assemble(
        config: Config, logger: Logger, clock: any WallClock, allowedControlUIDs: Set<UInt32>?, notifier: SystemdNotifier,
        listenDescriptor: CInt?, logLevel: LogLevelControl?, lock: DataDirectoryLock
    ) async throws -> Daemon {
        let logLevel = logLevel ?? LogLevelControl(Logger.Level(rawValue: config[.logLevel]) ?? .info)
        let dataDir = config.dataDir
        let tokenKey = try DataDirectory.tokenKey(in: dataDir)
        // The file store (content-addressed files), backed up and measured by chatctl.
        let fileStore = config.filesDir

        let store = try await openDatabase(config, logger: logger)

        // Several nodes on one PostgreSQL database share what is never stored through it.
        let shared = store as? PostgresStore
        // Before the memberships and contacts below are read: what other
        // nodes commit from here on reaches this node's fan-out.
        try await shared?.loadHeads()
        let link: any ClusterLink = shared.map(PostgresClusterLink.init) ?? NoCluster()
        let registry = SessionRegistry()
        let presence = PresenceHub(registry: registry, store: store, clock: clock, logger: logger, link: link)
        presence.load(try await store.allContacts())
        let hub = FanoutHub(registry: registry, presence: presence, link: link)
        let members = ClusterMembers()
        if let shared {
            try await Cluster.checkTokenKey(tokenKey, store: shared, dataDir: dataDir)
            Cluster.join(
                store: shared, hub: hub, registry: registry, presence: presence, link: link, clock: clock, logger: logger)
            // Listed among the live nodes before any user of this node is
            // announced to the others.
            members.update(
                try await shared.heartbeat(
                    .init(listen: "", version: chatdVersion, connections: 0, authenticated: 0),
                    liveWithinMs: Cluster.liveWithinMs))
        }
        let throughput = MessageThroughput(clock: clock)
        let metricsAddress = ListenAddress(config[.metricsListen])
        let prometheus = metricsAddress.map { _ in PrometheusCollectorRegistry() }
        let metrics = ServerMetrics(factory: prometheus.map(Self.metricsFactory) ?? NOOPMetricsHandler.instance)
        let settings = Settings(config)
        let pushTargets = PushTargetService(
            store: store, clock: clock, rules: settings.push, sealer: WebPushEncryption(),
            signer: VAPIDSigner(tokenKey: tokenKey, subject: config[.pushVapidSubject]))
        let pushThread = try await PushThread(nice: settings.pushNice)
        let pushHTTP = HTTPPushClient(connectionsPerHost: settings.notifier.concurrency, group: pushThread.group)
        let push = PushNotifier(
            settings: settings.notifier, targets: pushTargets, store: store, hub: hub, http: pushHTTP, clock: clock,
            metrics: metrics, logger: logger, executor: pushThread)
        try await push.load()
        store.setEventObserver { batch in
            hub.publish(batch)
            for changes in batch {
                push.committed(changes, local: !changes.announced)
                metrics.messagesCommitted(throughput.committed(changes))
            }
        }
        if prometheus != nil { store.setBatchObserver { metrics.batchCommitted(writes: $0, duration: $1) } }
        hub.load(try await store.allMemberships())

        let hasher = SodiumPasswordHasher(
            limits: settings.argon2, threads: Int(config[.securityHashThreads]),
            queueCapacity: Int(config[.securityHashQueue]), niceness: Int32(config[.securityHashNice]))
        let crypto = SodiumTokenCrypto(key: tokenKey)
        let accounts = AccountService(
            store: store, hasher: hasher, crypto: crypto, clock: clock, sessions: ClusterSessions(registry: registry, link: link), limits: settings.domain,
            throttle: settings.throttle)
        let rooms = ConversationService(store: store, clock: clock, limits: settings.domain)
        let friends = FriendService(store: store, clock: clock)
        let blobs = try DiskBlobStore(root: config.filesDir, makeHasher: { Blake2bStream() })
        // On PostgreSQL the database's disk is the server's, watched there.
        let storage = StorageMonitors(database: store.localStorage ?? StorageMonitor(probe: { nil }), files: blobs.storage)
        storage.configure(settings)
        storage.observe(logger: logger, notifier: notifier)
        let files = FileService(
            catalog: store, blobs: blobs, random: { Sodium.randomBytes($0) }, clock: clock, limits: settings.files)
        try await applyDefaultRooms(config, store: store, accounts: accounts, clock: clock, logger: logger)
        let invites = InviteService(store: store, clock: clock, crypto: crypto)
        let router = ClientRouter(
            accounts: accounts, conversations: rooms, invites: invites, friends: friends, files: files, hub: hub, push: pushTargets,
            clock: clock, logger: logger, maxFrameLength: settings.server.maxFrameLength)
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
                try Self.checkActivation(config)
                let adopted = try await ChatListener.adopt(descriptor: fd, server: server, group: group)
                listener = adopted
                logger.info(
                    "adopted the listening socket from the service manager",
                    metadata: ["chatd.fd": "\(fd)", "chatd.listen": "\(Self.describe(adopted))"])
                if let warning = Self.activationMismatch(config, adopted: adopted.channel.localAddress) {
                    logger.warning("\(warning)")
                }
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
                    return try await daemon.reloadFromFile()
                },
                hooks: OperatorHooks(
                    // No content is placed or collected while the backup runs, so every
                    // file the database snapshot knows has its content in the copy.
                    backup: { path in
                        guard let store = store as? SQLiteStore else {
                            throw ChatFailure.invalid(
                                "path", "chatctl backup copies the SQLite database; back up PostgreSQL with pg_dump or pg_basebackup")
                        }
                        return try await files.excludingContentChanges {
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
                    },
                    cluster: { (shared?.nodeName ?? "", members.current.map(Self.clusterNode)) },
                    otherNodesSessions: { user, after, limit in
                        guard let shared else { return [] }
                        return try await shared.otherNodesSessions(
                            user: user, after: after, limit: limit, liveWithinMs: Cluster.liveWithinMs
                        ).map(Cluster.nodeSession)
                    },
                    clusterLoad: {
                        guard let shared else { return ([], []) }
                        let (nodes, users) = try await shared.clusterLoad(liveWithinMs: Cluster.liveWithinMs)
                        return (nodes.map(Self.clusterNode), users)
                    },
                    push: pushTargets,
                    pushQueue: { (push.queued.notes, push.queued.dropped) }),
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
                                prometheus, registry: registry, store: store, hasher: hasher, storage: storage,
                                fileStore: config.filesDir),
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
                metricsListener: metricsListener, storage: storage, lock: lock, members: members,
                push: (pushTargets, push, pushHTTP, pushThread))
            daemonBox.set(daemon)
            return daemon
        } catch {
            for listener in opened { await listener.close() }
            hasher.shutdown()
            await pushHTTP.shutdown()
            await pushThread.shutdown()
            await store.shutdown(logger: logger)
            try? await group.shutdownGracefully()
            throw error
        }
    }
}
