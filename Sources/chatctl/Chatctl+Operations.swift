import ArgumentParser
import ChatProtocol
import ChatStore
import Foundation

struct Broadcast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a system message to one room or group, or a system notice to everyone.",
        discussion: """
            --room: a SYSTEM message from the server in that room's history (every member sees it).
            --everyone: a SYSTEM_NOTICE account event to every account that is not disabled: pushed to
            those online, delivered by Sync to the others. Room histories are not touched.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "A room or group (id or room name).") var room: String?
    @Flag(help: "Every account that is not disabled.") var everyone = false
    @Option(help: "Idempotency key for --room: a retry with the same id is not sent twice.") var id: String?
    @Argument(help: "The text (as a message's text).") var text: String

    func validate() throws {
        guard (room != nil) != everyone else { throw ValidationError("give --room ROOM or --everyone") }
        if id != nil && everyone { throw ValidationError("--id applies to --room only") }
    }

    func run() async throws {
        var q = Chatd_Control_V1_BroadcastRequest()
        if let room { q.room = roomRef(room) }
        q.everyone = everyone
        q.text = text
        q.clientMsgID = id ?? ""
        let r = try await global.call(.broadcast, q, as: Chatd_Control_V1_BroadcastResponse.self)
        global.output(r) {
            everyone
                ? "notice given to \(r.usersNotified) users (\(r.onlineUsers) online)\n"
                : "\(r.duplicate ? "already sent" : "sent") to \(room ?? "") as seq \(r.event.seq)\n"
        }
    }
}

/// A point in time: an ISO 8601 date-time ("2026-11-22T10:00:00Z"), a date
/// ("2026-11-22", midnight UTC), or a span ago ("90s", "30m", "12h", "7d").
func parseTime(_ text: String, nowMs: Int64) -> Int64? {
    if let unit = text.last, let n = Int64(text.dropLast()), n >= 0 {
        let seconds: Int64? = ["s": 1, "m": 60, "h": 3600, "d": 86_400][String(unit)]
        if let seconds {
            // A span too long to be a time is not one (no overflow trap).
            let (ms, overflow) = n.multipliedReportingOverflow(by: seconds * 1000)
            return overflow ? nil : nowMs - ms
        }
    }
    let full = ISO8601DateFormatter()
    if let date = full.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    let day = ISO8601DateFormatter()
    day.formatOptions = [.withFullDate]
    if let date = day.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    return nil
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query the audit log (logins, device changes, admin actions), newest first.",
        discussion: "TIME: 2026-11-22T10:00:00Z, 2026-11-22 (UTC midnight), or a span ago: 90s, 30m, 12h, 7d.")
    @OptionGroup var global: GlobalOptions
    @Option(help: "Rows about this user.") var user: String?
    @Option(help: "Only this action (e.g. login_failed, admin_user_add).") var action: String = ""
    @Option(help: "From this TIME on.") var since: String?
    @Option(help: "Before this TIME.") var until: String?
    @Option(help: "Rows older than this id (the next page).") var before: UInt64 = 0
    @Option(help: "At most this many (max 1000).") var limit: UInt32 = 100

    func validate() throws {
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, parseTime(value, nowMs: Int64(Date().timeIntervalSince1970 * 1000)) == nil { throw ValidationError("\(name): cannot read \"\(value)\" as a TIME") }
        }
    }

    func run() async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var q = Chatd_Control_V1_AuditQueryRequest()
        if let user { q.user = userRef(user) }
        q.action = action
        q.sinceMs = since.flatMap { parseTime($0, nowMs: now) } ?? 0
        q.untilMs = until.flatMap { parseTime($0, nowMs: now) } ?? 0
        q.beforeID = before
        q.limit = limit
        let r = try await global.call(.auditQuery, q, as: Chatd_Control_V1_AuditQueryResponse.self)
        global.output(r) {
            table(
                ["ID", "TIME", "ACTION", "ACTOR", "USER", "ADDRESS", "DETAIL"],
                r.entries.map {
                    [
                        String($0.id), time($0.atMs), $0.action, $0.actor,
                        $0.userID == 0 ? "-" : $0.username.isEmpty ? "id:\($0.userID)" : $0.username,
                        $0.address.isEmpty ? "-" : $0.address, $0.detail,
                    ]
                }) + (r.hasMore_p ? "(more: --before \(r.entries.last?.id ?? 0))\n" : "")
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the database, token key and file store while chatd runs; or check a backup (--verify).",
        discussion: """
            chatd itself writes PATH (so PATH is on chatd's machine and must be writable by chatd's user):
            a new directory, or an empty one, holding chatd.sqlite3 (one consistent snapshot), token.key,
            files/ and backup.json (the manifest: when, from where, and what the backup holds). It is written
            into .NAME.partial-XXXXXXXX beside PATH, marked BACKUP-INCOMPLETE until the end, then renamed to
            PATH, so PATH ends up holding a complete backup or stays as it was. A backup interrupted by a
            crash leaves that directory behind; remove it (chatd refuses to start on it). To restore, stop
            chatd and use PATH as its data_dir (or copy its contents there).

            --verify PATH checks a backup here, without chatd (on any machine): backup.json present and
            readable, no BACKUP-INCOMPLETE, token.key present with mode 0600, the database passes
            integrity_check, and its counts and the file store's match the manifest. Exit 0 when the backup
            is complete and sound, 1 when not (with what is wrong).
            """)
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Check the backup at PATH instead of writing one (locally; chatd need not run).") var verify = false
    @Argument(help: "The backup directory (relative paths are taken from chatctl's working directory).") var path: String

    func run() async throws {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        if verify { verifyBackup((absolute as NSString).standardizingPath) }
        var q = Chatd_Control_V1_BackupRequest()
        q.path = absolute
        let r = try await global.call(.backup, q, as: Chatd_Control_V1_BackupResponse.self)
        global.output(r) {
            "backed up to \(r.path): database \(bytes(r.databaseBytes)) (\(r.users) users, \(r.conversations) conversations, "
                + "\(r.messages) messages), \(r.files) files (\(bytes(r.fileBytes))) in \(r.tookMs) ms\n"
        }
    }

    /// Prints what the backup holds and what is wrong with it; exits 0 or 1.
    func verifyBackup(_ path: String) -> Never {
        let v = BackupVerification.run(path: path)
        if global.json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? encoder.encode(v)) ?? Data("{}".utf8), as: UTF8.self))
        } else {
            print(Self.describe(v), terminator: "")
        }
        if !v.ok { fail("chatctl: \(path) is not a complete backup (\(v.problems.count) problems)", code: Exit.requestFailed) }
        Foundation.exit(0)
    }

    static func describe(_ v: BackupVerification) -> String {
        var out = "backup:     \(v.path)\n"
        out += "status:     \(v.ok ? "complete, verified" : "NOT a complete backup")\n"
        if let m = v.manifest {
            out += "created:    \(time(m.createdAtMs)) by chatd \(m.chatdVersion) from \(m.sourceDataDir)\n"
        }
        if let size = v.found.databaseBytes {
            out += "database:   \(bytes(UInt64(clamping: size))), integrity \(v.found.integrity == "ok" ? "ok" : "NOT ok")\n"
        }
        if let mode = v.found.tokenKeyMode { out += "token key:  mode \(mode)\n" }
        let recorded = v.manifest?.database.counts.named ?? []
        let counted = v.found.counts?.named ?? []
        var rows: [[String]] = []
        for (i, name) in ["users", "conversations", "events", "messages", "files"].enumerated() {
            rows.append([
                name, i < recorded.count ? String(recorded[i].1) : "-", i < counted.count ? String(counted[i].1) : "-",
            ])
        }
        let storeRecorded = v.manifest?.fileStore
        let storeFound = v.found.fileStore
        rows.append(["store files", storeRecorded.map { String($0.files) } ?? "-", storeFound.map { String($0.files) } ?? "-"])
        rows.append(["store bytes", storeRecorded.map { String($0.bytes) } ?? "-", storeFound.map { String($0.bytes) } ?? "-"])
        out += "\n" + table(["", "MANIFEST", "FOUND"], rows)
        if !v.problems.isEmpty {
            out += "\nproblems:\n" + v.problems.map { "  - \($0)\n" }.joined()
        }
        return out
    }
}

/// Free bytes for stats, or "free space unknown".
func free(_ n: Int64) -> String { n < 0 ? "free space unknown" : "\(bytes(UInt64(n))) free" }

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load: connections, messages per second, queue depths, database, search index and file-store size.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await global.call(.stats, Chatd_Control_V1_StatsRequest(), as: Chatd_Control_V1_StatsResponse.self)
        global.output(r) {
            let batch = r.writeBatches == 0 ? 0 : Double(r.writes) / Double(r.writeBatches)
            return """
                connections:        \(r.connections) (\(r.authenticatedConnections) authenticated, \(r.onlineUsers) users online)
                messages/s:         \(String(format: "%.1f", r.messagesPerSecond)) (last \(r.intervalSeconds) s; \(r.messagesSinceStart) since start)
                write queue:        \(r.writeQueueDepth) waiting; \(r.writes) writes in \(r.writeBatches) batches (\(String(format: "%.1f", batch)) per batch)
                argon2 queue:       \(r.argon2QueueDepth) waiting
                database:           \(bytes(r.databaseBytes))
                search index:       \(r.searchIndex.isEmpty ? "unknown" : r.searchIndex)\(r.searchIndexBytes == 0 ? "" : ", \(bytes(r.searchIndexBytes))")
                file store:         \(bytes(r.fileStoreBytes)) in \(r.fileStoreFiles) files
                database disk:      \(r.databaseStorage), \(free(r.databaseFreeBytes))
                file store disk:    \(r.fileStoreStorage), \(free(r.fileStoreFreeBytes))
                uptime:             \(duration(r.uptimeMs))

                """ + Self.cluster(r)
        }
    }

    /// Several nodes: the cluster's totals and each node's load; "" on one node.
    static func cluster(_ r: Chatd_Control_V1_StatsResponse) -> String {
        guard !r.nodes.isEmpty else { return "" }
        let rows = r.nodes.map { n in
            [
                n.node, duration(n.heartbeatAgeMs) + " ago", "\(n.connections) (\(n.authenticatedConnections) authenticated)",
                "\(n.writeQueueDepth)", "\(n.writes) in \(n.writeBatches)",
            ]
        }
        return """
            cluster:            \(r.nodes.count) nodes, \(r.clusterConnections) connections (\(r.clusterAuthenticatedConnections) authenticated, \(r.clusterOnlineUsers) users online)

            """ + table(["NODE", "HEARTBEAT", "CONNECTIONS", "WRITE QUEUE", "WRITES IN BATCHES"], rows)
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show chatd's configuration.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The values in force (file, reloads and log-level applied); secrets redacted.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Only keys that differ from their default.") var changed = false

        func run() async throws {
            let r = try await global.call(.configShow, Chatd_Control_V1_ConfigShowRequest(), as: Chatd_Control_V1_ConfigShowResponse.self)
            global.output(r) {
                "# \(r.source.isEmpty ? "embedded default (no config file)" : r.source)\n"
                    + table(
                        // Values can be long (files.allowed_types): last, so they widen no column.
                        ["KEY", "RELOAD", "VALUE"],
                        r.entries.filter { !changed || !$0.isDefault }.map {
                            [
                                $0.key, $0.reloadable ? "yes" : "restart",
                                $0.isDefault ? "\($0.value) (default)" : "\($0.value) (default \($0.defaultValue))",
                            ]
                        })
            }
        }
    }
}

struct LogLevel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log-level",
        abstract: "Show or set chatd's log level at once (until the next reload or restart).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "trace, debug, info, notice, warning, error or critical; none: show it.") var level: String?

    func run() async throws {
        var q = Chatd_Control_V1_LogLevelRequest()
        q.level = level ?? ""
        let r = try await global.call(.logLevel, q, as: Chatd_Control_V1_LogLevelResponse.self)
        global.output(r) { level == nil ? "\(r.level)\n" : "log level \(r.level) (was \(r.previous))\n" }
    }
}

extension UserCommand {
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an account: its messages too, or with --anonymise keep them under \"Deleted user\".",
            discussion: """
                Connections close, the account leaves every room and group and becomes a tombstone
                ("#deleted-ID", display name "Deleted user"); the username is free again. Without
                --anonymise each of its messages is deleted as a DeleteMessage would (the events stay,
                emptied, so conversation sequences have no gaps). This cannot be undone.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument var user: String
        @Flag(help: "Keep the messages, attributed to the deleted account.") var anonymise = false

        func run() async throws {
            var q = Chatd_Control_V1_UserDeleteRequest()
            q.user = userRef(user)
            q.anonymise = anonymise
            let r = try await global.call(.userDelete, q, as: Chatd_Control_V1_UserDeleteResponse.self)
            global.output(r) {
                "deleted \(r.previousUsername) (id \(r.userID)); \(anonymise ? "messages kept, anonymised" : "\(r.messagesDeleted) messages deleted")\n"
            }
        }
    }
}
