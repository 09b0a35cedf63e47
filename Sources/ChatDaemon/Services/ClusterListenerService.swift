import ChatPostgres
import ServiceLifecycle

/// On PostgreSQL: listens for what the other nodes commit and hands it to
/// this node's fan-out, as if committed here (catching up from the database
/// after a lost connection), until the group shuts down.
struct ClusterListenerService: Service, CustomStringConvertible {
    let store: PostgresStore

    var description: String { "cross-node delivery" }

    func run() async {
        await cancelWhenGracefulShutdown {
            await store.listenForOtherNodes()
        }
    }
}
