import ChatCore
import ChatCrypto
import ChatProtocol
import ChatServer
import ChatStore
import Foundation
import Logging
import Synchronization

/// A small chatd without sockets, for the router fuzzers and their
/// regression tests: the services of `Daemon.start` over a real SQLite
/// store and file store in a temporary directory, on a manual clock, with
/// a few users, conversations, messages, friendships and one stored file,
/// so that ids a fuzzer guesses (1, 2, 3...) reach real rows.
///
///     users          1 alice, 2 bob, 3 carol (passwords "correct horse")
///     conversations  1 #general (public: alice owner, bob), 2 #secret
///                    (private: alice), 3 group "trio" (alice, bob, carol),
///                    4 direct alice-bob
///     messages       #general seq 1-3 (the last one carries the file),
///                    direct seq 1
///     friends        alice and bob; carol asked alice
public final class FuzzWorld: Sendable {
    public let directory: String
    public let store: SQLiteStore
    public let clock: ManualClock
    public let accounts: AccountService
    public let conversations: ConversationService
    public let friends: FriendService
    public let files: FileService
    public let registry: SessionRegistry
    public let hub: FanoutHub
    public let clientRouter: ClientRouter
    public let controlRouter: ControlRouter
    /// alice, bob: the sessions client requests run as.
    public let sessions: [Session]
    /// The tokens of `sessions` (seeds for Resume).
    public let tokens: [[UInt8]]
    /// The id of the stored file (seeds for Download and GetFile).
    public let fileID: String
    public let context = ConnectionContext(address: "127.0.0.1", nonce: Array(UInt8(0x20)...UInt8(0x3f)))
    private let hasher: SodiumPasswordHasher

    /// Builds a world in a new directory under `NSTemporaryDirectory()`.
    public static func make() async throws -> FuzzWorld {
        guard Sodium.ready else { throw FuzzWorldError("libsodium failed to initialise") }
        let template = NSTemporaryDirectory() + "/chatd-fuzz-XXXXXX"
        var path = Array(template.utf8CString)
        guard let made = mkdtemp(&path) else { throw FuzzWorldError("mkdtemp \(template) failed") }
        let directory = String(cString: made)

        let logger = Logger(label: "chatd-fuzz") { _ in SwiftLogNoOpLogHandler() }
        let clock = ManualClock()
        // synchronous off: a crash of the fuzzer needs no durable database.
        let store = try SQLiteStore.open(path: directory + "/chatd.sqlite3", synchronous: .off, readers: 2)
        let registry = SessionRegistry()
        let presence = PresenceHub(registry: registry, store: store, clock: clock, logger: logger)
        let hub = FanoutHub(registry: registry, presence: presence)
        store.setEventObserver { hub.publish($0) }
        // The cheapest Argon2 limits, as the end-to-end tests use.
        let hasher = SodiumPasswordHasher(
            limits: Sodium.Argon2Limits(opsLimit: 1, memLimit: 8 * 1024), threads: 1, queueCapacity: 32)
        // A generous address throttle: every request comes from one address.
        let crypto = SodiumTokenCrypto(key: Array(repeating: 7, count: 32))
        let accounts = AccountService(
            store: store, hasher: hasher, crypto: crypto, clock: clock,
            sessions: registry, limits: DomainLimits(),
            throttle: AccountService.Throttle(addressAttempts: 1_000_000, addressWindowMs: 1000))
        let conversations = ConversationService(store: store, clock: clock, limits: DomainLimits())
        let friends = FriendService(store: store, clock: clock)
        let blobs = try DiskBlobStore(root: directory + "/files", makeHasher: { Blake2bStream() }, threads: 1)
        let files = FileService(
            catalog: store, blobs: blobs, random: DeterministicRandom().bytes, clock: clock, limits: FileLimits())
        let clientRouter = ClientRouter(
            accounts: accounts, conversations: conversations,
            invites: InviteService(store: store, clock: clock, crypto: crypto), friends: friends, files: files, hub: hub,
            push: PushTargetService(store: store, clock: clock, rules: PushRules()), clock: clock, logger: logger)
        // Backup, reload and log-level stay unsupported: a fuzzer must not
        // write where a payload says, nor reconfigure anything.
        let controlRouter = ControlRouter(
            store: store, accounts: accounts, rooms: conversations, registry: registry, hub: hub, files: files,
            clock: clock, info: DaemonInfo(startedAtMs: clock.nowMs(), dataDir: directory, listen: "127.0.0.1:7600"),
            logger: logger, probe: { try await store.probeWrite() },
            reloader: { throw ChatFailure(.wrongState, "the fuzz world has no config file") },
            throughput: MessageThroughput(clock: clock))

        let context = ConnectionContext(address: "127.0.0.1", nonce: Array(UInt8(0x20)...UInt8(0x3f)))
        func register(_ name: String) async throws -> AuthResult {
            try await accounts.register(
                username: name, password: "correct horse", email: "", displayName: name.capitalized,
                device: DeviceInput(deviceID: "laptop-1", name: "\(name)'s laptop", platform: "linux"), context: context)
        }
        let alice = try await register("alice")
        let bob = try await register("bob")
        let carol = try await register("carol")
        let a = alice.session
        let general = try await conversations.createRoom(a, name: "general", description: "all of us", visibility: .public)
        _ = try await conversations.join(bob.session, room: general.id)
        _ = try await conversations.createRoom(a, name: "secret", description: "", visibility: .private)
        _ = try await conversations.createGroup(
            a, name: "trio", description: "", userIDs: [bob.session.userID, carol.session.userID], usernames: [])
        let direct = try await conversations.openDirect(a, userID: bob.session.userID, username: "")
        _ = try await conversations.send(
            a, conversation: general.id, toUser: 0, .init(clientMsgID: "m-0001", text: "hello, @bob"))
        _ = try await conversations.send(
            bob.session, conversation: general.id, toUser: 0, .init(clientMsgID: "m-0002", text: "a \"big cat\" and a dog"))
        _ = try await conversations.send(
            a, conversation: direct.id, toUser: 0, .init(clientMsgID: "m-0003", text: "just us"))

        let content = Array("hello".utf8)
        let hash = Sodium.blake2b(content, outputLength: 32)
        let (upload, _) = try await files.begin(a, size: 5, name: "hello.txt", mimeType: "text/plain", hash: hash)
        _ = try await files.chunk(a, upload: upload.id, offset: 0, data: content)
        let file = try await files.finish(a, upload: upload.id)
        _ = try await conversations.send(
            a, conversation: general.id, toUser: 0,
            .init(
                clientMsgID: "m-0004", text: "a file", type: .file,
                attachment: Attachment(fileID: file.id, name: file.name, size: file.size, mimeType: file.mimeType)))

        _ = try await friends.request(a, userID: bob.session.userID, username: "")
        try await friends.accept(bob.session, userID: a.userID, username: "")
        _ = try await friends.request(carol.session, userID: a.userID, username: "")
        presence.load(try await store.allContacts())
        hub.load(try await store.allMemberships())

        return FuzzWorld(
            directory: directory, store: store, clock: clock, accounts: accounts, conversations: conversations,
            friends: friends, files: files, registry: registry, hub: hub, clientRouter: clientRouter,
            controlRouter: controlRouter, sessions: [alice.session, bob.session],
            tokens: [alice.token ?? [], bob.token ?? []], fileID: file.id, hasher: hasher)
    }

    private init(
        directory: String, store: SQLiteStore, clock: ManualClock, accounts: AccountService,
        conversations: ConversationService, friends: FriendService, files: FileService, registry: SessionRegistry,
        hub: FanoutHub, clientRouter: ClientRouter, controlRouter: ControlRouter, sessions: [Session],
        tokens: [[UInt8]], fileID: String, hasher: SodiumPasswordHasher
    ) {
        self.directory = directory
        self.store = store
        self.clock = clock
        self.accounts = accounts
        self.conversations = conversations
        self.friends = friends
        self.files = files
        self.registry = registry
        self.hub = hub
        self.clientRouter = clientRouter
        self.controlRouter = controlRouter
        self.sessions = sessions
        self.tokens = tokens
        self.fileID = fileID
        self.hasher = hasher
    }

    /// Stops the hashing thread, closes the database and removes the directory.
    public func close() {
        hasher.shutdown()
        try? store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The error code of an error frame; nil for any other frame.
    public static func errorCode(of frame: Frame) -> ErrorCode? {
        guard frame.kind == .error, let body = try? Chatd_V1_ErrorResponse(payload: frame.payload) else { return nil }
        return ErrorCode(rawValue: body.code)
    }
}

public struct FuzzWorldError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Upload and file ids from a counter instead of libsodium, so that a run
/// is repeatable.
final class DeterministicRandom: Sendable {
    private let state = Mutex<UInt64>(0x9E37_79B9_7F4A_7C15)

    var bytes: @Sendable (Int) -> [UInt8] { { [self] count in self.next(count) } }

    private func next(_ count: Int) -> [UInt8] {
        state.withLock { s in
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                // splitmix64
                s &+= 0x9E37_79B9_7F4A_7C15
                var z = s
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                withUnsafeBytes(of: z) { out.append(contentsOf: $0.prefix(count - out.count)) }
            }
            return out
        }
    }
}
