import ChatCrypto
import ChatStore
import Logging
import NIOPosix
import ServiceLifecycle

/// What every other service uses: the database, the hashing threads, the
/// event loops and the data directory lock. First in the group, it is the
/// last to stop, once nothing can reach them any more.
struct ResourcesService: Service, CustomStringConvertible {
    let store: SQLiteStore
    let hasher: SodiumPasswordHasher
    let group: MultiThreadedEventLoopGroup
    let lock: DataDirectoryLock
    let logger: Logger

    var description: String { "database, hashing and event loops" }

    func run() async {
        try? await gracefulShutdown()
        hasher.shutdown()
        do {
            try store.checkpoint()
            try store.close()
        } catch {
            logger.error("closing the database failed", metadata: ["chatd.error": "\(error)"])
        }
        try? await group.shutdownGracefully()
        // Last: the next chatd may open the database only once this one has closed it.
        lock.release()
        logger.info("chatd stopped")
    }
}
