import ChatCore
import ChatStore
import Logging

/// The daemon's two storage monitors (the database's disk and the file
/// store's), configured from the settings, refreshed on a timer, and told
/// to the operator once per change: a log line, the systemd status.
public struct StorageMonitors: Sendable {
    public let database: StorageMonitor
    public let files: StorageMonitor

    /// How often free space is measured: a statvfs call is cheap, and a disk
    /// filling at 100 MB/s crosses the default minimum in about a second of
    /// this period.
    static let checkInterval: Duration = .seconds(5)

    func configure(_ settings: Settings) {
        database.setMinFreeBytes(settings.databaseMinFreeBytes)
        files.setMinFreeBytes(settings.filesMinFreeBytes)
    }

    func refresh() {
        database.refresh()
        files.refresh()
    }

    func observe(logger: Logger, notifier: SystemdNotifier) {
        for (name, monitor) in [("database", database), ("file store", files)] {
            monitor.onChange { health in
                if health.isWritable {
                    logger.notice("\(name) storage writable again")
                } else {
                    logger.error("\(name) storage: \(health.summary)")
                }
                notifier.status("\(name) storage: \(health.summary)")
            }
        }
    }

    /// What is wrong, for status lines; nil when both accept writes.
    public var trouble: String? {
        let parts = [("database", database.current), ("file store", files.current)].compactMap { name, health in
            health.isWritable ? nil : "\(name) storage \(health.summary)"
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
