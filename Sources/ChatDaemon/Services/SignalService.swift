import Logging
import ServiceLifecycle
import UnixSignals

/// The chatd process's signals: SIGTERM and SIGINT stop the group
/// gracefully, SIGHUP reloads the config file. Early in the group, it is
/// still listening while the others stop (a second SIGTERM is only logged).
struct SignalService: Service, CustomStringConvertible {
    let signals: UnixSignalsSequence
    let logger: Logger
    let reload: @Sendable () async -> Void
    let stop: @Sendable () async -> Void

    var description: String { "signals" }

    func run() async {
        for await signal in signals.cancelOnGracefulShutdown() {
            switch signal {
            case .sighup:
                await reload()
            default:
                logger.info("signal received", metadata: ["chatd.signal": "\(signal)"])
                await stop()
            }
        }
    }
}
