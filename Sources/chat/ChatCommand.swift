import ArgumentParser
import ChatBuildInfo
import ChatClient
import ChatProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `chat`: a terminal client for chatd, built on the ChatClient library.
@main
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "A terminal client for chatd.",
        discussion: """
            The session (server and how to reach it over TLS, user, device, token) is kept in $XDG_CONFIG_HOME/chat/session.json
            (default ~/.config/chat/session.json), mode 0600. CONV is a conversation id, #room-name, or @username
            for the direct chat with that user.
            """,
        version: BuildInfo.description,
        subcommands: [
            Register.self, Login.self, Logout.self, Whoami.self, Conversations.self, Rooms.self, CreateRoom.self,
            Join.self, DM.self, Send.self, SendFile.self, Download.self, Search.self, History.self, Friends.self, Friend.self,
            Tail.self,
        ])
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

enum SessionFile {
    static var directory: String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/chat" }
        return (env["HOME"] ?? ".") + "/.config/chat"
    }

    static var path: String { directory + "/session.json" }

    static func load() -> SavedSession? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(SavedSession.self, from: data)
    }

    static func save(_ session: SavedSession) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
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

    static func remove() { unlink(path) }
}

/// Line-buffered output for `tail` when stdout is a pipe.
func flushOutput() { fflush(nil) }

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct ServerOptions: ParsableArguments {
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
        try await connection.hello(clientName: "chat-cli", clientVersion: "0.2")
    } catch let error as ChatTLSError {
        throw CLIError("chatd at \(address) refused this client: \(error)")
    }
    return connection
}

/// Connects and resumes the saved session.
func resumed(_ options: ServerOptions) async throws -> (ChatConnection, SavedSession) {
    guard let saved = SessionFile.load() else { throw CLIError("not logged in (run: chat login USERNAME)") }
    let connection = try await connect(options.endpoint(saved))
    guard let token = Data(base64Encoded: saved.token) else { throw CLIError("the saved session is damaged; log in again") }
    do {
        _ = try await connection.resume(token: token)
    } catch let error as ChatClientError where [.invalidToken, .tokenExpired, .deviceRevoked].contains(error.code) {
        throw CLIError("\(error); log in again (chat login \(saved.username))")
    }
    return (connection, saved)
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
    d.name = "chat on \(ProcessInfo.processInfo.hostName)"
    d.platform = "cli"
    return d
}

/// Runs a command body, turning every failure into one line on stderr.
func run(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("chat: \(error.description)\n".utf8))
        throw ExitCode.failure
    } catch let error as ChatClientError {
        FileHandle.standardError.write(Data("chat: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

// MARK: Names and conversations

/// Resolves user ids to usernames, a conversation's members at a time.
actor Names {
    private var names: [UInt64: String] = [:]
    private var loaded: Set<UInt64> = []
    let connection: ChatConnection

    init(_ connection: ChatConnection) { self.connection = connection }

    func name(_ id: UInt64, in conversation: UInt64) async -> String {
        if id == 0 { return "server" }
        if let n = names[id] { return n }
        if !loaded.contains(conversation) {
            loaded.insert(conversation)
            var q = Chatd_V1_ListMembersRequest()
            q.conversationID = conversation
            q.limit = 500
            if let r = try? await connection.call(.listMembers, q, as: Chatd_V1_ListMembersResponse.self) {
                for m in r.members { names[m.user.id] = m.user.username }
            }
        }
        return names[id] ?? "user\(id)"
    }
}

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

func render(_ e: Chatd_V1_Event, _ names: Names) async -> String {
    let who = await names.name(e.senderID, in: e.conversationID)
    let subject = e.subjectUserID == 0 ? "" : await names.name(e.subjectUserID, in: e.conversationID)
    let head = "[\(time(e.createdAtMs))] #\(e.conversationID) \(e.seq)"
    switch e.kind {
    case .message:
        if e.deleted { return "\(head) \(who): (deleted)" }
        let reply = e.replyToSeq == 0 ? "" : " (reply to \(e.replyToSeq))"
        let file = e.hasAttachment ? " [\(e.attachment.name), \(e.attachment.size) bytes, file \(e.attachment.fileID)]" : ""
        let edited = e.editedAtMs == 0 ? "" : " (edited)"
        return "\(head) \(who)\(reply): \(e.text)\(file)\(edited)"
    case .messageEdited: return "\(head) \(who) edited \(e.targetSeq): \(e.text)"
    case .messageDeleted: return "\(head) \(who) deleted \(e.targetSeq)"
    case .reactionAdded: return "\(head) \(who) reacted \(e.emoji) to \(e.targetSeq)"
    case .reactionRemoved: return "\(head) \(who) removed \(e.emoji) from \(e.targetSeq)"
    case .memberJoined: return "\(head) \(who) joined"
    case .memberAdded: return "\(head) \(who) added \(subject)"
    case .memberLeft: return "\(head) \(who) left"
    case .memberKicked: return "\(head) \(who) removed \(subject)"
    case .memberBanned: return "\(head) \(who) banned \(subject)"
    case .memberUnbanned: return "\(head) \(who) unbanned \(subject)"
    case .memberMuted: return "\(head) \(who) \(e.mutedUntilMs == 0 ? "unmuted" : "muted") \(subject)"
    case .roleChanged: return "\(head) \(subject) is now \(e.role)"
    case .roomCreated: return "\(head) created by \(who)"
    case .conversationUpdated: return "\(head) \(who) set name \"\(e.name)\" and topic \"\(e.description_p)\""
    default: return "\(head) \(e.kind)"
    }
}

// MARK: Commands

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an account and log in.")
    @OptionGroup var options: ServerOptions
    @Argument var username: String
    @Option var password: String?
    @Option var displayName: String = ""

    func run() async throws {
        try await chat.run {
            let endpoint = options.endpoint(nil)
            let c = try await connect(endpoint)
            let auth = try await c.register(
                username: username, password: try readPassword(password), displayName: displayName, device: deviceInfo(nil))
            try SessionFile.save(
                SavedSession(
                    server: endpoint.address, username: auth.user.username, userID: auth.user.id, deviceID: auth.deviceID,
                    token: auth.token.base64EncodedString(), tls: endpoint.tls))
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
        try await chat.run {
            let saved = SessionFile.load()
            let endpoint = options.endpoint(saved)
            let c = try await connect(endpoint)
            let auth = try await c.login(
                username: username, password: try readPassword(password),
                device: deviceInfo(saved?.username.lowercased() == username.lowercased() ? saved : nil))
            try SessionFile.save(
                SavedSession(
                    server: endpoint.address, username: auth.user.username, userID: auth.user.id, deviceID: auth.deviceID,
                    token: auth.token.base64EncodedString(), tls: endpoint.tls))
            print("logged in as \(auth.user.username)")
        }
    }
}

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "End this device's session.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chat.run {
            let (c, _) = try await resumed(options)
            try await c.logout()
            SessionFile.remove()
            print("logged out")
        }
    }
}

struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the logged-in user.")
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chat.run {
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
        try await chat.run {
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
        try await chat.run {
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
        try await chat.run {
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
        try await chat.run {
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
        try await chat.run {
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
    @Argument(parsing: .remaining) var words: [String]
    @Option(help: "Reply to this seq.") var replyTo: UInt64 = 0

    func run() async throws {
        try await chat.run {
            let (c, _) = try await resumed(options)
            let text = words.joined(separator: " ")
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
        try await chat.run {
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
        try await chat.run {
            let (c, _) = try await resumed(options)
            let r = try await c.friends()
            for f in r.friends {
                let seen = f.presence == .offline && f.lastSeenAtMs > 0 ? " (last seen \(time(f.lastSeenAtMs)))" : ""
                print("\(f.user.username)\t\(f.presence)\(seen)")
            }
            for u in r.incomingRequests { print("\(u.username)\twants to be your friend (chat friend accept \(u.username))") }
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
        try await chat.run {
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
    static let configuration = CommandConfiguration(abstract: "Print live events as they arrive (Ctrl-C to stop).")
    @OptionGroup var options: ServerOptions
    @Option(help: "Exit after this many events.") var count: Int?
    @Option(help: "Exit after this many seconds.") var seconds: Double?

    func run() async throws {
        try await chat.run {
            let (c, _) = try await resumed(options)
            let names = Names(c)
            if let seconds {
                Task {
                    try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                    await c.close()
                }
            }
            print("listening… (Ctrl-C to stop)")
            flushOutput()
            var seen = 0
            for await push in c.pushes {
                switch push {
                case .event(let e):
                    print(await render(e, names))
                    seen += 1
                case .typing(let t) where t.typing:
                    print("… \(await names.name(t.userID, in: t.conversationID)) is typing in #\(t.conversationID)")
                case .presence(let p):
                    print("* user \(p.userID) is \(p.presence)")
                case .accountEvent(let a):
                    print("* \(a.kind)\(a.conversationID == 0 ? "" : " #\(a.conversationID)")")
                case .goodbye(let g):
                    print("* server closed the connection: \(g.reason) \(g.message)")
                default:
                    break
                }
                flushOutput()
                if let count, seen >= count { break }
            }
            await c.close()
        }
    }
}
