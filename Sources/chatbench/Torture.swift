import ArgumentParser
import ChatClient
import ChatProtocol
import Foundation
import Synchronization

/// `chatbench torture load|verify`: the client half of tools/torture, which
/// kills chatd with SIGKILL under this load and checks, after each restart,
/// that nothing acknowledged was lost or stored twice.
///
/// Both modes share a state file (the users, their tokens and conversations,
/// and what the last load left unacknowledged) and an append-only journal of
/// everything the server acknowledged. A journal line is written only after
/// its acknowledgement arrived, so the journal never claims an ack that did not
/// happen; chatbench is not the process being killed, so every line it wrote
/// reaches the file.
struct Torture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Crash-test client: pipelined load that journals every ack, and the check after a restart.",
        discussion: """
            tools/torture runs these in rounds: load, kill -9 chatd, restart it, verify. Journal lines
            (space separated, one per acknowledgement):
              M user conversation seq duplicate client_msg_id [file_id]   a SendMessage
              E user conversation seq duplicate client_msg_id target_seq  an EditMessage
              C user upload_id offset length                              an UploadChunk
              F user upload_id file_id size blake2b_hex                   an UploadFinish
            """,
        subcommands: [TortureLoad.self, TortureVerify.self])
}

struct TortureOptions: ParsableArguments {
    @Option(help: "chatd address host:port.") var server = "127.0.0.1:7600"
    @Option(help: "State file (users, tokens, conversations, unacknowledged sends); created by the first load.")
    var state: String
    @Option(help: "Journal of acknowledgements, appended to by load and read by verify.") var journal: String

    func target() throws -> Target { try Target(server: server, threads: 1) }
}

// MARK: State

/// What one round hands to the next; rewritten whole (temporary file, rename)
/// at the end of each load.
struct TortureState: Codable {
    struct User: Codable {
        var username: String
        var password: String
        var id: UInt64
        var token: Data
    }

    struct Conversation: Codable {
        var id: UInt64
        var kind: String
        /// Indexes into `users`; each of them may send here.
        var members: [Int]
    }

    var users: [User]
    var conversations: [Conversation]
    /// Sent but not acknowledged when chatd died: sent again, same ids, by the next load.
    var unacknowledged: [TortureSend] = []
    /// Acknowledged in the last load: sent again by the next one, which must be
    /// answered duplicate with the same seq.
    var resend: [TortureSend] = []
    /// Uploads the last load left unfinished, resumed by the next.
    var unfinishedUploads: [TortureUpload] = []

    static func load(_ path: String) throws -> TortureState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try JSONDecoder().decode(TortureState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The conversations `user` sends to.
    func conversations(of user: Int) -> [Conversation] { conversations.filter { $0.members.contains(user) } }
}

/// One SendMessage or EditMessage, replayable with the same content.
struct TortureSend: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        case text, file, edit
    }

    var user: Int
    var conversation: UInt64
    var clientMsgID: String
    var kind: Kind
    /// file: the attachment; edit: nil.
    var fileID: String?
    /// edit: the edited message's seq.
    var target: UInt64?
    /// Set once acknowledged (for `resend`).
    var seq: UInt64?

    /// Text derived from the id, so that a retry carries the same request.
    var text: String {
        switch kind {
        case .text: "torture \(clientMsgID)"
        case .file: "file \(clientMsgID)"
        case .edit: "edited \(Self.editedID(clientMsgID))"
        }
    }

    /// An edit's id is "e-" and the id of the message it edits.
    static func editID(of messageID: String) -> String { "e-" + messageID }
    static func editedID(_ editID: String) -> String { String(editID.dropFirst(2)) }
}

/// An upload whose content can be made again from its seed.
struct TortureUpload: Codable, Sendable {
    var user: Int
    var seed: String
    var size: Int
    var uploadID: String?

    /// Printable ASCII (text/plain), deterministic in the seed.
    var content: Data {
        var rng = SplitMix64(seed: fnv1a(seed))
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 \n".utf8)
        var data = Data(count: size)
        data.withUnsafeMutableBytes { raw in
            for i in 0..<raw.count { raw[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        }
        return data
    }
}

/// FNV-1a: a hash that is the same in every process (Hasher is seeded per process).
func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

// MARK: Journal

/// Append-only, one write(2) per line on an O_APPEND descriptor: a line is in
/// the file (the kernel's page cache) as soon as `append` returns.
final class TortureJournal: Sendable {
    private let fd: Mutex<Int32>

    init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError("cannot open the journal \(path): \(String(cString: strerror(errno)))") }
        self.fd = Mutex(fd)
    }

    func append(_ fields: [String]) throws {
        let line = Array((fields.joined(separator: " ") + "\n").utf8)
        try fd.withLock { fd in
            var done = 0
            while done < line.count {
                let n = line[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw BenchError("journal write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    func close() { fd.withLock { _ = Glibc.close($0) } }

    enum Record {
        case message(user: Int, conversation: UInt64, seq: UInt64, duplicate: Bool, id: String, fileID: String?)
        case edit(user: Int, conversation: UInt64, seq: UInt64, duplicate: Bool, id: String, target: UInt64)
        case chunk(user: Int, upload: String, offset: UInt64, length: UInt64)
        case finish(user: Int, upload: String, fileID: String, size: UInt64, blake2b: String)
    }

    /// Every record of the journal at `path` (none when it does not exist).
    static func read(_ path: String) throws -> [Record] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var records: [Record] = []
        for (n, line) in text.split(separator: "\n").enumerated() {
            let f = line.split(separator: " ").map(String.init)
            guard let record = parse(f) else { throw BenchError("journal line \(n + 1) does not parse: \(line)") }
            records.append(record)
        }
        return records
    }

    private static func parse(_ f: [String]) -> Record? {
        guard let tag = f.first, f.count >= 2, let user = Int(f[1]) else { return nil }
        switch tag {
        case "M" where f.count == 6 || f.count == 7:
            guard let c = UInt64(f[2]), let s = UInt64(f[3]) else { return nil }
            return .message(user: user, conversation: c, seq: s, duplicate: f[4] == "1", id: f[5], fileID: f.count == 7 ? f[6] : nil)
        case "E" where f.count == 7:
            guard let c = UInt64(f[2]), let s = UInt64(f[3]), let t = UInt64(f[6]) else { return nil }
            return .edit(user: user, conversation: c, seq: s, duplicate: f[4] == "1", id: f[5], target: t)
        case "C" where f.count == 5:
            guard let o = UInt64(f[3]), let l = UInt64(f[4]) else { return nil }
            return .chunk(user: user, upload: f[2], offset: o, length: l)
        case "F" where f.count == 6:
            guard let size = UInt64(f[4]) else { return nil }
            return .finish(user: user, upload: f[2], fileID: f[3], size: size, blake2b: f[5])
        default:
            return nil
        }
    }
}

// MARK: Connections

extension Target {
    /// A client-library connection authenticated as `user`: by token, or by
    /// password when `login` (or when the token is refused); the token in
    /// `user` is replaced by a login's.
    func tortureConnection(_ user: inout TortureState.User, login: Bool) async throws -> ChatConnection {
        let c = try await ChatConnection.connect(host: host, port: port, group: group, requestTimeout: .seconds(60))
        do {
            try await c.hello(clientName: "chatbench-torture")
            if !login {
                do {
                    _ = try await c.resume(token: user.token)
                    return c
                } catch let error as ChatClientError where error.code != nil {
                    FileHandle.standardError.write(Data("torture: resume as \(user.username) refused (\(error)); logging in\n".utf8))
                }
            }
            var device = Chatd_V1_DeviceInfo()
            device.deviceID = "torture"
            let auth = try await c.login(username: user.username, password: user.password, device: device)
            user.token = auth.token
            return c
        } catch {
            await c.close()
            throw error
        }
    }
}

/// Reads and drops a connection's pushes (the stream buffers without bound).
func drainPushes(_ c: ChatConnection) -> Task<Void, Never> {
    Task { for await _ in c.pushes {} }
}

/// What a failed request says about the connection.
enum RequestFailure: Sendable {
    /// The connection is gone (chatd was killed): stop using it.
    case closed
    /// The server answered with an error, or the request timed out.
    case refused(String)

    init(_ error: any Error) {
        switch error as? ChatClientError {
        case .server(let code, let message, _, _): self = .refused("\(ErrorCode(rawValue: code).map { "\($0)" } ?? "\(code)"): \(message)")
        case .timedOut: self = .refused("timed out")
        case .connectionClosed, .connectionRefused, .protocolViolation, nil: self = .closed
        }
    }
}
