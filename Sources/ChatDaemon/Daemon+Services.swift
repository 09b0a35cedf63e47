import ChatConfig
import ChatCore
import ChatPostgres
import ServiceLifecycle
import UnixSignals

extension Daemon {
    /// chatd's services in start order. A graceful shutdown stops them one
    /// at a time in the reverse order, each once the one after it has
    /// finished: first the announcement (log, STOPPING=1) and the background
    /// jobs, then the client listeners, then the client connections (drained
    /// and told goodbye), the control socket, the metrics endpoint, and last
    /// what they all use (database, hashing, event loops, the lock).
    func services(signals: UnixSignalsSequence?) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [any Service] = [
            ResourcesService(store: store, hasher: hasher, group: group, lock: lock, logger: logger)
        ]
        // Other nodes' commits reach this node's connections before any listener opens.
        if let shared = store as? PostgresStore {
            services += [
                ClusterListenerService(store: shared) as any Service,
                ClusterHeartbeatService(
                    store: shared, registry: server.registry, presence: server.hub.presence, members: members,
                    listen: listeners.map(Self.describe).joined(separator: ", "), logger: logger),
            ]
        }
        services.append(PushService(notifier: push.notifier, http: push.http, thread: push.thread))
        if let signals {
            services.append(
                SignalService(
                    signals: signals, logger: logger,
                    reload: { [weak self] in await self?.reloadOnSignal() },
                    stop: { [weak self] in await self?.beginShutdown() }))
        }
        services += [metricsListener.map(ListenerService.metrics), ListenerService.control(control)].compactMap { $0 }
        services.append(
            ConnectionDrainService(server: server) { [weak self] in
                .seconds(self?.config[.serverDrainTimeoutSeconds] ?? 0)
            })
        services += listeners.map(ListenerService.chat)
        services += [
            PeriodicJobService(description: "storage monitors", interval: StorageMonitors.checkInterval) {
                [storage] in storage.refresh()
            },
            PeriodicJobService(description: "search index watch", interval: StorageMonitors.checkInterval) {
                [weak self] in self?.watchSearchIndex()
            },
            PeriodicJobService(
                description: "file garbage collection", interval: .seconds(config[.filesGcIntervalMinutes] * 60)
            ) { [weak self] in await self?.collectGarbage() },
            PeriodicJobService(
                description: "retention purge", interval: .seconds(config[.retentionPurgeIntervalMinutes] * 60)
            ) { [weak self] in await self?.purge() },
            SystemdKeepAliveService(notifier: notifier, logger: logger) { [weak self] in self?.statusLine() },
        ]
        // A service that returns or throws before the shutdown ends the group
        // (the default): chatd does not run with a part missing.
        return services.map { .init(service: $0, serviceName: "\($0)") }
    }
}
