import ServiceLifecycle

/// Housekeeping off the request path, run every `interval` until the group
/// shuts down: file garbage collection (expired uploads, unreferenced files,
/// strays), the retention purge, the storage monitors' refresh.
struct PeriodicJobService: Service, CustomStringConvertible {
    let description: String
    let interval: Duration
    let job: @Sendable () async -> Void

    func run() async {
        // A job under way when the shutdown begins is cancelled with the wait.
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: interval)
                await job()
            }
        }
    }
}
