import Foundation

/// Every configuration key, in one table: name, type, bounds, default,
/// whether SIGHUP reload applies, and the comment printed in
/// chatd.conf.example. Parsing and validation (ChatConfig),
/// `--print-default-config`, the example file and the defaults of every
/// settings struct (`DomainLimits`, `FileLimits`, `ServerSettings`...) all
/// come from this table: no default is written twice. Limits the protocol
/// fixes are not here: they are in ChatProtocol's `WireLimits`.
public enum ConfigTable {
    /// The keys in the order of chatd.conf.example. Each is declared once, typed,
    /// as a `Setting` (below): `config[.serverMaxFrameBytes]`.
    public static let keys: [ConfigKey] = [
        // [server]
        Setting<String>.serverListen.key,
        Setting<Int64>.serverMaxFrameBytes.key,
        Setting<Int64>.serverMaxInflightRequests.key,
        Setting<Int64>.serverIdleTimeoutSeconds.key,
        Setting<Int64>.serverAuthTimeoutSeconds.key,
        Setting<Int64>.serverEventLoopThreads.key,
        Setting<Int64>.serverMaxOutboundBytes.key,
        Setting<Int64>.serverMaxOutboundBytesBeforeLogin.key,
        Setting<Int64>.serverSlowConsumerGraceSeconds.key,
        Setting<Int64>.serverMaxConnections.key,
        Setting<Int64>.serverMaxConnectionsPerAddress.key,
        Setting<Int64>.serverMaxConcurrentPagesPerUser.key,
        Setting<Int64>.serverDrainTimeoutSeconds.key,

        // [tls]
        Setting<String>.tlsListen.key,
        Setting<String>.tlsCertificate.key,
        Setting<String>.tlsPrivateKey.key,
        Setting<String>.tlsMinVersion.key,
        Setting<String>.tlsClientCa.key,
        Setting<Int64>.tlsHandshakeTimeoutSeconds.key,
        Setting<Int64>.tlsMaxHandshakesPerSecond.key,

        // [storage]
        Setting<String>.storageDataDir.key,
        Setting<String>.storageSynchronous.key,
        Setting<Int64>.storageMinFreeBytes.key,
        Setting<Int64>.storageReaderCount.key,
        Setting<Int64>.storageGroupCommitMaxWrites.key,
        Setting<Int64>.storageGroupCommitMaxDelayUs.key,
        Setting<String>.storageBackend.key,
        Setting<String>.storagePostgresqlUrl.key,
        Setting<String>.storagePostgresqlPasswordFile.key,
        Setting<Int64>.storagePostgresqlPoolSize.key,
        Setting<Int64>.storagePostgresqlStatementTimeoutMs.key,

        // [control]
        Setting<String>.controlSocket.key,

        // [log]
        Setting<String>.logLevel.key,
        Setting<String>.logFormat.key,

        // [metrics]
        Setting<String>.metricsListen.key,

        // [accounts]
        Setting<Bool>.accountsRegistrationOpen.key,
        Setting<Int64>.accountsPasswordMinBytes.key,
        Setting<Int64>.accountsPasswordMaxBytes.key,
        Setting<Int64>.accountsTokenTtlDays.key,

        // [security]
        Setting<Int64>.securityArgon2OpsLimit.key,
        Setting<Int64>.securityArgon2MemKib.key,
        Setting<Int64>.securityHashThreads.key,
        Setting<Int64>.securityHashQueue.key,
        Setting<Int64>.securityHashNice.key,
        Setting<Int64>.securityLoginFailuresPerAccount.key,
        Setting<Int64>.securityLoginFailureWindowSeconds.key,
        Setting<Int64>.securityLoginsPerAddress.key,
        Setting<Int64>.securityLoginAddressWindowSeconds.key,

        // [rooms]
        Setting<[String]>.roomsDefault.key,

        // [limits]
        Setting<Int64>.limitsMaxMessageBytes.key,
        Setting<Int64>.limitsMaxHistoryLimit.key,
        Setting<Int64>.limitsReceiptsMemberListMax.key,
        Setting<Int64>.limitsConversationsCreatedPerUser.key,
        Setting<Int64>.limitsConversationCreationWindowSeconds.key,
        Setting<Int64>.limitsMaxRoomNameBytes.key,
        Setting<Int64>.limitsMaxDescriptionBytes.key,
        Setting<Int64>.limitsMaxDisplayNameBytes.key,
        Setting<Int64>.limitsMaxStatusTextBytes.key,
        Setting<Int64>.limitsMaxAvatarUrlBytes.key,

        // [files]
        Setting<Int64>.filesMaxFileBytes.key,
        Setting<Int64>.filesMaxChunkBytes.key,
        Setting<Int64>.filesMinFreeBytes.key,
        Setting<Int64>.filesUserQuotaBytes.key,
        Setting<[String]>.filesAllowedTypes.key,
        Setting<Int64>.filesUploadTtlHours.key,
        Setting<Int64>.filesUnreferencedGraceHours.key,
        Setting<Int64>.filesGcIntervalMinutes.key,
        Setting<String>.filesDir.key,

        // [retention]
        Setting<Int64>.retentionDefaultDays.key,
        Setting<Int64>.retentionAuditDays.key,
        Setting<Int64>.retentionPurgeIntervalMinutes.key,

        // [push]
        Setting<Bool>.pushEnabled.key,
        Setting<String>.pushGatewayURL.key,
        Setting<String>.pushVapidSubject.key,
        Setting<Bool>.pushIncludeContent.key,
        Setting<Int64>.pushTimeoutSeconds.key,
        Setting<Int64>.pushConcurrency.key,
        Setting<Int64>.pushQueueMax.key,
        Setting<Int64>.pushAttempts.key,
        Setting<Int64>.pushMinIntervalSeconds.key,
        Setting<Int64>.pushNice.key,
        Setting<Bool>.pushAllowHTTP.key,
        Setting<Bool>.pushAllowPrivateAddresses.key,
    ]

    public static let sections = [
        "server", "tls", "storage", "control", "log", "metrics", "accounts", "security", "rooms", "limits", "files", "retention",
        "push",
    ]

    static let byPath: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })

    public static func key(_ path: String) -> ConfigKey? { byPath[path] }

    /// The text of chatd.conf.example: every key, commented, at its default.
    public static func exampleFile() -> String {
        var out = """
            # chatd configuration (TOML). Every key chatd knows is listed here at its
            # default; uncomment and edit the ones you change. Unknown keys and bad
            # values stop chatd at startup with the key and the reason.
            # Check a file with:  chatd --check-config --config /etc/chatd/chatd.conf
            # Keys marked (reloadable) take effect on SIGHUP (systemctl reload chatd);
            # the others need a restart.

            """
        for section in sections {
            out += "\n[\(section)]\n"
            for key in keys where key.section == section {
                for line in key.help.split(separator: "\n", omittingEmptySubsequences: false) {
                    out += "# \(line)\n"
                }
                var bounds = ""
                switch key.type {
                case .int(let min, let max): bounds = " Range \(min)..\(max)."
                case .choice(let options): bounds = " One of: \(options.joined(separator: ", "))."
                default: break
                }
                if key.reloadable { bounds += " (reloadable)" }
                if key.secret { bounds += " (secret: chatctl config show redacts it)" }
                if !bounds.isEmpty { out += "#\(bounds)\n" }
                out += "#\(key.name) = \(key.defaultValue.tomlLiteral)\n\n"
            }
        }
        return out
    }
}

public struct ConfigKey: Sendable {
    public enum ValueType: Sendable, Equatable {
        case string
        case path
        /// host:port, or "" for none
        case address
        case int(min: Int64, max: Int64)
        case bool
        case choice([String])
        /// An array of strings.
        case stringList
    }

    public let section: String
    public let name: String
    public let type: ValueType
    public let defaultValue: ConfigValue
    public let help: String
    public let reloadable: Bool
    /// Shown redacted by `chatctl config show` (passwords, keys, tokens).
    public let secret: Bool

    public init(
        _ section: String, _ name: String, _ type: ValueType, _ defaultValue: ConfigValue, _ help: String,
        reloadable: Bool = false, secret: Bool = false
    ) {
        self.secret = secret
        self.section = section
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.help = help
        self.reloadable = reloadable
    }

    /// "section.name"
    public var path: String { "\(section).\(name)" }
}

public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case strings([String])

    public var description: String {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        case .bool(let b): String(b)
        case .strings(let list): list.joined(separator: ", ")
        }
    }

    public var tomlLiteral: String {
        switch self {
        case .string(let s): Self.quoted(s)
        case .int(let i): String(i)
        case .bool(let b): String(b)
        case .strings(let list): "[" + list.map(Self.quoted).joined(separator: ", ") + "]"
        }
    }

    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

extension Setting where Value == Int64 {
    // [server]
    public static let serverMaxFrameBytes = Setting(
        "server", "max_frame_bytes", .int(min: 1024, max: 16_777_216), .int(1_048_576),
        "Largest accepted frame (value of the length field). Larger frames are refused with too_large\nand skipped without being buffered.")
    public static let serverMaxInflightRequests = Setting(
        "server", "max_inflight_requests", .int(min: 1, max: 4096), .int(64),
        "Requests a connection may have in flight; reading from it pauses past this.")
    public static let serverIdleTimeoutSeconds = Setting(
        "server", "idle_timeout_seconds", .int(min: 5, max: 86_400), .int(90),
        "A connection that sends nothing for this long is closed. Clients are told to ping at a third of it.",
        reloadable: true)
    public static let serverAuthTimeoutSeconds = Setting(
        "server", "auth_timeout_seconds", .int(min: 1, max: 3600), .int(20),
        "A connection must authenticate (Register/Login/Resume) within this long after connecting.",
        reloadable: true)
    public static let serverEventLoopThreads = Setting(
        "server", "event_loop_threads", .int(min: 0, max: 256), .int(0),
        "NIO event loop threads; 0 means one per CPU core.")
    public static let serverMaxOutboundBytes = Setting(
        "server", "max_outbound_bytes", .int(min: 65_536, max: 1_073_741_824), .int(4_194_304),
        "Outbound budget of one authenticated connection: bytes of answers and pushes that may wait to be\nsent, plus those reserved for answers being made (a page reserves max_frame_bytes). Past it,\nreading from the connection pauses and new requests wait. A client that stays over it for\nslow_consumer_grace_seconds, or lets unsent pushes reach twice it, is a slow consumer: it gets\nGoodbye SLOW_CONSUMER and is closed (it catches up with Sync and History). Worst case, clients that\nnever read hold connections x (this + max_frame_bytes) of memory (measured: 4.9 MB each with the\ndefaults, BENCHMARKS.md, never-reading peers): size it for that.",
        reloadable: true)
    public static let serverMaxOutboundBytesBeforeLogin = Setting(
        "server", "max_outbound_bytes_before_login", .int(min: 4096, max: 16_777_216), .int(65_536),
        "The same budget for a connection that has not authenticated yet.",
        reloadable: true)
    public static let serverSlowConsumerGraceSeconds = Setting(
        "server", "slow_consumer_grace_seconds", .int(min: 1, max: 600), .int(10),
        "How long a connection may stay over its outbound budget before it is closed as a slow consumer.",
        reloadable: true)
    public static let serverMaxConnections = Setting(
        "server", "max_connections", .int(min: 1, max: 10_000_000), .int(100_000),
        "Client connections open at once; more are closed as soon as they are accepted. Keep it below\nthe open-file limit (LimitNOFILE): when accept fails for lack of descriptors, it pauses for a second.",
        reloadable: true)
    public static let serverMaxConnectionsPerAddress = Setting(
        "server", "max_connections_per_address", .int(min: 1, max: 10_000_000), .int(1000),
        "Client connections open at once from one peer address; more are closed as soon as they are accepted.",
        reloadable: true)
    public static let serverMaxConcurrentPagesPerUser = Setting(
        "server", "max_concurrent_pages_per_user", .int(min: 1, max: 64), .int(1),
        "Requests answered with a page (History, Sync, searches, lists, Download) one user may have running\nat once, across all their connections; more wait their turn. Keeps one user from holding every\ndatabase reader and core: on 2 cores, one user flooding expensive pages moved another user's\nHistory p99 by 5.5 ms at 1 and by 9.4 ms at 2 (BENCHMARKS.md, fairness). Raise it on many cores.")
    public static let serverDrainTimeoutSeconds = Setting(
        "server", "drain_timeout_seconds", .int(min: 0, max: 600), .int(10),
        "On SIGTERM/SIGINT, how long in-flight requests may take before chatd exits anyway.")

    // [tls]
    public static let tlsHandshakeTimeoutSeconds = Setting(
        "tls", "handshake_timeout_seconds", .int(min: 1, max: 300), .int(10),
        "A TLS connection whose handshake has not finished this long after it was accepted is closed.",
        reloadable: true)
    public static let tlsMaxHandshakesPerSecond = Setting(
        "tls", "max_handshakes_per_second", .int(min: 0, max: 1_000_000), .int(0),
        "New TLS connections accepted per second (a second's worth may come at once). Each costs a\nhandshake (a signature and a key exchange on the event loops chat traffic uses, about 0.4 ms of\nCPU); past this rate the listener stops accepting until the budget refills and new connections\nwait in the kernel's backlog, so a flood of handshakes cannot take the CPU from chat traffic.\n0: 200 per event-loop thread (about a fifth of the CPU). Raise it for fast reconnects of many\nclients after a restart (100,000 clients at 400/s take about 4 minutes).",
        reloadable: true)

    // [storage]
    public static let storageMinFreeBytes = Setting(
        "storage", "min_free_bytes", .int(min: 0, max: 1 << 50), .int(104_857_600),
        "Free space the database's filesystem must keep. Below it (checked every 5 s and after a failed\nwrite), writes are refused with unavailable (retryable) while reads, Sync and Resume go on;\nretention purges and file collection still run. 0 turns the check off (a full disk still answers\nunavailable).",
        reloadable: true)
    public static let storageReaderCount = Setting(
        "storage", "reader_count", .int(min: 1, max: 64), .int(4),
        "Concurrent SQLite readers.")
    public static let storageGroupCommitMaxWrites = Setting(
        "storage", "group_commit_max_writes", .int(min: 1, max: 10_000), .int(256),
        "Group commit: most writes (sends, joins...) committed together in one transaction and one fsync.\nOn PostgreSQL a batch holds at most 256 (when a write fails after writing, the batch rolls back\nand its other writes run again in the next one).",
        reloadable: true)
    public static let storageGroupCommitMaxDelayUs = Setting(
        "storage", "group_commit_max_delay_us", .int(min: 0, max: 100_000), .int(0),
        "Group commit: how long (microseconds) an incomplete batch waits for more writes. 0: batches form by\nthemselves from writes that arrive while the previous commit is in progress.",
        reloadable: true)
    public static let storagePostgresqlPoolSize = Setting(
        "storage", "postgresql_pool_size", .int(min: 1, max: 256), .int(8),
        "Connections this node keeps open to PostgreSQL. Half of them, at most 4 and at most one per core,\ncommit write batches in parallel lanes (group commit; each conversation's writes in one lane), the\nothers serve reads.")
    public static let storagePostgresqlStatementTimeoutMs = Setting(
        "storage", "postgresql_statement_timeout_ms", .int(min: 0, max: 3_600_000), .int(30_000),
        "PostgreSQL statement_timeout of chatd's connections, in milliseconds: a statement running longer\nis cancelled and its request fails. 0: no limit.")

    // [accounts]
    public static let accountsPasswordMinBytes = Setting(
        "accounts", "password_min_bytes", .int(min: 1, max: 1024), .int(8),
        "Shortest accepted password, in UTF-8 bytes.", reloadable: true)
    public static let accountsPasswordMaxBytes = Setting(
        "accounts", "password_max_bytes", .int(min: 8, max: 4096), .int(1024),
        "Longest accepted password, in UTF-8 bytes.", reloadable: true)
    public static let accountsTokenTtlDays = Setting(
        "accounts", "token_ttl_days", .int(min: 1, max: 3650), .int(30),
        "Lifetime of a login token; RefreshToken issues a new one with a new lifetime.", reloadable: true)

    // [security]
    public static let securityArgon2OpsLimit = Setting(
        "security", "argon2_ops_limit", .int(min: 1, max: 20), .int(2),
        "Argon2id passes (libsodium opslimit; 2 = interactive). Hashes made with other limits are redone\nat the next login.")
    public static let securityArgon2MemKib = Setting(
        "security", "argon2_mem_kib", .int(min: 8, max: 4_194_304), .int(65_536),
        "Argon2id memory in KiB (65536 = 64 MiB = interactive).")
    public static let securityHashThreads = Setting(
        "security", "hash_threads", .int(min: 1, max: 64), .int(1),
        "Threads hashing passwords, off the event loops.")
    public static let securityHashQueue = Setting(
        "security", "hash_queue", .int(min: 0, max: 100_000), .int(32),
        "Password hashes that may wait for a thread; past it, logins get rate_limited with a retry-after.")
    public static let securityHashNice = Setting(
        "security", "hash_nice", .int(min: 0, max: 19), .int(19),
        "CPU priority (nice value) of the threads hashing passwords. At 19, the lowest, a login storm on\n2 cores moved chat p99 by 40% less than at 10 (BENCHMARKS.md), with the same logins/s while\nsome CPU is free; when chat traffic keeps every core busy, logins wait much longer for their hash\n(rate_limited with a retry-after past hash_queue) instead of delaying messages. Lower it when\nlogins must go on at full speed on a saturated machine. 0: the same priority as chat traffic.")
    public static let securityLoginFailuresPerAccount = Setting(
        "security", "login_failures_per_account", .int(min: 1, max: 100_000), .int(5),
        "Failed logins allowed per account per window before rate_limited.", reloadable: true)
    public static let securityLoginFailureWindowSeconds = Setting(
        "security", "login_failure_window_seconds", .int(min: 1, max: 86_400), .int(300),
        "Window over which failed logins per account are counted (tokens return evenly).", reloadable: true)
    public static let securityLoginsPerAddress = Setting(
        "security", "logins_per_address", .int(min: 1, max: 1_000_000), .int(30),
        "Login and register attempts allowed per source address (an IPv6 address by its /64) per window.", reloadable: true)
    public static let securityLoginAddressWindowSeconds = Setting(
        "security", "login_address_window_seconds", .int(min: 1, max: 86_400), .int(60),
        "Window for logins_per_address.", reloadable: true)

    // [limits]
    public static let limitsMaxMessageBytes = Setting(
        "limits", "max_message_bytes", .int(min: 1, max: 262_144), .int(8192),
        "Longest message text, in UTF-8 bytes.", reloadable: true)
    public static let limitsMaxHistoryLimit = Setting(
        "limits", "max_history_limit", .int(min: 1, max: 1000), .int(200),
        "Most events one History request returns.", reloadable: true)
    public static let limitsReceiptsMemberListMax = Setting(
        "limits", "receipts_member_list_max", .int(min: 0, max: 256), .int(32),
        "Conversations with at most this many members carry every member's delivered and read positions\nin Sync and ListConversations (receipts); larger ones carry counts instead (up to 1024 members).",
        reloadable: true)
    public static let limitsConversationsCreatedPerUser = Setting(
        "limits", "conversations_created_per_user", .int(min: 1, max: 1_000_000), .int(30),
        "Rooms and groups one user may create per conversation_creation_window_seconds (a token bucket:\nthey come back evenly); more are refused with rate_limited. Operators (chatctl) are not limited.",
        reloadable: true)
    public static let limitsConversationCreationWindowSeconds = Setting(
        "limits", "conversation_creation_window_seconds", .int(min: 1, max: 604_800), .int(3600),
        "The window of limits.conversations_created_per_user.", reloadable: true)
    public static let limitsMaxRoomNameBytes = Setting(
        "limits", "max_room_name_bytes", .int(min: 1, max: 256), .int(64),
        "Longest room name, in UTF-8 bytes.", reloadable: true)
    public static let limitsMaxDescriptionBytes = Setting(
        "limits", "max_description_bytes", .int(min: 0, max: 65_536), .int(1024),
        "Longest room description, in UTF-8 bytes.", reloadable: true)
    public static let limitsMaxDisplayNameBytes = Setting(
        "limits", "max_display_name_bytes", .int(min: 1, max: 256), .int(64),
        "Longest display name, in UTF-8 bytes.", reloadable: true)
    public static let limitsMaxStatusTextBytes = Setting(
        "limits", "max_status_text_bytes", .int(min: 0, max: 4096), .int(256),
        "Longest status text, in UTF-8 bytes.", reloadable: true)
    public static let limitsMaxAvatarUrlBytes = Setting(
        "limits", "max_avatar_url_bytes", .int(min: 0, max: 4096), .int(512),
        "Longest avatar URL, in UTF-8 bytes.", reloadable: true)

    // [files]
    public static let filesMaxFileBytes = Setting(
        "files", "max_file_bytes", .int(min: 1, max: 1 << 40), .int(104_857_600),
        "Largest file that may be uploaded, in bytes.", reloadable: true)
    public static let filesMaxChunkBytes = Setting(
        "files", "max_chunk_bytes", .int(min: 4096, max: 8_388_608), .int(262_144),
        "Largest upload chunk and download piece, in bytes; at least 4096 below server.max_frame_bytes.",
        reloadable: true)
    public static let filesMinFreeBytes = Setting(
        "files", "min_free_bytes", .int(min: 0, max: 1 << 50), .int(104_857_600),
        "Free space the file store's filesystem (files.dir) must keep; below it uploads are refused with\nunavailable at UploadBegin and UploadChunk.",
        reloadable: true)
    public static let filesUserQuotaBytes = Setting(
        "files", "user_quota_bytes", .int(min: 0, max: 1 << 50), .int(1_073_741_824),
        "Bytes of files (and unfinished uploads) each user may have. Deduplicated content still counts\nfor each uploader.",
        reloadable: true)
    public static let filesUploadTtlHours = Setting(
        "files", "upload_ttl_hours", .int(min: 1, max: 8760), .int(24),
        "Unfinished uploads are removed this long after they began.", reloadable: true)
    public static let filesUnreferencedGraceHours = Setting(
        "files", "unreferenced_grace_hours", .int(min: 0, max: 87_600), .int(24),
        "A file no message refers to (never sent, or its messages deleted) is removed after this long.",
        reloadable: true)
    public static let filesGcIntervalMinutes = Setting(
        "files", "gc_interval_minutes", .int(min: 1, max: 10_080), .int(60),
        "How often expired uploads and unreferenced files are collected (chatctl file gc runs it now).")

    // [retention]
    public static let retentionDefaultDays = Setting(
        "retention", "default_days", .int(min: 0, max: 36_500), .int(0),
        "Messages and other conversation events older than this many days are removed, with their search\nentries and file references. 0 keeps everything. chatctl retention set gives a conversation its own.",
        reloadable: true)
    public static let retentionAuditDays = Setting(
        "retention", "audit_days", .int(min: 0, max: 36_500), .int(365),
        "Audit rows (logins, device and admin actions) older than this many days are removed by the purge.\n0 keeps them all.",
        reloadable: true)
    public static let retentionPurgeIntervalMinutes = Setting(
        "retention", "purge_interval_minutes", .int(min: 1, max: 10_080), .int(60),
        "How often expired events are removed (chatctl retention purge runs it now).")

    // [push]
    public static let pushTimeoutSeconds = Setting(
        "push", "timeout_seconds", .int(min: 1, max: 120), .int(10),
        "How long one notification request may take (connecting included) before it counts as failed and\nis retried.")
    public static let pushConcurrency = Setting(
        "push", "concurrency", .int(min: 1, max: 1024), .int(16),
        "Notification requests under way at once (each user has at most one).")
    public static let pushQueueMax = Setting(
        "push", "queue_max", .int(min: 1, max: 10_000_000), .int(10_000),
        "Notifications waiting to be sent (one per user and conversation; a newer message replaces the\nolder one). When full, new ones are dropped and counted in chatd_push_notifications_total{result=\"dropped\"}.")
    public static let pushAttempts = Setting(
        "push", "attempts", .int(min: 1, max: 20), .int(6),
        "Tries of one notification to a device answering 5xx, 408, 429 or not at all, 1 s, 2 s, 4 s ...\n(at most 5 minutes) apart; then it is given up.")
    public static let pushMinIntervalSeconds = Setting(
        "push", "min_interval_seconds", .int(min: 0, max: 3600), .int(5),
        "The least time between two notifications to one user. The first message after a quiet spell is\nsent at once; what arrives within the interval is sent when it ends, with the latest counts (other\nconversations' notes follow, one per interval). 0: no wait (a busy room then costs a request per\nmessage and offline member).")
    public static let pushNice = Setting(
        "push", "nice", .int(min: 0, max: 19), .int(10),
        "CPU priority (nice value) of the one thread that prepares and sends notifications (its HTTP\nconnections, TLS, bodies). Higher yields more to chat traffic when the cores are busy: at 10 the\nthread gets about a tenth of a busy core's time, and notifications wait in the queue instead of\ndelaying messages. 0: the same priority as chat traffic.")
}

extension Setting where Value == String {
    // [push]
    public static let pushGatewayURL = Setting(
        "push", "gateway_url", .string, .string(""),
        "The push gateway's notify URL (Matrix push gateway API, e.g. Sygnal's\nhttps://push.example.org/_matrix/push/v1/notify) for devices registered with PUSH_GATEWAY (APNs,\nFCM). \"\": gateway targets are refused.", reloadable: true)

    public static let pushVapidSubject = Setting(
        "push", "vapid_subject", .string, .string(""),
        "A contact for the operators of push services, sent in every UnifiedPush request's VAPID token\n(RFC 8292 \"sub\"): \"mailto:admin@example.org\" or an https URL. Some push services refuse requests\nwithout one. \"\": none. The VAPID key itself is derived from token.key (HelloResponse announces it).")

    // [server]
    public static let serverListen = Setting(
        "server", "listen", .address, .string("127.0.0.1:7600"),
        "Address and port for plain (unencrypted) client connections (host:port; [v6]:port). Loopback by\ndefault. \"\" for none: then tls.listen must be set (TLS only).")

    // [tls]
    public static let tlsListen = Setting(
        "tls", "listen", .address, .string(""),
        "Address and port of the TLS listener for clients (host:port). \"\" for none. Runs beside\nserver.listen (e.g. plain on loopback, TLS on a public address) or alone. Needs certificate and\nprivate_key. Clients should offer ALPN \"chatd/1\".")
    public static let tlsCertificate = Setting(
        "tls", "certificate", .path, .string(""),
        "PEM file: the server certificate, then its intermediates (certbot's fullchain.pem). Read again\non reload: new connections get a renewed certificate, open ones keep theirs; a reload with a\nbroken file keeps the old one and says why. Expired or not yet valid: refused.",
        reloadable: true)
    public static let tlsPrivateKey = Setting(
        "tls", "private_key", .path, .string(""),
        "PEM file: the certificate's private key, unencrypted (certbot's privkey.pem). Refused when\nreadable by every user; a warning when group-readable. Read again on reload.",
        reloadable: true)
    public static let tlsMinVersion = Setting(
        "tls", "min_version", .choice(["1.2", "1.3"]), .string("1.2"),
        "Oldest TLS version accepted.",
        reloadable: true)
    public static let tlsClientCa = Setting(
        "tls", "client_ca", .path, .string(""),
        "PEM file of CA certificates for mutual TLS: when set, a client must present a certificate one of\nthem signed or its handshake fails. \"\": no client certificate is asked for. Read again on reload.",
        reloadable: true)

    // [storage]
    public static let storageDataDir = Setting(
        "storage", "data_dir", .path, .string("./chatd-data"),
        "Directory for the database, the token key, the lock file chatd.lock and (by default) the control\nsocket. Created mode 0700. One chatd per directory: a second one exits with status 73.")
    public static let storageSynchronous = Setting(
        "storage", "synchronous", .choice(["off", "normal", "full", "extra"]), .string("full"),
        "SQLite synchronous mode. full: an acknowledged message survives power loss.")
    public static let storageBackend = Setting(
        "storage", "backend", .choice(["sqlite", "postgresql"]), .string("sqlite"),
        "Where chatd keeps its data. sqlite: one database file in data_dir (one node). postgresql: a\nPostgreSQL 13 or newer database (postgresql_url), which several chatd nodes may share.")
    public static let storagePostgresqlUrl = Setting(
        "storage", "postgresql_url", .string, .string(""),
        "With backend = \"postgresql\": \"postgresql://USER@HOST:PORT/DATABASE\" (PORT defaults to 5432).\nNever a password here (a URL with one is refused): put it in postgresql_password_file.")
    public static let storagePostgresqlPasswordFile = Setting(
        "storage", "postgresql_password_file", .path, .string(""),
        "File holding the PostgreSQL password (one line, at most 1024 bytes; refused when readable by every\nuser). Empty: no password (trust or peer authentication).")

    // [control]
    public static let controlSocket = Setting(
        "control", "socket", .path, .string(""),
        "Path of chatctl's Unix control socket (mode 0600). Empty: <data_dir>/chatd.sock. A socket file\nleft by a crash is replaced; one that a process listens on makes chatd exit with status 73.")

    // [log]
    public static let logLevel = Setting(
        "log", "level", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
        .string("info"), "Log level (logs go to stderr). chatctl log-level changes it until the next reload or restart.",
        reloadable: true)
    public static let logFormat = Setting(
        "log", "format", .choice(["text", "json"]), .string("text"),
        "Log lines on stderr: text (time, level, label, message, key=value fields) or json (one object\nper line: time, level, label, message and the fields). Under systemd (stderr is the journal)\nthe time is left to the journal and each line starts with its syslog priority (<4> warning,\n...), so journalctl -p filters by level.")

    // [metrics]
    public static let metricsListen = Setting(
        "metrics", "listen", .string, .string(""),
        "Prometheus endpoint (HTTP: GET /metrics, GET /health) on this loopback host:port, e.g. \"127.0.0.1:9464\".\nEmpty: off. Only loopback addresses are accepted: expose it further through a proxy.")

    // [files]
    public static let filesDir = Setting(
        "files", "dir", .path, .string(""),
        "Where file contents and partial uploads are stored. Empty: <data_dir>/files.")
}

extension Setting where Value == Bool {
    // [accounts]
    public static let accountsRegistrationOpen = Setting(
        "accounts", "registration_open", .bool, .bool(true),
        "Whether clients may register accounts. false: only chatctl user add creates them.", reloadable: true)

    // [push]
    public static let pushEnabled = Setting(
        "push", "enabled", .bool, .bool(true),
        "Whether devices may register push targets (SetPushTarget) and offline members are notified of new\nmessages. false: SetPushTarget is refused and nothing is sent; stored targets stay.", reloadable: true)
    public static let pushIncludeContent = Setting(
        "push", "include_content", .bool, .bool(false),
        "Whether notifications carry the sender's username and the message text (cut to 1024 bytes).\nfalse: only the conversation, the seq and the unread and mention counts. With true the text\ncrosses the gateway's operator in clear, and a distributor's when the device gave no Web Push keys.", reloadable: true)
    public static let pushAllowHTTP = Setting(
        "push", "allow_http", .bool, .bool(false),
        "Whether UnifiedPush endpoints may be plain http:// URLs (tests, a distributor on the same network).",
        reloadable: true)
    public static let pushAllowPrivateAddresses = Setting(
        "push", "allow_private_addresses", .bool, .bool(false),
        "Whether UnifiedPush endpoints may name localhost or a loopback, private or link-local address,\nor a name that resolves to one (looked up before each request). A name whose answers change\nbetween that lookup and the connection can slip through: put chatd behind an egress filter to be sure.",
        reloadable: true)
}

extension Setting where Value == [String] {
    // [rooms]
    public static let roomsDefault = Setting(
        "rooms", "default", .stringList, .strings([]),
        "Public rooms created at startup if missing; every new account joins them. Example: [\"general\", \"random\"]",
        reloadable: true)

    // [files]
    public static let filesAllowedTypes = Setting(
        "files", "allowed_types", .stringList, .strings(ContentPolicy.defaultAllowed),
        "MIME types that may be uploaded. The content's leading bytes must match the declared type\n(application/octet-stream accepts any content whose detected type is itself allowed, or undetected).",
        reloadable: true)
}

/// A key of `ConfigTable` with the Swift type of its value. Read one with
/// `config[.serverMaxFrameBytes]`: a misspelt key does not compile, and a
/// value of the wrong type cannot be asked for.
public struct Setting<Value>: Sendable {
    public let key: ConfigKey

    init(
        _ section: String, _ name: String, _ type: ConfigKey.ValueType, _ defaultValue: ConfigValue, _ help: String,
        reloadable: Bool = false, secret: Bool = false
    ) {
        key = ConfigKey(section, name, type, defaultValue, help, reloadable: reloadable, secret: secret)
    }

    public var path: String { key.path }
}

extension Setting where Value == Int64 {
    /// The table's default.
    public var defaultValue: Int64 {
        if case .int(let i) = key.defaultValue { return i }
        return 0
    }
}

extension Setting where Value == String {
    public var defaultValue: String {
        if case .string(let s) = key.defaultValue { return s }
        return ""
    }
}

extension Setting where Value == Bool {
    public var defaultValue: Bool {
        if case .bool(let b) = key.defaultValue { return b }
        return false
    }
}

extension Setting where Value == [String] {
    public var defaultValue: [String] {
        if case .strings(let list) = key.defaultValue { return list }
        return []
    }
}
