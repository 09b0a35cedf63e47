import ArgumentParser
import ChatBuildInfo
import ChatClient
import ChatConfig
import ChatProtocol
import ChatTerminal
import Foundation
import NIOCore
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes scripts can rely on (also in `chatctl --help`).
enum Exit {
    static let requestFailed: Int32 = 1
    static let usage: Int32 = 2
    static let notRunning: Int32 = 3
    static let refused: Int32 = 4
}

@main
enum ChatctlMain {
    static func main() async {
        let args = hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst()))
        if let unknown = unknownSubcommand(args) { fail(unknown, code: Exit.usage) }
        do {
            var command = try Chatctl.parseAsRoot(args)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // ArgumentParser exits 64 on usage errors; chatctl documents 2.
            if Chatctl.exitCode(for: error) == .validationFailure {
                fail(Chatctl.fullMessage(for: error), code: Exit.usage)
            }
            Chatctl.exit(withError: error)
        }
    }

    /// "chatctl: unknown command 'usr'; did you mean user?" when a word where
    /// a subcommand belongs names none (ArgumentParser would only say
    /// "unexpected arguments").
    static func unknownSubcommand(_ args: [String]) -> String? {
        var subcommands = Chatctl.configuration.subcommands
        var path = ["chatctl"]
        for arg in args {
            if arg.hasPrefix("-") || subcommands.isEmpty || arg == "help" { return nil }
            let names = subcommands.map { name(of: $0) }
            guard let index = names.firstIndex(of: arg) else {
                return "\(path.joined(separator: " ")): unknown command '\(arg)'"
                    + Suggestion.didYouMean(arg, among: names) + " (commands: \(names.joined(separator: ", ")))"
            }
            subcommands = children(of: subcommands[index])
            path.append(arg)
        }
        return nil
    }

    private static func name(of command: any ParsableCommand.Type) -> String { command._commandName }

    private static func children(of command: any ParsableCommand.Type) -> [any ParsableCommand.Type] {
        command.configuration.subcommands
    }

    /// Global options may come before the subcommand (`chatctl --socket S status`);
    /// the parser wants them after it, so move them to the end.
    static func hoistingGlobalOptions(_ args: [String]) -> [String] {
        var leading: [String] = []
        var rest = args[...]
        while let first = rest.first, first.hasPrefix("--") {
            let name = first.split(separator: "=", maxSplits: 1).first.map(String.init) ?? first
            guard ["--socket", "--config", "--json"].contains(name) else { break }
            leading.append(first)
            rest = rest.dropFirst()
            if name != "--json", !first.contains("="), let value = rest.first {
                leading.append(value)
                rest = rest.dropFirst()
            }
        }
        guard !leading.isEmpty, !rest.isEmpty else { return args }
        return Array(rest) + leading
    }
}

struct Chatctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatctl",
        abstract: "Administer a running chatd over its control socket.",
        discussion: """
            Exit status: 0 success; 1 the request failed (the message says why); 2 usage error, or a value \
            chatd found bad (invalid_field, too_large); \
            3 chatd is not running or the socket cannot be reached; 4 access refused.

            A USER argument is a username, or id:N for a user id; a ROOM argument is a room id (digits) \
            or a room name.

            The control socket: --socket, else $CHATD_SOCKET, else the config file of --config, else \
            /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock. A config file that does not \
            load still gives its [control] socket and [storage] data_dir lines, with a warning.

            The options --socket, --config and --json may come before or after the command \
            (chatctl --json status and chatctl status --json are the same).

            Shell completions: chatctl --generate-completion-script bash|zsh|fish.
            """,
        version: BuildInfo.description,
        subcommands: [
            Status.self, Health.self, Reload.self, UserCommand.self, RoomCommand.self, DeviceCommand.self,
            SessionsCommand.self, Broadcast.self, Audit.self, BackupCommand.self, Stats.self, ConfigCommand.self,
            LogLevel.self, FileCommand.self, RetentionCommand.self, RegistrationTokenCommand.self, PushCommand.self,
        ])
}

extension GlobalOptions {
    /// The exit status for a failed request, from the error code (never from
    /// the message text): the peer check's refusal 4, a value the server
    /// found bad 2 (like a bad option), anything else the server refused 1.
    static func exit(for error: ChatClientError) -> (String, Int32) {
        switch error {
        case .connectionRefused(_, let message):
            return (message, Exit.refused)
        case .connectionClosed:
            return ("chatd closed the connection", Exit.notRunning)
        case .server:
            switch error.code {
            case .invalidField?, .badPayload?, .tooLarge?: return ("\(error)", Exit.usage)
            default: return ("\(error)", Exit.requestFailed)
            }
        case .timedOut, .protocolViolation:
            return ("\(error)", Exit.requestFailed)
        }
    }

    /// Why the control socket could not be reached, in plain words, and the exit status.
    static func unreachable(_ choice: ControlSocketLocator.Choice, error: any Error) -> (String, Int32) {
        let path = choice.path
        let elsewhere = "a chatd with another config: --config FILE, --socket PATH or CHATD_SOCKET"
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            if code == EACCES {
                return ("access refused to \(path): a directory on the way is closed to this user (run as root or as the chatd user)", Exit.refused)
            }
            return ("chatd is not running: no socket at \(path) (from \(choice.source)); for \(elsewhere)", Exit.notRunning)
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            return ("\(path) (from \(choice.source)) is not a socket; for \(elsewhere)", Exit.notRunning)
        }
        switch (error as? IOError)?.errnoCode {
        case EACCES?, EPERM?:
            return ("access refused to \(path) (run as root or as the chatd user)", Exit.refused)
        case ECONNREFUSED?:
            return ("chatd is not running: nothing listens on \(path) (left by a chatd that stopped)", Exit.notRunning)
        default:
            return ("cannot connect to \(path): \(error)", Exit.notRunning)
        }
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Path of chatd's control socket (else $CHATD_SOCKET, else --config's).")
    var socket: String?

    @Option(
        name: .long,
        help: "chatd's config file, to find the control socket (else /etc/chatd/chatd.conf when it exists, else ./chatd-data/chatd.sock).")
    var config: String?

    @Flag(
        name: .long,
        help: "Print JSON: the response message in protobuf's JSON mapping with the .proto field names (snake_case), 64-bit integers as numbers, enums by name, and every field present (defaults included: 0, \"\", false, [], {}, null for an absent message); keys sorted.")
    var json = false

    /// The control socket to use (ControlSocketLocator's order); a config
    /// file that does not load is read leniently, with a warning.
    func socketChoice() -> ControlSocketLocator.Choice {
        let locator = ControlSocketLocator(
            socketOption: socket, configOption: config, environment: ProcessInfo.processInfo.environment)
        do {
            let choice = try locator.locate()
            if let warning = choice.warning { FileHandle.standardError.write(Data("chatctl: warning: \(warning)\n".utf8)) }
            return choice
        } catch {
            fail("chatctl: \(error)", code: 2)
        }
    }

    func socketPath() throws -> String { socketChoice().path }

    /// How long chatctl waits for chatd's answer. Ops that copy or walk the
    /// whole store (a backup, a purge, a file collection, deleting a user or
    /// a conversation, a broadcast to everyone) take as long as the data
    /// does, and chatd finishes them even when chatctl has given up: a
    /// timeout would only hide their outcome (a nightly backup of a large
    /// file store reported as failed, then retried into a path that is no
    /// longer empty). They are waited for until chatd answers or the
    /// connection closes; the rest, a minute.
    static func timeout(for op: ControlOp) -> TimeAmount {
        switch op {
        case .backup, .retentionPurge, .fileGC, .userDelete, .roomDelete, .broadcast: .hours(7 * 24)
        default: .seconds(60)
        }
    }

    /// Sends one control request and returns the decoded response, or exits
    /// with one clear line.
    func call<Response: SwiftProtobuf.Message>(
        _ op: ControlOp, _ request: some SwiftProtobuf.Message, as: Response.Type = Response.self
    ) async throws -> Response {
        let choice = socketChoice()
        let path = choice.path
        let connection: ChatConnection
        do {
            connection = try await ChatConnection.connect(unixSocket: path, requestTimeout: Self.timeout(for: op))
        } catch {
            let (message, code) = Self.unreachable(choice, error: error)
            fail("chatctl: \(message)", code: code)
        }
        defer { Task { await connection.close() } }
        do {
            return try await connection.call(op.rawValue, request, as: Response.self)
        } catch let error as ChatClientError {
            let (message, code) = Self.exit(for: error)
            fail("chatctl: \(message)", code: code)
        }
    }

    func output(_ message: some SwiftProtobuf.Message, human: () -> String) {
        if json {
            guard let schema = CompleteJSON.control else {
                fail("chatctl: the embedded control schema does not load", code: Exit.requestFailed)
            }
            do {
                print(try schema.render(message))
            } catch {
                fail("chatctl: cannot print the response as JSON: \(error)", code: Exit.requestFailed)
            }
        } else {
            print(human(), terminator: "")
        }
    }
}

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}

/// "id:N" or a username.
func userRef(_ text: String) -> Chatd_Control_V1_UserRef {
    var ref = Chatd_Control_V1_UserRef()
    if text.hasPrefix("id:"), let id = UInt64(text.dropFirst(3)) {
        ref.id = id
    } else {
        ref.username = text
    }
    return ref
}

/// Where a new password comes from: stdin (a prompt on a terminal) by
/// default, or a file. On the command line only when asked for explicitly:
/// every user on the machine can read a process's arguments.
struct PasswordOptions: ParsableArguments {
    @Option(help: "The password, on the command line: other users can see it in the process list. Needs --insecure-password-arg.")
    var password: String?
    @Flag(help: "Allow --password.")
    var insecurePasswordArg = false
    @Option(help: ArgumentHelp("Read the password from the first line of this file.", valueName: "file"))
    var passwordFile: String?

    /// The password, or a usage error (exit 2).
    func read() -> String {
        if let password {
            guard insecurePasswordArg else {
                fail(
                    "chatctl: --password shows the password to every user of this machine (ps); give it on stdin or with --password-file, or add --insecure-password-arg",
                    code: 2)
            }
            return password
        }
        if let passwordFile {
            // FileHandle reads pipes and devices too (--password-file /dev/stdin).
            guard let handle = FileHandle(forReadingAtPath: passwordFile) else {
                fail("chatctl: cannot read the password file \(passwordFile)", code: 2)
            }
            let text = String(decoding: (try? handle.read(upToCount: 64 * 1024)) ?? Data(), as: UTF8.self)
            guard let line = text.split(separator: "\n", omittingEmptySubsequences: false).first, !line.isEmpty else {
                fail("chatctl: the password file \(passwordFile) is empty", code: 2)
            }
            return String(line.hasSuffix("\r") ? line.dropLast() : line)
        }
        if isatty(STDIN_FILENO) != 0, let p = getpass("Password: ") { return String(cString: p) }
        guard let line = readLine(strippingNewline: true) else { fail("chatctl: no password given on stdin", code: 2) }
        return line
    }
}

// MARK: Formatting

/// Columns padded to their widest cell in terminal columns (the last column
/// is not padded, so put a long free-text column last).
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map { TextWidth.columns($0) }
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], TextWidth.columns(cell)) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            i == cells.count - 1 ? c : TextWidth.pad(c, to: widths[i])
        }.joined(separator: "  ") + "\n"
    }
    return line(header) + rows.map(line).joined()
}

func time(_ ms: Int64) -> String {
    if ms == 0 { return "-" }
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

func duration(_ ms: Int64) -> String {
    let s = ms / 1000
    return s >= 86400 ? "\(s / 86400)d\(s % 86400 / 3600)h" : s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : "\(s / 60)m\(s % 60)s"
}

func bytes(_ n: UInt64) -> String {
    n >= 1 << 30 ? String(format: "%.1f GiB", Double(n) / Double(1 << 30))
        : n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / Double(1 << 20))
        : n >= 1 << 10 ? String(format: "%.1f KiB", Double(n) / 1024) : "\(n) B"
}

func describe(_ u: Chatd_Control_V1_AdminUser) -> String {
    """
    id:           \(u.id)
    username:     \(u.username)
    display name: \(u.displayName)
    email:        \(u.email.isEmpty ? "-" : u.email)
    role:         \(u.role)
    disabled:     \(u.disabled ? "yes" : "no")
    created:      \(time(u.createdAtMs))
    devices:      \(u.deviceCount)
    connections:  \(u.connectionCount)

    """
}

func roomRows(_ rooms: [Chatd_V1_Conversation]) -> [[String]] {
    rooms.map { r -> [String] in
        let kind: String
        switch r.kind {
        case .group: kind = "group"
        case .direct: kind = "direct"
        default: kind = r.visibility == .private ? "private room" : "public room"
        }
        return [String(r.id), r.name, kind, String(r.memberCount), String(r.headSeq)]
    }
}

func roleName(_ r: Chatd_V1_MemberRole) -> String {
    switch r {
    case .owner: "owner"
    case .admin: "admin"
    case .member: "member"
    default: "-"
    }
}

// MARK: Commands

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Version, uptime, connections, users, rooms, database size.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await global.call(.status, Chatd_Control_V1_StatusRequest(), as: Chatd_Control_V1_StatusResponse.self)
        global.output(r) {
            """
            version:      \(r.version)
            uptime:       \(duration(r.uptimeMs)) (since \(time(r.startedAtMs)))
            listen:       \(r.listen)
            connections:  \(r.connections) (\(r.authenticatedConnections) authenticated)
            users:        \(r.users)
            rooms:        \(r.rooms)
            messages:     \(r.messages)
            database:     \(bytes(r.databaseBytes))
            data dir:     \(r.dataDir)

            """ + Self.nodes(r)
        }
    }
}

extension Status {
    /// The nodes sharing the database (PostgreSQL), this one marked; "" on one node.
    static func nodes(_ r: Chatd_Control_V1_StatusResponse) -> String {
        guard !r.nodes.isEmpty else { return "" }
        let rows = r.nodes.map { n in
            [
                n.node + (n.node == r.node ? " (this)" : ""), n.listen, n.version, time(n.startedAtMs),
                duration(n.heartbeatAgeMs) + " ago", "\(n.connections) (\(n.authenticatedConnections) authenticated)",
            ]
        }
        return "nodes:        \(r.nodes.count)\n"
            + table(["NODE", "LISTEN", "VERSION", "STARTED", "HEARTBEAT", "CONNECTIONS"], rows)
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 when chatd answers and can write its database (for scripts and monitors).")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await global.call(.health, Chatd_Control_V1_HealthRequest(), as: Chatd_Control_V1_HealthResponse.self)
        global.output(r) { "ok: database writable (\(r.writeLatencyUs) µs), \(r.connections) connections\n" }
    }
}

struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read chatd's config file and apply the reloadable keys (like SIGHUP).")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let r = try await global.call(.reload, Chatd_Control_V1_ReloadRequest(), as: Chatd_Control_V1_ReloadResponse.self)
        global.output(r) {
            var out = r.applied.isEmpty ? "nothing changed\n" : "applied: \(r.applied.joined(separator: ", "))\n"
            if !r.needRestart.isEmpty { out += "need a restart: \(r.needRestart.joined(separator: ", "))\n" }
            return out
        }
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage user accounts.",
        subcommands: [Add.self, List.self, Show.self, Disable.self, Enable.self, Passwd.self, SetRole.self, Delete.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user (password from stdin, a prompt on a terminal, or --password-file).")
        @OptionGroup var global: GlobalOptions
        @Argument var username: String
        @OptionGroup var password: PasswordOptions
        @Option var displayName: String = ""
        @Option var email: String = ""
        @Option(help: "user or admin") var role: String = "user"

        func run() async throws {
            var q = Chatd_Control_V1_UserAddRequest()
            q.username = username
            q.password = password.read()
            q.displayName = displayName
            q.email = email
            q.role = role
            let r = try await global.call(.userAdd, q, as: Chatd_Control_V1_UserResponse.self)
            global.output(r) { "created user \(r.user.username) (id \(r.user.id))\n" }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only usernames starting with this.") var prefix: String = ""
        @Flag(help: "Only disabled users.") var disabled = false
        @Option(help: "Only this role (user or admin).") var role: String = ""
        @Option(help: "Users after this id.") var after: UInt64 = 0
        @Option(help: "At most this many (max 1000).") var limit: UInt32 = 100

        func run() async throws {
            var q = Chatd_Control_V1_UserListRequest()
            q.prefix = prefix
            q.onlyDisabled = disabled
            q.role = role
            q.afterID = after
            q.limit = limit
            let r = try await global.call(.userList, q, as: Chatd_Control_V1_UserListResponse.self)
            global.output(r) {
                table(
                    ["ID", "USERNAME", "DISPLAY NAME", "ROLE", "DISABLED", "DEVICES", "ONLINE"],
                    r.users.map {
                        [
                            String($0.id), $0.username, $0.displayName, $0.role, $0.disabled ? "yes" : "no",
                            String($0.deviceCount), String($0.connectionCount),
                        ]
                    }) + (r.hasMore_p ? "(more: --after \(r.users.last?.id ?? 0))\n" : "")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user with devices and rooms.")
        @OptionGroup var global: GlobalOptions
        @Argument var user: String

        func run() async throws {
            var q = Chatd_Control_V1_UserShowRequest()
            q.user = userRef(user)
            let r = try await global.call(.userShow, q, as: Chatd_Control_V1_UserShowResponse.self)
            global.output(r) {
                describe(r.user) + "\nDevices:\n"
                    + table(
                        ["DEVICE", "NAME", "PLATFORM", "LAST SEEN", "ADDRESS", "STATE"],
                        r.devices.map {
                            [
                                $0.deviceID, $0.name, $0.platform, time($0.lastSeenAtMs), $0.lastAddress,
                                $0.revoked ? "revoked" : $0.signedIn ? "signed in" : "signed out",
                            ]
                        }) + "\nRooms:\n" + table(["ID", "NAME", "KIND", "MEMBERS", "HEAD"], roomRows(r.rooms))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user and close their connections.")
        @OptionGroup var global: GlobalOptions
        @Argument var user: String

        func run() async throws {
            var q = Chatd_Control_V1_UserDisableRequest()
            q.user = userRef(user)
            let r = try await global.call(.userDisable, q, as: Chatd_Control_V1_UserResponse.self)
            global.output(r) { "disabled \(r.user.username)\n" }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user.")
        @OptionGroup var global: GlobalOptions
        @Argument var user: String

        func run() async throws {
            var q = Chatd_Control_V1_UserEnableRequest()
            q.user = userRef(user)
            let r = try await global.call(.userEnable, q, as: Chatd_Control_V1_UserResponse.self)
            global.output(r) { "enabled \(r.user.username)\n" }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's password; ends their device sessions unless --keep-sessions.")
        @OptionGroup var global: GlobalOptions
        @Argument var user: String
        @OptionGroup var password: PasswordOptions
        @Flag var keepSessions = false

        func run() async throws {
            var q = Chatd_Control_V1_UserPasswdRequest()
            q.user = userRef(user)
            q.password = password.read()
            q.keepSessions = keepSessions
            let r = try await global.call(.userPasswd, q, as: Chatd_Control_V1_UserResponse.self)
            global.output(r) { "password changed for \(r.user.username)\n" }
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Set a user's server role.")
        @OptionGroup var global: GlobalOptions
        @Argument var user: String
        @Argument(help: "user or admin") var role: String

        func run() async throws {
            var q = Chatd_Control_V1_UserSetRoleRequest()
            q.user = userRef(user)
            q.role = role
            let r = try await global.call(.userSetRole, q, as: Chatd_Control_V1_UserResponse.self)
            global.output(r) { "\(r.user.username) is now \(r.user.role)\n" }
        }
    }
}

struct RoomCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "room", abstract: "Inspect and administer rooms and groups.",
        subcommands: [
            List.self, Show.self, Create.self, Delete.self, Members.self, AddMember.self, RemoveMember.self, SetRole.self,
            Ban.self, Unban.self,
        ])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List rooms (public and private).")
        @OptionGroup var global: GlobalOptions
        @Option var after: UInt64 = 0
        @Option var limit: UInt32 = 100

        func run() async throws {
            var q = Chatd_Control_V1_RoomListRequest()
            q.afterID = after
            q.limit = limit
            let r = try await global.call(.roomList, q, as: Chatd_Control_V1_RoomListResponse.self)
            global.output(r) {
                table(["ID", "NAME", "KIND", "MEMBERS", "HEAD"], roomRows(r.rooms))
                    + (r.hasMore_p ? "(more: --after \(r.rooms.last?.id ?? 0))\n" : "")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a room (by id or name) with its members.")
        @OptionGroup var global: GlobalOptions
        @Argument var room: String

        func run() async throws {
            var q = Chatd_Control_V1_RoomShowRequest()
            let ref = roomRef(room)
            (q.roomID, q.name) = (ref.roomID, ref.name)
            let r = try await global.call(.roomShow, q, as: Chatd_Control_V1_RoomShowResponse.self)
            global.output(r) {
                """
                id:          \(r.room.id)
                name:        \(r.room.name)
                description: \(r.room.description_p)
                visibility:  \(r.room.visibility == .private ? "private" : "public")
                created:     \(time(r.room.createdAtMs)) by user \(r.room.createdBy)
                head seq:    \(r.room.headSeq)
                members:     \(r.room.memberCount) (\(r.onlineMembers) online)

                """
                    + table(["USER ID", "USERNAME", "ROLE", "JOINED"], memberRows(r.members))
            }
        }
    }
}

struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "Inspect and revoke devices.", subcommands: [List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List devices, all or one user's.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this user's devices.") var user: String?
        @Flag(help: "Include revoked devices.") var includeRevoked = false
        @Option(help: "At most this many devices (0: 1000; at most 10000).") var limit: UInt32 = 0

        func run() async throws {
            var q = Chatd_Control_V1_DeviceListRequest()
            if let user { q.user = userRef(user) }
            q.includeRevoked = includeRevoked
            q.limit = limit
            let r = try await global.call(.deviceList, q, as: Chatd_Control_V1_DeviceListResponse.self)
            global.output(r) {
                table(
                    ["USER", "DEVICE", "NAME", "PLATFORM", "LAST SEEN", "ADDRESS", "STATE", "CONNS"],
                    r.devices.map {
                        [
                            $0.username, $0.device.deviceID, $0.device.name, $0.device.platform,
                            time($0.device.lastSeenAtMs), $0.device.lastAddress,
                            $0.device.revoked ? "revoked" : $0.device.signedIn ? "signed in" : "signed out",
                            String($0.connectionCount),
                        ]
                    })
                    + (r.hasMore_p ? "(more devices not shown: --limit up to 10000, or --user)\n" : "")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a user's device: its token ends and its connections close at once.")
        @OptionGroup var global: GlobalOptions
        @Argument var user: String
        @Argument var deviceID: String

        func run() async throws {
            var q = Chatd_Control_V1_DeviceRevokeRequest()
            q.user = userRef(user)
            q.deviceID = deviceID
            let r = try await global.call(.deviceRevoke, q, as: Chatd_Control_V1_DeviceRevokeResponse.self)
            global.output(r) { "revoked \(deviceID) (\(r.closedConnections) connections closed)\n" }
        }
    }
}
