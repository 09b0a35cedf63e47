import ChatCore
import ChatProtocol

/// chatctl audit, backup, stats, config (ops 26–30).
extension ControlRouter {
    func auditQuery(_ q: Chatd_Control_V1_AuditQueryRequest) async throws -> Chatd_Control_V1_AuditQueryResponse {
        let user: UserAccount? = q.hasUser ? try await resolve(q.user) : nil
        let filter = try AuditFilter.validated(
            user: user?.user.id, action: q.action, sinceMs: q.sinceMs, untilMs: q.untilMs, beforeID: q.beforeID,
            limit: Int(q.limit))
        let page = try await admin.auditRecords(filter)
        var r = Chatd_Control_V1_AuditQueryResponse()
        r.entries = page.items.map { record in
            var e = Chatd_Control_V1_AuditEntry()
            e.id = UInt64(record.id)
            e.atMs = record.at
            e.action = record.action
            e.actor = record.actor
            e.userID = UInt64(record.userID ?? 0)
            e.username = record.username ?? ""
            e.address = record.address
            e.detail = record.detail
            return e
        }
        r.hasMore_p = page.hasMore
        return r
    }

    func backup(_ q: Chatd_Control_V1_BackupRequest, actor: String) async throws -> Chatd_Control_V1_BackupResponse {
        let summary = try await hooks.backup(q.path)
        try await audit(
            .adminBackup, actor: actor,
            detail:
                "path=\(summary.path) database_bytes=\(summary.databaseBytes) users=\(summary.users) messages=\(summary.messages) files=\(summary.files) took_ms=\(summary.tookMs)"
        )
        logger.info("backup written", metadata: ["chatd.path": "\(summary.path)", "chatd.took_ms": "\(summary.tookMs)"])
        var r = Chatd_Control_V1_BackupResponse()
        r.path = summary.path
        r.databaseBytes = UInt64(clamping: summary.databaseBytes)
        r.files = UInt32(clamping: summary.files)
        r.fileBytes = UInt64(clamping: summary.fileBytes)
        r.tookMs = summary.tookMs
        r.users = UInt64(clamping: summary.users)
        r.conversations = UInt64(clamping: summary.conversations)
        r.events = UInt64(clamping: summary.events)
        r.messages = UInt64(clamping: summary.messages)
        return r
    }

    /// The interval `messages_per_second` is averaged over.
    static let statsIntervalSeconds = 10

    func stats(_: Chatd_Control_V1_StatsRequest) async throws -> Chatd_Control_V1_StatsResponse {
        let daemon = try await hooks.stats()
        let counts = try await admin.counts()
        let (rate, total) = throughput?.rate(window: Self.statsIntervalSeconds) ?? (0, 0)
        let sessions = registry.sessions()
        var r = Chatd_Control_V1_StatsResponse()
        r.connections = UInt32(clamping: sessions.count)
        r.authenticatedConnections = UInt32(clamping: sessions.filter { $0.user != nil }.count)
        r.onlineUsers = UInt32(clamping: Set(sessions.compactMap(\.user)).count)
        r.messagesPerSecond = rate
        r.intervalSeconds = UInt32(Self.statsIntervalSeconds)
        r.messagesSinceStart = UInt64(clamping: total)
        r.writeQueueDepth = UInt32(clamping: daemon.writeQueueDepth)
        r.writeBatches = UInt64(clamping: daemon.writeBatches)
        r.writes = UInt64(clamping: daemon.writes)
        r.argon2QueueDepth = UInt32(clamping: daemon.argon2QueueDepth)
        r.databaseBytes = UInt64(clamping: counts.databaseBytes)
        r.fileStoreBytes = UInt64(clamping: daemon.fileStoreBytes)
        r.fileStoreFiles = UInt32(clamping: daemon.fileStoreFiles)
        r.searchIndexBytes = UInt64(clamping: daemon.searchIndexBytes)
        r.searchIndex = daemon.searchIndex
        r.uptimeMs = clock.nowMs() - info.startedAtMs
        r.databaseStorage = daemon.databaseStorage
        r.fileStoreStorage = daemon.fileStoreStorage
        r.databaseFreeBytes = daemon.databaseFreeBytes
        r.fileStoreFreeBytes = daemon.fileStoreFreeBytes
        let (nodes, otherNodesUsers) = try await hooks.clusterLoad()
        if !nodes.isEmpty {
            // The other nodes as their heartbeats say, this one as it is.
            let me = hooks.cluster().node
            let others = nodes.filter { $0.node != me }
            r.nodes = nodes
            r.clusterConnections = others.reduce(r.connections) { $0 &+ $1.connections }
            r.clusterAuthenticatedConnections = others.reduce(r.authenticatedConnections) { $0 &+ $1.authenticatedConnections }
            r.clusterOnlineUsers = UInt32(clamping: Set(sessions.compactMap(\.user)).union(otherNodesUsers).count)
        }
        return r
    }

    func configShow(_: Chatd_Control_V1_ConfigShowRequest) throws -> Chatd_Control_V1_ConfigShowResponse {
        let (entries, source) = hooks.config()
        var r = Chatd_Control_V1_ConfigShowResponse()
        r.source = source
        r.entries = entries
        return r
    }

    func logLevel(_ q: Chatd_Control_V1_LogLevelRequest, actor: String) async throws -> Chatd_Control_V1_LogLevelResponse {
        let (current, previous) = try hooks.logLevel(q.level.isEmpty ? nil : q.level)
        if !q.level.isEmpty {
            try await audit(.adminLogLevel, actor: actor, detail: "level=\(current) previous=\(previous)")
        }
        var r = Chatd_Control_V1_LogLevelResponse()
        r.level = current
        r.previous = previous
        return r
    }
}
