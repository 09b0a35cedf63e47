import ChatServer
import ServiceLifecycle

/// A bound listener (client, TLS client, control socket, metrics endpoint)
/// as a service: it accepts from the moment it is bound, and closes when the
/// group shuts down. Connections it accepted are not its business: the
/// client ones are drained by `ConnectionDrainService`.
struct ListenerService: Service, CustomStringConvertible {
    let description: String
    let close: @Sendable () async -> Void

    static func chat(_ listener: ChatListener) -> ListenerService {
        ListenerService(description: "listener \(Daemon.describe(listener))", close: listener.close)
    }

    static func control(_ listener: ControlListener) -> ListenerService {
        ListenerService(description: "control socket \(listener.path)", close: listener.close)
    }

    static func metrics(_ listener: MetricsListener) -> ListenerService {
        ListenerService(description: "metrics endpoint", close: listener.close)
    }

    func run() async {
        // Cancellation (a failed sibling) closes as well.
        try? await gracefulShutdown()
        await close()
    }
}
