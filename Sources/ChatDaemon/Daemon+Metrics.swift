import ChatBuildInfo
import ChatCrypto
import ChatServer
import ChatStore
import Prometheus
import Synchronization

extension Daemon {
    /// Prometheus factory for chatd's swift-metrics, with help texts and
    /// buckets that fit group commit (batches of 1 to a few hundred writes,
    /// commits of 50 µs without fsync to a second on a slow disk) and
    /// requests (100 µs to 10 s).
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> DocumentedMetricsFactory {
        var factory = DocumentedMetricsFactory(registry: registry)
        factory.valueBuckets[ServerMetrics.writeBatchSizeLabel] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        factory.durationBuckets[ServerMetrics.commitLatencyLabel] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        factory.durationBuckets[ServerMetrics.requestDurationLabel] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(10),
        ]
        return factory
    }

    /// Sets the gauges read at scrape time, then renders the exposition text.
    static func renderMetrics(
        _ prometheus: PrometheusCollectorRegistry, registry: SessionRegistry, store: any DaemonDatabase,
        hasher: SodiumPasswordHasher, storage: StorageMonitors, fileStore: String
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
        let searchIndexBytes = gauge(
            "search_index_bytes", "Bytes of the search index's file beside the database, with its write-ahead log (SQLite).")
        let searchIndexCurrent = gauge(
            "search_index_current", "1 when the search index follows the messages; 0 while it is rebuilt or its rounds fail.")
        let fileStoreBytes = gauge(
            "file_store_bytes", "Bytes of the files in the file store, contents and partial uploads (measured at most once a minute).")
        let fileStoreSize = FileStoreSize(path: fileStore)
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
            if let bytes = store.localDatabaseBytes { databaseBytes.set(Double(bytes)) }
            if let bytes = store.localSearchIndexBytes { searchIndexBytes.set(Double(bytes)) }
            searchIndexCurrent.set(Double(store.searchIndexStatus == .current ? 1 : 0))
            if let bytes = fileStoreSize.latest() { fileStoreBytes.set(Double(bytes)) }
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
}

/// The file store's size for the metrics endpoint. Walking the tree costs
/// one stat per file, so a scrape never waits for it: it reads the last
/// measurement and, when that is over a minute old, starts the next one.
final class FileStoreSize: Sendable {
    private struct State {
        var bytes: Int64?
        var measuredAt: ContinuousClock.Instant?
        var measuring = false
    }

    let path: String
    private let state = Mutex(State())
    static let maxAge: Duration = .seconds(60)

    init(path: String) { self.path = path }

    func latest() -> Int64? {
        let (bytes, start) = state.withLock { s -> (Int64?, Bool) in
            let stale = s.measuredAt.map { ContinuousClock.now - $0 > Self.maxAge } ?? true
            guard stale && !s.measuring else { return (s.bytes, false) }
            s.measuring = true
            return (s.bytes, true)
        }
        if start {
            Task {
                let (_, measured) = await DataDirectory.treeSize(path)
                state.withLock {
                    $0.bytes = measured
                    $0.measuredAt = ContinuousClock.now
                    $0.measuring = false
                }
            }
        }
        return bytes
    }
}
