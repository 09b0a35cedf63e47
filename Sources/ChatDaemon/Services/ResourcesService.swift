import ChatCrypto
import ChatStore
import Logging
import NIOPosix
import ServiceLifecycle

/// What every other service uses: the database, the hashing threads, the
/// event loops and the data directory lock. First in the group, it is the
/// last to stop, once nothing can reach them any more.
struct ResourcesService: Service, CustomStringConvertible {
    let store: any DaemonDatabase
    let hasher: SodiumPasswordHasher
    let group: MultiThreadedEventLoopGroup
    let lock: DataDirectoryLock
    let logger: Logger

    var description: String { "database, hashing and event loops" }

    func run() async {
        try? await gracefulShutdown()
        hasher.shutdown()
        await store.shutdown(logger: logger)
        try? await group.shutdownGracefully()
        // Last: the next chatd may open the database only once this one has closed it.
        lock.release()
        logger.info("chatd stopped")
    }
}
