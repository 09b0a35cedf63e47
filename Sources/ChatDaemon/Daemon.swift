import ChatConfig
import ChatCore
import ChatCrypto
import ChatServer
import ChatStore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The composition root: builds every part of chatd from a `Config` and
/// runs the listeners and background jobs as services of one `ServiceGroup`
/// (`Daemon+Services.swift`). `chatd` runs one; the end-to-end tests run many.
public final class Daemon: Sendable {
    /// The configuration in force (startup values, plus reloaded keys).
    public var config: Config { effective.withLock { $0 } }
    /// Written by reload and chatctl log-level.
    let effective: Mutex<Config>
    let rooms: ConversationService
    public let files: FileService
    public let store: any DaemonDatabase
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
    /// The search index's state last told to the operator.
    let searchIndexWatch = Mutex(SearchIndexWatch())
    /// Held from start to the end of shutdown: one chatd per data directory.
    let lock: DataDirectoryLock
    /// The nodes sharing the database (PostgreSQL), as the last heartbeat saw them.
    let members: ClusterMembers
    /// Push targets, the notifier and its HTTP client (§4.8).
    let push: (targets: PushTargetService, notifier: PushNotifier, http: HTTPPushClient, thread: PushThread)
    /// Set in the chatd process: a reload parses the file in a child first.
    let configProbe = Mutex<ConfigFileProbe?>(nil)
    /// The service group and the task running it, from the end of `start`.
    private let lifecycle = Mutex<(group: ServiceGroup, running: Task<Void, any Error>)?>(nil)

    init(
        config: Config, store: any DaemonDatabase, server: ServerContext, listener: ChatListener?, tlsListener: ChatListener?,
        control: ControlListener,
        accounts: AccountService, rooms: ConversationService, files: FileService, hasher: SodiumPasswordHasher,
        group: MultiThreadedEventLoopGroup, logger: Logger, notifier: SystemdNotifier, logLevel: LogLevelControl,
        metricsListener: MetricsListener?, storage: StorageMonitors, lock: DataDirectoryLock, members: ClusterMembers,
        push: (targets: PushTargetService, notifier: PushNotifier, http: HTTPPushClient, thread: PushThread)
    ) {
        self.push = push
        self.lock = lock
        self.members = members
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

    var listeners: [ChatListener] { [listener, tlsListener].compactMap { $0 } }
    public var controlSocketPath: String { control.path }

    /// Builds and starts chatd. Throws `InstanceConflictError` when another
    /// chatd holds the data directory or listens on the control socket.
    /// With `handlesSignals`, SIGTERM and SIGINT stop it gracefully and SIGHUP
    /// reloads the config file (the chatd process; tests call `shutdown`).
    public static func start(
        config: Config, logger: Logger, clock: any WallClock = SystemClock(), allowedControlUIDs: Set<UInt32>? = nil,
        notifier: SystemdNotifier = SystemdNotifier(environment: [:]), listenDescriptor: CInt? = nil,
        logLevel: LogLevelControl? = nil, handlesSignals: Bool = false, configProbe: ConfigFileProbe? = nil
    ) async throws -> Daemon {
        guard Sodium.ready else { throw DaemonError("libsodium failed to initialise") }
        // Trapped before anything is announced ("chatd listening" is logged while
        // assembling): a signal from here on is the group's, never the default
        // action (a SIGHUP right after that line used to end chatd).
        let signals = handlesSignals ? await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup) : nil
        try DataDirectory.prepare(config.dataDir)
        // Before anything is created in it: a new token key or an empty database would hide the problem.
        try DataDirectory.refuseUnfinishedBackup(config.dataDir)
        // One chatd per data directory: nothing in it is opened before the lock is held.
        let lock = try DataDirectoryLock.acquire(dataDir: config.dataDir)
        let daemon: Daemon
        do {
            daemon = try await assemble(
                config: config, logger: logger, clock: clock, allowedControlUIDs: allowedControlUIDs, notifier: notifier,
                listenDescriptor: listenDescriptor, logLevel: logLevel, lock: lock)
        } catch {
            lock.release()
            throw error
        }
        daemon.configProbe.withLock { $0 = configProbe }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: daemon.services(signals: signals), logger: logger))
        // A task, not a detached one: a graceful shutdown of the caller's
        // task (ServiceLifecycleTestKit, an enclosing group) reaches the group.
        let running = Task { try await group.run() }
        daemon.lifecycle.withLock { $0 = (group, running) }
        notifier.ready(status: daemon.statusLine())
        return daemon
    }

    /// Graceful stop: refuse new connections and requests, let requests in
    /// flight finish (up to the drain timeout), say goodbye to every client,
    /// checkpoint the WAL and close the database. Returns when all of it is done.
    public func shutdown() async {
        await beginShutdown()
        try? await waitUntilStopped()
    }

    /// Asks the service group to stop gracefully (each service in the reverse
    /// of its start order, see `services(signals:)`); returns at once.
    func beginShutdown() async {
        guard let group = lifecycle.withLock({ $0?.group }) else { return }
        await group.triggerGracefulShutdown()
    }

    /// Suspends until every service has stopped and the database is closed;
    /// throws what ended the group when a service failed.
    public func waitUntilStopped() async throws {
        guard let running = lifecycle.withLock({ $0?.running }) else { return }
        try await running.value
    }

    /// A one-line summary for systemd's STATUS=.
    public func statusLine() -> String {
        let addresses = [config.listen.map { "\($0)" }, config.tlsListen.map { "\($0) (TLS)" }].compactMap { $0 }
        let line = "listening on \(addresses.joined(separator: ", ")), \(server.registry.connectionCount) connections (\(server.registry.authenticatedCount) authenticated)"
        let search = store.searchIndexStatus
        let trouble = [storage.trouble, search == .current ? nil : "search index \(search)"].compactMap { $0 }
        return ([line] + trouble).joined(separator: "; ")
    }
}

extension Daemon {
    /// A socket passed by the service manager (socket activation) is a plain
    /// listener: with `server.listen = ""` (TLS only) adopting it would serve
    /// clients in the clear that the config meant to keep off, so chatd
    /// refuses to start (exit 78).
    static func checkActivation(_ config: Config) throws(ConfigError) {
        guard config.listen == nil else { return }
        throw ConfigError(
            file: config.source ?? "the embedded default", key: "server.listen",
            reason: "is \"\" (no plain listener), but the service manager passed a listening socket (socket activation, "
                + "LISTEN_FDS): disable chatd.socket, or set server.listen to its ListenStream= address")
    }

    /// The adopted socket decides where chatd listens; a `server.listen`
    /// naming another address is ignored, which the operator should hear of.
    static func activationMismatch(_ config: Config, adopted: SocketAddress?) -> String? {
        guard let listen = config.listen, let host = adopted?.ipAddress, let port = adopted?.port else { return nil }
        let sameHost = listen.host == host || (listen.host == "localhost" && ["127.0.0.1", "::1"].contains(host))
        if sameHost && (listen.port == port || listen.port == 0) { return nil }
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return "listening on \(shown), the socket the service manager passed (its ListenStream=), not on server.listen \(listen)"
    }

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
