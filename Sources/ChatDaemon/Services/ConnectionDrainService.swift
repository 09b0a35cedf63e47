import ChatServer
import ServiceLifecycle

/// The client connections of every listener. At shutdown, once the
/// listeners are closed (they stop before it), requests are refused, those
/// in flight may finish for up to the drain timeout, every client is told
/// goodbye, and the goodbyes get a moment to leave.
struct ConnectionDrainService: Service, CustomStringConvertible {
    let server: ServerContext
    /// Read at shutdown: `server.drain_timeout_seconds` may have been reloaded.
    let drainTimeout: @Sendable () -> Duration
    /// How long the goodbye frames may take to leave.
    static let closeTimeout: Duration = .seconds(2)

    var description: String { "client connections" }

    func run() async {
        // Cancelled (a failed sibling): no waiting, but every client still hears goodbye.
        try? await gracefulShutdown()
        server.beginDraining()
        let deadline = ContinuousClock.now + drainTimeout()
        while server.inflightRequests > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        server.endAllConnections()
        let closeDeadline = ContinuousClock.now + Self.closeTimeout
        while server.registry.connectionCount > 0 && ContinuousClock.now < closeDeadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
