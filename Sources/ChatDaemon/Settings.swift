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
    var push: PushRules
    var notifier: PushNotifier.Settings
    /// The nice value of the notifier's thread (push.nice).
    var pushNice: Int32

    init(_ c: Config) {
        groupCommit = SQLiteStore.GroupCommitSettings(
            maxWrites: Int(c[.storageGroupCommitMaxWrites]),
            maxDelayMicros: Int(c[.storageGroupCommitMaxDelayUs]))
        server = ServerSettings(
            maxFrameLength: Int(c[.serverMaxFrameBytes]),
            maxInflight: Int(c[.serverMaxInflightRequests]),
            idleTimeoutMs: c[.serverIdleTimeoutSeconds] * 1000,
            authTimeoutMs: c[.serverAuthTimeoutSeconds] * 1000,
            maxOutboundBytes: Int(c[.serverMaxOutboundBytes]),
            maxOutboundBytesBeforeLogin: Int(c[.serverMaxOutboundBytesBeforeLogin]),
            slowConsumerGraceMs: c[.serverSlowConsumerGraceSeconds] * 1000,
            maxConnections: Int(c[.serverMaxConnections]),
            maxConnectionsPerAddress: Int(c[.serverMaxConnectionsPerAddress]),
            maxConcurrentPagesPerUser: Int(c[.serverMaxConcurrentPagesPerUser]))
        var d = DomainLimits()
        d.minPasswordBytes = Int(c[.accountsPasswordMinBytes])
        d.maxPasswordBytes = Int(c[.accountsPasswordMaxBytes])
        d.tokenTTLMs = c[.accountsTokenTtlDays] * 24 * 3600 * 1000
        d.registrationOpen = c[.accountsRegistrationOpen]
        d.maxMessageBytes = Int(c[.limitsMaxMessageBytes])
        d.maxHistoryLimit = Int(c[.limitsMaxHistoryLimit])
        d.receiptsMemberListMax = Int(c[.limitsReceiptsMemberListMax])
        d.maxRoomNameBytes = Int(c[.limitsMaxRoomNameBytes])
        d.maxDescriptionBytes = Int(c[.limitsMaxDescriptionBytes])
        d.maxDisplayNameBytes = Int(c[.limitsMaxDisplayNameBytes])
        d.maxStatusTextBytes = Int(c[.limitsMaxStatusTextBytes])
        d.maxAvatarURLBytes = Int(c[.limitsMaxAvatarUrlBytes])
        d.defaultRetentionDays = Int(c[.retentionDefaultDays])
        d.auditRetentionDays = Int(c[.retentionAuditDays])
        d.conversationCreations = Int(c[.limitsConversationsCreatedPerUser])
        d.conversationCreationWindowMs = c[.limitsConversationCreationWindowSeconds] * 1000
        domain = d
        throttle = AccountService.Throttle(
            accountFailures: Int(c[.securityLoginFailuresPerAccount]),
            accountWindowMs: c[.securityLoginFailureWindowSeconds] * 1000,
            addressAttempts: Int(c[.securityLoginsPerAddress]),
            addressWindowMs: c[.securityLoginAddressWindowSeconds] * 1000)
        var f = FileLimits()
        f.maxFileBytes = c[.filesMaxFileBytes]
        // The parser keeps the chunk 4 KiB below the frame limit; this only guards configs built in code.
        f.maxChunkBytes = Int(max(512, min(c[.filesMaxChunkBytes], c[.serverMaxFrameBytes] - 4096)))
        f.userQuotaBytes = c[.filesUserQuotaBytes]
        f.policy = ContentPolicy(allowed: c[.filesAllowedTypes])
        f.uploadTTLMs = c[.filesUploadTtlHours] * 3600 * 1000
        databaseMinFreeBytes = c[.storageMinFreeBytes]
        filesMinFreeBytes = c[.filesMinFreeBytes]
        f.unreferencedGraceMs = c[.filesUnreferencedGraceHours] * 3600 * 1000
        files = f
        var rules = PushRules()
        rules.enabled = c[.pushEnabled]
        rules.gatewayURL = c[.pushGatewayURL]
        rules.includeContent = c[.pushIncludeContent]
        rules.allowHTTP = c[.pushAllowHTTP]
        rules.allowPrivateAddresses = c[.pushAllowPrivateAddresses]
        push = rules
        var n = PushNotifier.Settings()
        n.queueMax = Int(c[.pushQueueMax])
        n.concurrency = Int(c[.pushConcurrency])
        n.attempts = Int(c[.pushAttempts])
        n.timeoutMs = c[.pushTimeoutSeconds] * 1000
        n.minIntervalMs = c[.pushMinIntervalSeconds] * 1000
        pushNice = Int32(c[.pushNice])
        notifier = n
        argon2 = Sodium.Argon2Limits(
            opsLimit: UInt64(c[.securityArgon2OpsLimit]), memLimit: Int(c[.securityArgon2MemKib]) * 1024)
    }
}
