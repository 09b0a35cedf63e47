import ChatServer
import ServiceLifecycle

/// Sends push notifications (PushNotifier) until the shutdown; then the
/// HTTP client closes once the requests under way have ended, then its thread.
struct PushService: Service, CustomStringConvertible {
    let notifier: PushNotifier
    let http: HTTPPushClient
    let thread: PushThread

    var description: String { "push notifications" }

    func run() async {
        await withGracefulShutdownHandler {
            await notifier.run()
        } onGracefulShutdown: {
            notifier.stop()
        }
        await http.shutdown()
        await thread.shutdown()
    }
}
