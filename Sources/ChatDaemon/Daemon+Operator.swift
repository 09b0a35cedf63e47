import ChatConfig
import ChatCrypto
import ChatProtocol
import ChatServer
import ChatStore

extension Daemon {
    static func stats(
        store: any DaemonDatabase, hasher: SodiumPasswordHasher, fileStore: String, storage: StorageMonitors
    ) async -> DaemonStats {
        var s = DaemonStats()
        s.databaseStorage = storage.database.current.summary
        s.fileStoreStorage = storage.files.current.summary
        s.databaseFreeBytes = storage.database.freeBytes ?? -1
        s.fileStoreFreeBytes = storage.files.freeBytes ?? -1
        s.writeQueueDepth = store.writeQueueDepth
        (s.writeBatches, s.writes) = store.groupCommitStatistics
        s.argon2QueueDepth = hasher.pool.queueDepth
        (s.fileStoreFiles, s.fileStoreBytes) = await DataDirectory.treeSize(fileStore)
        s.searchIndexBytes = store.localSearchIndexBytes ?? 0
        s.searchIndex = store.searchIndexStatus.description
        return s
    }

    static func configEntry(_ e: Config.Entry) -> Chatd_Control_V1_ConfigEntry {
        var p = Chatd_Control_V1_ConfigEntry()
        p.key = e.key
        p.value = e.value
        p.defaultValue = e.defaultValue
        p.reloadable = e.reloadable
        p.secret = e.secret
        p.isDefault = e.isDefault
        return p
    }
}
