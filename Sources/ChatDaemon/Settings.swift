import ChatConfig
import ChatCore
import ChatCrypto
import ChatServer
import ChatStore

/// Typed settings derived from the config table.
struct Settings {
    var server: ServerSettings
    var domain: DomainLimits
    var throttle: AccountService.Throttle
    var argon2: Sodium.Argon2Limits
    var groupCommit: SQLiteStore.GroupCommitSettings
    var files: FileLimits
    var databaseMinFreeBytes: Int64
    var filesMinFreeBytes: Int64

    init(_ c: Config) {
        groupCommit = SQLiteStore.GroupCommitSettings(
            maxWrites: Int(c.int("storage.group_commit_max_writes")),
            maxDelayMicros: Int(c.int("storage.group_commit_max_delay_us")))
        server = ServerSettings(
            maxFrameLength: Int(c.int("server.max_frame_bytes")),
            maxInflight: Int(c.int("server.max_inflight_requests")),
            idleTimeoutMs: c.int("server.idle_timeout_seconds") * 1000,
            authTimeoutMs: c.int("server.auth_timeout_seconds") * 1000,
            maxOutboundBytes: Int(c.int("server.max_outbound_bytes")),
            maxOutboundBytesBeforeLogin: Int(c.int("server.max_outbound_bytes_before_login")),
            slowConsumerGraceMs: c.int("server.slow_consumer_grace_seconds") * 1000,
            maxConnections: Int(c.int("server.max_connections")),
            maxConnectionsPerAddress: Int(c.int("server.max_connections_per_address")),
            maxConcurrentPagesPerUser: Int(c.int("server.max_concurrent_pages_per_user")))
        var d = DomainLimits()
        d.minPasswordBytes = Int(c.int("accounts.password_min_bytes"))
        d.maxPasswordBytes = Int(c.int("accounts.password_max_bytes"))
        d.tokenTTLMs = c.int("accounts.token_ttl_days") * 24 * 3600 * 1000
        d.registrationOpen = c.bool("accounts.registration_open")
        d.maxMessageBytes = Int(c.int("limits.max_message_bytes"))
        d.maxHistoryLimit = Int(c.int("limits.max_history_limit"))
        d.maxRoomNameBytes = Int(c.int("limits.max_room_name_bytes"))
        d.maxDescriptionBytes = Int(c.int("limits.max_description_bytes"))
        d.maxDisplayNameBytes = Int(c.int("limits.max_display_name_bytes"))
        d.maxStatusTextBytes = Int(c.int("limits.max_status_text_bytes"))
        d.maxAvatarURLBytes = Int(c.int("limits.max_avatar_url_bytes"))
        d.defaultRetentionDays = Int(c.int("retention.default_days"))
        d.auditRetentionDays = Int(c.int("retention.audit_days"))
        d.conversationCreations = Int(c.int("limits.conversations_created_per_user"))
        d.conversationCreationWindowMs = c.int("limits.conversation_creation_window_seconds") * 1000
        domain = d
        throttle = AccountService.Throttle(
            accountFailures: Int(c.int("security.login_failures_per_account")),
            accountWindowMs: c.int("security.login_failure_window_seconds") * 1000,
            addressAttempts: Int(c.int("security.logins_per_address")),
            addressWindowMs: c.int("security.login_address_window_seconds") * 1000)
        var f = FileLimits()
        f.maxFileBytes = c.int("files.max_file_bytes")
        // The parser keeps the chunk 4 KiB below the frame limit; this only guards configs built in code.
        f.maxChunkBytes = Int(max(512, min(c.int("files.max_chunk_bytes"), c.int("server.max_frame_bytes") - 4096)))
        f.userQuotaBytes = c.int("files.user_quota_bytes")
        f.policy = ContentPolicy(allowed: c.strings("files.allowed_types"))
        f.uploadTTLMs = c.int("files.upload_ttl_hours") * 3600 * 1000
        databaseMinFreeBytes = c.int("storage.min_free_bytes")
        filesMinFreeBytes = c.int("files.min_free_bytes")
        f.unreferencedGraceMs = c.int("files.unreferenced_grace_hours") * 3600 * 1000
        files = f
        argon2 = Sodium.Argon2Limits(
            opsLimit: UInt64(c.int("security.argon2_ops_limit")), memLimit: Int(c.int("security.argon2_mem_kib")) * 1024)
    }
}
