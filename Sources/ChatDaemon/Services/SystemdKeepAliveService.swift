import Logging
import ServiceLifecycle

/// systemd's view of chatd: watchdog keep-alives at half of $WATCHDOG_USEC
/// and a STATUS line with the connection counts every 10 s (only under
/// systemd). Last in the group, it is the first to hear of a shutdown, and
/// says so: the log line and STOPPING=1.
struct SystemdKeepAliveService: Service, CustomStringConvertible {
    let notifier: SystemdNotifier
    let logger: Logger
    let status: @Sendable () -> String?
    /// How often STATUS= is sent.
    static let statusInterval: Duration = .seconds(10)

    var description: String { "systemd keep-alive" }

    func run() async {
        if notifier.isEnabled {
            let interval = notifier.watchdogInterval ?? Self.statusInterval
            try? await cancelWhenGracefulShutdown { [notifier, status] in
                var sinceStatus = Duration.zero
                while true {
                    try await Task.sleep(for: interval)
                    if notifier.watchdogInterval != nil { notifier.watchdog() }
                    sinceStatus += interval
                    if sinceStatus >= Self.statusInterval {
                        sinceStatus = .zero
                        if let line = status() { notifier.status(line) }
                    }
                }
            }
        } else {
            try? await gracefulShutdown()
        }
        logger.info("chatd stopping")
        notifier.stopping()
    }
}
