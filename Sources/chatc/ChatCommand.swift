import ArgumentParser
import ChatBuildInfo
import ChatClient
import ChatProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `chatc`: a terminal client for chatd, built on the ChatClient library.
@main
struct Chatc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatc",
        abstract: "A terminal client for chatd.",
        discussion: """
            The session (server and how to reach it over TLS, user, device, token) is kept in $XDG_CONFIG_HOME/chatc/session.json
            (default ~/.config/chatc/session.json), mode 0600; a session saved by the client's old name (~/.config/chat) is
            still read. --profile NAME (or $CHATC_PROFILE) uses NAME.session.json there instead, for another account; give
            it after the command (chatc whoami --profile work), or alone for the interactive client (chatc --profile work).
            With no command, chatc is the interactive client (chatc ui). CONV is a conversation id, #room-name, or @username
            for the direct chat with that user.
            """,
        version: BuildInfo.description,
        subcommands: [
            Interactive.self, Register.self, Login.self, Logout.self, Whoami.self, Conversations.self, Rooms.self, CreateRoom.self,
            Join.self, DM.self, Send.self, SendFile.self, Download.self, Search.self, History.self, Friends.self, Friend.self,
            Tail.self, Edit.self, Delete.self, React.self, Leave.self, Members.self, Invite.self, InviteLink.self, Push.self,
        ],
        defaultSubcommand: Interactive.self)
}

// MARK: Session

struct SavedSession: Codable {
    var server: String
    var username: String
    var userID: UInt64
    var deviceID: String
    var token: String  // base64
    /// How the server is reached (absent in sessions saved before TLS).
    var tls: Endpoint.TLSFiles?
}

extension SavedSession {
    /// The session a register or login answered.
    init(_ auth: Chatd_V1_AuthResponse, _ endpoint: Endpoint) {
        self.init(
            server: endpoint.address, username: auth.user.username, userID: auth.user.id, deviceID: auth.deviceID,
            token: auth.token.base64EncodedString(), tls: endpoint.tls)
    }
}

/// Where a profile's session is kept: `session.json` for the default
/// profile, `NAME.session.json` for `--profile NAME`.
struct SessionFile {
    var profile: String?

    private static var configHome: String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg }
        return (env["HOME"] ?? ".") + "/.config"
    }

    static var directory: String { configHome + "/chatc" }

    var path: String { Self.directory + "/" + (profile.map { $0 + "." } ?? "") + "session.json" }

    /// Where the client kept its session when it was called `chat`.
    private static var legacyPath: String { configHome + "/chat/session.json" }

    func load() -> SavedSession? {
        let legacy = profile == nil ? FileManager.default.contents(atPath: Self.legacyPath) : nil
        guard let data = FileManager.default.contents(atPath: path) ?? legacy else { return nil }
        return try? JSONDecoder().decode(SavedSession.self, from: data)
    }

    func save(_ session: SavedSession) throws {
        try FileManager.default.createDirectory(
            atPath: Self.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let data = try JSONEncoder().encode(session)
        // Write to a new 0600 file, then rename over the old one.
        let temp = path + ".tmp"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw CLIError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, data.count) }
        close(fd)
        guard written == data.count, rename(temp, path) == 0 else { throw CLIError("cannot write \(path)") }
    }

    func remove() {
        unlink(path)
        if profile == nil { unlink(Self.legacyPath) }
    }
}

/// Line-buffered output for `tail` when stdout is a pipe.
func flushOutput() { fflush(nil) }

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The server refused the saved session: trying again will not help.
struct SessionRejected: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct ServerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Use this account's session (a name of letters, digits, '.', '_' and '-'; default: $CHATC_PROFILE, else the default one).")
    var profile: String?

    @Option(name: .long, help: "chatd address host:port (default: the saved session's, else $CHAT_SERVER, else 127.0.0.1:7600).")
    var server: String?

    @Flag(name: .long, help: "Speak TLS (to chatd's tls.listen port), trusting the system's CAs unless --ca is given.")
    var tls = false

    @Option(name: .long, help: "PEM file of the CA that signed the server's certificate (implies --tls).")
    var ca: String?

    @Option(name: .long, help: "PEM file of a client certificate, for a server that asks for one (implies --tls; needs --key).")
    var cert: String?

    @Option(name: .long, help: "PEM file of the client certificate's private key.")
    var key: String?

    var sessionFile: SessionFile {
        get throws {
            let env = ProcessInfo.processInfo.environment["CHATC_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
            guard let name = profile ?? env else { return SessionFile(profile: nil) }
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
            guard !name.isEmpty, name.count <= 64, !name.hasPrefix("."), name.allSatisfy(allowed.contains) else {
                throw CLIError("bad profile name \(name) (letters, digits, '.', '_' and '-', not starting with '.')")
            }
            return SessionFile(profile: name)
        }
    }

    /// Where to connect and how: the options given, else the saved
    /// session's (the TLS settings are remembered with the session, and
    /// kept only while the server is the saved one).
    func endpoint(_ saved: SavedSession?) -> Endpoint {
        let address = server ?? saved?.server ?? ProcessInfo.processInfo.environment["CHAT_SERVER"] ?? "127.0.0.1:7600"
        if tls || ca != nil || cert != nil {
            return Endpoint(address: address, tls: Endpoint.TLSFiles(ca: ca, cert: cert, key: key))
        }
        let sameServer = server == nil || server == saved?.server
        return Endpoint(address: address, tls: sameServer ? saved?.tls : nil)
    }
}

/// A chatd to connect to: address, and TLS settings when it is reached over TLS.
struct Endpoint {
    struct TLSFiles: Codable, Equatable {
        /// Absolute paths, so the session works from any directory.
        var ca: String?
        var cert: String?
        var key: String?

        init(ca: String?, cert: String?, key: String?) {
            let cwd = FileManager.default.currentDirectoryPath
            func absolute(_ path: String?) -> String? {
                path.map { $0.hasPrefix("/") ? $0 : (cwd as NSString).appendingPathComponent($0) }
            }
            self.ca = absolute(ca)
            self.cert = absolute(cert)
            self.key = absolute(key)
        }
    }

    var address: String
    var tls: TLSFiles?
}

func connect(_ endpoint: Endpoint) async throws -> ChatConnection {
    let address = endpoint.address
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
        throw CLIError("bad server address \(address) (want host:port)")
    }
    let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    let connection: ChatConnection
    do {
        let tls = try endpoint.tls.map { try ChatTLS(caFile: $0.ca, certificate: $0.cert, privateKey: $0.key) }
        connection = try await ChatConnection.connect(host: host, port: port, tls: tls, requestTimeout: .seconds(30))
    } catch let error as ChatTLSError {
        throw CLIError("cannot connect to chatd at \(address): \(error)")
    } catch {
        throw CLIError("cannot connect to chatd at \(address)\(endpoint.tls == nil ? "" : " over TLS")")
    }
    do {
        try await connection.hello(clientName: "chatc", clientVersion: "0.2")
    } catch let error as ChatTLSError {
        throw CLIError("chatd at \(address) refused this client: \(error)")
    }
    return connection
}

/// Connects and resumes the saved session.
func resumed(_ options: ServerOptions) async throws -> (ChatConnection, SavedSession) {
    let saved = try savedSession(options)
    let connection = try await connect(options.endpoint(saved))
    try await resume(connection, saved)
    return (connection, saved)
}

func savedSession(_ options: ServerOptions) throws -> SavedSession {
    let file = try options.sessionFile
    guard let saved = file.load() else {
        throw CLIError("not logged in (run: chatc\(file.profile.map { " --profile " + $0 } ?? "") login USERNAME)")
    }
    return saved
}

/// Resumes the saved session on a new connection.
func resume(_ connection: ChatConnection, _ saved: SavedSession) async throws {
    guard let token = Data(base64Encoded: saved.token) else { throw SessionRejected("the saved session is damaged; log in again") }
    do {
        _ = try await connection.resume(token: token)
    } catch let error as ChatClientError where [.invalidToken, .tokenExpired, .deviceRevoked].contains(error.code) {
        throw SessionRejected("\(error); log in again (chatc login \(saved.username))")
    }
}

func readPassword(_ option: String?) throws -> String {
    if let option { return option }
    if isatty(STDIN_FILENO) != 0, let p = getpass("Password: ") { return String(cString: p) }
    guard let line = readLine(strippingNewline: true) else { throw CLIError("no password given") }
    return line
}

func deviceInfo(_ saved: SavedSession?) -> Chatd_V1_DeviceInfo {
    var d = Chatd_V1_DeviceInfo()
    d.deviceID = saved?.deviceID ?? ""
    d.name = "chatc on \(ProcessInfo.processInfo.hostName)"
    d.platform = "cli"
    return d
}

/// Runs a command body, turning every failure into one line on stderr.
func run(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("chatc: \(error.description)\n".utf8))
        throw ExitCode.failure
    } catch let error as SessionRejected {
        FileHandle.standardError.write(Data("chatc: \(error.description)\n".utf8))
        throw ExitCode.failure
    } catch let error as ChatClientError {
        FileHandle.standardError.write(Data("chatc: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

// MARK: Names and conversations

func conversationID(_ ref: String, _ c: ChatConnection) async throws -> UInt64 {
    if let id = UInt64(ref) { return id }
    if ref.hasPrefix("@") { return try await c.openDirect(username: String(ref.dropFirst())).id }
    let name = ref.hasPrefix("#") ? String(ref.dropFirst()) : ref
    let mine = try await c.conversations(limit: 200).conversations
    if let match = mine.first(where: { $0.name.lowercased() == name.lowercased() }) { return match.id }
    var q = Chatd_V1_ListPublicRoomsRequest()
    q.limit = 200
    while true {
        let page = try await c.call(.listPublicRooms, q, as: Chatd_V1_ListConversationsResponse.self)
        if let match = page.conversations.first(where: { $0.name.lowercased() == name.lowercased() }) { return match.id }
        guard page.hasMore_p, let last = page.conversations.last else { break }
        q.afterID = last.id
    }
    throw CLIError("no conversation named \(name)")
}

func time(_ ms: Int64) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm"
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

// MARK: Commands

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an account and log in.")
    @OptionGroup var options: ServerOptions
    @Argument var username: String
    @Option var password: String?
    @Option var displayName: String = ""

    func run() async throws {
        try await chatc.run {
            let endpoint = options.endpoint(nil)
            let c = try await connect(endpoint)
            let auth = try await c.register(
                username: username, password: try readPassword(password), displayName: displayName, device: deviceInfo(nil))
            try options.sessionFile.save(SavedSession(auth, endpoint))
            print("registered and logged in as \(auth.user.username)")
        }
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log in and keep the session.")
    @OptionGroup var options: ServerOptions
    @Argument var username: String
    @Option var password: String?

    func run() async throws {
        try await chatc.run {
            let saved = try options.sessionFile.load()
            let endpoint = options.endpoint(saved)
            let c = try await connect(endpoint)
            let auth = try await c.login(
                username: username, password: try readPassword(password),
                device: deviceInfo(saved?.username.lowercased() == username.lowercased() ? saved : nil))
            try options.sessionFile.save(SavedSession(auth, endpoint))
            print("logged in as \(auth.user.username)")
        }
    }
}

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "End this device's session.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            try await c.logout()
            try options.sessionFile.remove()
            print("logged out")
        }
    }
}

struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the logged-in user.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chatc.run {
            let (c, saved) = try await resumed(options)
            let me = try await c.me()
            print("\(me.user.username) (\(me.user.displayName)) on \(saved.server), device \(me.deviceID)")
        }
    }
}

struct Conversations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Your conversations, newest activity first, with unread counts.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            let sync = try await c.sync(skipConversations: false)
            let names = Names(c)
            for state in sync.conversations {
                let conv = state.conversation
                var title = conv.name
                if conv.kind == .direct { title = "@" + (await names.name(conv.peerUserID, in: conv.id)) }
                let unread = state.unreadCount == 0 ? "" : " (\(state.unreadCount) unread\(state.mentionCount > 0 ? ", \(state.mentionCount) mentions" : ""))"
                let last = state.hasLastMessage ? ": " + state.lastMessage.text.prefix(40) : ""
                print("\(conv.id)\t\(title)\(unread)\(last)")
            }
        }
    }
}

struct Rooms: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Public rooms.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            var q = Chatd_V1_ListPublicRoomsRequest()
            q.limit = 200
            let page = try await c.call(.listPublicRooms, q, as: Chatd_V1_ListConversationsResponse.self)
            for r in page.conversations {
                print("\(r.id)\t#\(r.name)\t\(r.memberCount) members\(r.myRole == .roleUnspecified ? "" : " (joined)")\t\(r.description_p)")
            }
        }
    }
}

struct CreateRoom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create-room", abstract: "Create a room.")
    @OptionGroup var options: ServerOptions
    @Argument var name: String
    @Option var description: String = ""
    @Flag var `private` = false

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            let room = try await c.createRoom(name: name, description: description, visibility: `private` ? .private : .public)
            print("created #\(room.name) (\(room.id))")
        }
    }
}

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Join a public room (id or #name).")
    @OptionGroup var options: ServerOptions
    @Argument var room: String

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            let joined = try await c.joinRoom(try await conversationID(room, c))
            print("joined #\(joined.name) (\(joined.id))")
        }
    }
}

struct DM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dm", abstract: "Open the direct chat with a user.")
    @OptionGroup var options: ServerOptions
    @Argument var username: String

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            let direct = try await c.openDirect(username: username.hasPrefix("@") ? String(username.dropFirst()) : username)
            print("direct chat with \(username): \(direct.id)")
        }
    }
}

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a message.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or @user") var conversation: String
    @Argument(parsing: .remaining, help: "The text ('-', or none when stdin is not a terminal: read from stdin).")
    var words: [String] = []
    @Option(help: "Reply to this seq.") var replyTo: UInt64 = 0

    func run() async throws {
        try await chatc.run {
            let text = try messageText(words)
            let (c, _) = try await resumed(options)
            let r = try await c.send(room: try await conversationID(conversation, c), text: text, replyTo: replyTo)
            print("sent (seq \(r.event.seq))")
        }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show recent events of a conversation.")
    @OptionGroup var options: ServerOptions
    @Argument var conversation: String
    @Option var limit: UInt32 = 30
    @Option(help: "Events before this seq.") var before: UInt64?

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            let id = try await conversationID(conversation, c)
            let page = try await c.history(room: id, before: before, limit: limit)
            let names = Names(c)
            for e in page.events { print(await render(e, names)) }
            if let last = page.events.last { try await c.markRead(id, seq: last.seq) }
        }
    }
}

struct Friends: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Friends with presence, and pending requests.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            let r = try await c.allFriends()
            for f in r.friends {
                let seen = f.presence == .offline && f.lastSeenAtMs > 0 ? " (last seen \(time(f.lastSeenAtMs)))" : ""
                print("\(f.user.username)\t\(f.presence)\(seen)")
            }
            for u in r.incomingRequests { print("\(u.username)\twants to be your friend (chatc friend accept \(u.username))") }
            for u in r.outgoingRequests { print("\(u.username)\tasked, waiting") }
        }
    }
}

struct Friend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "add | accept | decline | cancel | remove | block | unblock USER")
    @OptionGroup var options: ServerOptions
    @Argument var action: String
    @Argument var username: String

    func run() async throws {
        try await chatc.run {
            let ops: [String: Op] = [
                "add": .friendRequest, "accept": .acceptFriend, "decline": .declineFriend, "cancel": .cancelFriendRequest,
                "remove": .removeFriend, "block": .block, "unblock": .unblock,
            ]
            guard let op = ops[action] else { throw CLIError("unknown action \(action); one of \(ops.keys.sorted().joined(separator: ", "))") }
            let (c, _) = try await resumed(options)
            try await c.friendOp(op, username: username)
            print("\(action): done")
        }
    }
}

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print live events as they arrive (Ctrl-C to stop); reconnects when the server goes away.")
    @OptionGroup var options: ServerOptions
    @Option(help: "Exit after this many events.") var count: Int?
    @Option(help: "Exit after this many seconds.") var seconds: Double?

    func run() async throws {
        try await chatc.run {
            let deadline = seconds.map { Date().addingTimeInterval($0) }
            var printed = 0
            var delay: Duration = .seconds(1)
            // Where each conversation was: after a reconnection what was sent
            // meanwhile is printed from History.
            var lastSeq: [UInt64: UInt64] = [:]
            var accountSeq: UInt64?
            while deadline.map({ $0.timeIntervalSinceNow > 0 }) ?? true {
                do {
                    let (c, saved) = try await resumed(options)
                    delay = .seconds(1)
                    let names = Names(c)
                    let sync = try await c.sync(accountSeq: accountSeq ?? 0, limit: accountSeq == nil ? 1 : 0)
                    if accountSeq != nil {
                        print("* connected again")
                        for a in sync.accountEvents { print("* \(await describe(a, names))") }
                    } else {
                        // Resumed and synced: from here on a lost connection is retried.
                        print("listening… (Ctrl-C to stop)")
                    }
                    accountSeq = sync.accountHeadSeq
                    for state in sync.conversations {
                        let id = state.conversation.id
                        guard let last = lastSeq[id] else {
                            lastSeq[id] = state.conversation.headSeq
                            continue
                        }
                        for e in try await c.events(in: id, after: last) where count.map({ printed < $0 }) ?? true {
                            print(await render(e, names))
                            lastSeq[id] = e.seq
                            printed += 1
                        }
                    }
                    flushOutput()
                    if let count, printed >= count { break }
                    printed += await tail(c, saved, names, until: deadline, count: count.map { $0 - printed }, lastSeq: &lastSeq)
                    if let count, printed >= count { break }
                } catch let error as SessionRejected {
                    throw error
                } catch where accountSeq != nil {
                    // The server went away: try again, waiting longer each time.
                    print("* \(error); trying again in \(delay.components.seconds) s")
                    flushOutput()
                    try await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                }
            }
        }
    }

    /// Prints pushes until the connection ends, the deadline passes or
    /// `count` events were printed; returns how many events it printed.
    private func tail(
        _ c: ChatConnection, _ saved: SavedSession, _ names: Names, until deadline: Date?, count: Int?,
        lastSeq: inout [UInt64: UInt64]
    ) async -> Int {
        let timer = deadline.map { deadline in
            Task {
                try await Task.sleep(for: .milliseconds(Int(max(0, deadline.timeIntervalSinceNow) * 1000)))
                await c.close()
            }
        }
        defer { timer?.cancel() }
        var printed = 0
        for await push in c.pushes {
            switch push {
            case .event(let e):
                print(await render(e, names))
                lastSeq[e.conversationID] = max(lastSeq[e.conversationID] ?? 0, e.seq)
                printed += 1
            case .typing(let t) where t.typing && t.userID != saved.userID:
                print("… \(await names.name(t.userID, in: t.conversationID)) is typing in \(await names.title(t.conversationID))")
            case .presence(let p) where p.userID != saved.userID:
                print("* \(await names.name(p.userID)) is \(p.presence)")
            case .accountEvent(let a):
                print("* \(await describe(a, names))")
            case .goodbye(let g):
                print("* the server closed the connection: \(g.message.isEmpty ? "\(g.reason)" : g.message)")
            case .typing, .presence, .read, .delivered, .unknown:
                break
            }
            flushOutput()
            if let count, printed >= count { break }
        }
        await c.close()
        return printed
    }
}
