import ChatCore
import ChatCrypto
import ChatStore
import Synchronization
import Dispatch
import Testing

/// A hasher that costs nothing; `version` stands for the configured limits.
struct FakeHasher: PasswordHasher {
    var version = 1
    func hash(_ password: String) async throws -> String { "v\(version):\(password)" }
    func verify(_ password: String, hash: String) async throws -> Bool { hash.hasSuffix(":\(password)") }
    func needsRehash(_ hash: String) -> Bool { !hash.hasPrefix("v\(version):") }
}

final class RecordingSessions: SessionDirectory {
    let ended = Mutex<[(String, SessionEndReason)]>([])
    func endSessions(devices: [DeviceRowID], reason: SessionEndReason) -> Int {
        ended.withLock { $0.append(("devices \(devices.sorted())", reason)) }
        return devices.count
    }
    func endSessions(user: UserID, reason: SessionEndReason) -> Int {
        ended.withLock { $0.append(("user \(user)", reason)) }
        return 1
    }
}

struct Fixture {
    let store: SQLiteStore
    let clock = ManualClock()
    let sessions = RecordingSessions()
    let crypto = SodiumTokenCrypto(key: Array(repeating: 7, count: 32))
    let context = ConnectionContext(address: "10.0.0.1", nonce: Array(repeating: 1, count: 32))

    init(store: SQLiteStore? = nil) throws { self.store = try store ?? SQLiteStore.inMemory() }

    func accounts(hasher: FakeHasher = FakeHasher(), limits: DomainLimits = DomainLimits(), throttle: AccountService.Throttle = .init())
        -> AccountService
    {
        AccountService(
            store: store, hasher: hasher, crypto: crypto, clock: clock, sessions: sessions, limits: limits, throttle: throttle)
    }

    func rooms() -> ConversationService { ConversationService(store: store, clock: clock, limits: DomainLimits()) }
}

func failureKind(_ body: () async throws -> Void) async -> ChatFailure.Kind? {
    do {
        try await body()
        return nil
    } catch {
        return (error as? ChatFailure)?.kind
    }
}

struct AccountServiceTests {
    @Test func tokensExpireByTheInjectedClock() async throws {
        let f = try Fixture()
        var limits = DomainLimits()
        limits.tokenTTLMs = 60_000
        let accounts = f.accounts(limits: limits)
        let auth = try await accounts.register(
            username: "tess", password: "password1", email: "", displayName: "", device: DeviceInput(deviceID: "d1"),
            context: f.context)
        let token = try #require(auth.token)
        _ = try await accounts.resume(token: token, signature: [], context: f.context)
        f.clock.advance(byMs: 59_999)
        _ = try await accounts.resume(token: token, signature: [], context: f.context)
        f.clock.advance(byMs: 1)
        #expect(await failureKind { _ = try await accounts.resume(token: token, signature: [], context: f.context) } == .tokenExpired)
        // Refresh gives a new lifetime.
        let again = try await accounts.login(username: "tess", password: "password1", device: DeviceInput(deviceID: "d1"), context: f.context)
        let fresh = try await accounts.refreshToken(again.session, context: f.context)
        #expect(fresh.session.tokenExpiresAt == f.clock.nowMs() + 60_000)
        #expect(await failureKind { _ = try await accounts.resume(token: again.token ?? [], signature: [], context: f.context) } == .invalidToken)
    }

    @Test func rehashOnLoginWhenLimitsChanged() async throws {
        let f = try Fixture()
        _ = try await f.accounts(hasher: FakeHasher(version: 1)).register(
            username: "rita", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        #expect(try await f.store.account(usernameKey: "rita")?.passwordHash == "v1:password1")
        _ = try await f.accounts(hasher: FakeHasher(version: 2)).login(
            username: "rita", password: "password1", device: DeviceInput(), context: f.context)
        #expect(try await f.store.account(usernameKey: "rita")?.passwordHash == "v2:password1")
    }

    @Test func accountThrottleWindowUsesTheClock() async throws {
        let f = try Fixture()
        let accounts = f.accounts(throttle: .init(accountFailures: 2, accountWindowMs: 10_000, addressAttempts: 1000, addressWindowMs: 1000))
        _ = try await accounts.register(
            username: "walt", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        for _ in 0..<2 {
            #expect(await failureKind { _ = try await accounts.login(username: "walt", password: "nope", device: DeviceInput(), context: f.context) } == .invalidCredentials)
        }
        #expect(await failureKind { _ = try await accounts.login(username: "walt", password: "password1", device: DeviceInput(), context: f.context) } == .rateLimited)
        f.clock.advance(byMs: 5_000)  // one token back
        _ = try await accounts.login(username: "walt", password: "password1", device: DeviceInput(), context: f.context)
        let audit = try await f.store.auditEntries(user: nil, limit: 100).map(\.action)
        #expect(audit.contains(.loginFailed) && audit.contains(.loginThrottled) && audit.contains(.loginSucceeded))
    }

    @Test func changePasswordEndsOtherDevicesOnly() async throws {
        let f = try Fixture()
        let accounts = f.accounts()
        let a = try await accounts.register(
            username: "uma", password: "password1", email: "", displayName: "", device: DeviceInput(deviceID: "a"), context: f.context)
        let b = try await accounts.login(username: "uma", password: "password1", device: DeviceInput(deviceID: "b"), context: f.context)
        try await accounts.changePassword(a.session, old: "password1", new: "password2", keepOtherDevices: false, context: f.context)
        #expect(f.sessions.ended.withLock { $0.map(\.1) } == [.passwordChanged])
        #expect(f.sessions.ended.withLock { $0.first?.0 } == "devices [\(b.session.deviceRowID)]")
        _ = try await accounts.resume(token: a.token ?? [], signature: [], context: f.context)
        #expect(await failureKind { _ = try await accounts.resume(token: b.token ?? [], signature: [], context: f.context) } == .invalidToken)
    }

    @Test func registrationClosed() async throws {
        let f = try Fixture()
        var limits = DomainLimits()
        limits.registrationOpen = false
        #expect(await failureKind {
            _ = try await f.accounts(limits: limits).register(
                username: "x1y", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        } == .registrationClosed)
        _ = try await f.accounts(limits: limits).adminAddUser(
            username: "x1y", password: "password1", displayName: "", email: "", role: .admin, actor: "test")
    }
}

struct RoomServiceTests {
    func session(_ f: Fixture, _ name: String) async throws -> Session {
        try await f.accounts().register(
            username: name, password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
    }

    @Test func eventsArePublishedAfterCommitInSeqOrder() async throws {
        let f = try Fixture()
        let seen = Mutex<[Int64]>([])
        f.store.setEventObserver { changes in seen.withLock { $0 += changes.events.map(\.seq) } }
        let rooms = f.rooms()
        let alice = try await session(f, "alice")
        let room = try await rooms.createRoom(alice, name: "r", description: "", visibility: .public)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask { _ = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m\(i)", text: "t\(i)")) }
            }
            try await group.waitForAll()
        }
        #expect(seen.withLock { $0 } == Array(1...51))
        // A duplicate publishes nothing.
        let dup = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m0", text: "t0"))
        #expect(dup.duplicate)
        #expect(seen.withLock { $0.count } == 51)
    }

    @Test func ownerHandOverPrefersAdminsThenSeniority() async throws {
        let f = try Fixture()
        let rooms = f.rooms()
        let owner = try await session(f, "owner")
        let first = try await session(f, "first")
        let second = try await session(f, "second")
        let room = try await rooms.createRoom(owner, name: "handover", description: "", visibility: .public)
        _ = try await rooms.join(first, room: room.id)
        f.clock.advance(byMs: 10)
        _ = try await rooms.join(second, room: room.id)
        try await rooms.leave(owner, conversation: room.id)
        let members = try await rooms.members(first, conversation: room.id, after: 0, limit: 10).items
        #expect(members.first { $0.user.id == first.userID }?.role == .owner)
        #expect(members.first { $0.user.id == second.userID }?.role == .member)
        #expect(await failureKind { try await rooms.leave(owner, conversation: room.id) } == .notMember)
    }
}

struct SodiumTests {
    @Test func argon2RoundTripAndRehash() {
        let limits = Sodium.Argon2Limits(opsLimit: 1, memLimit: 8192)
        let hash = Sodium.argon2Hash("pässwörd", limits: limits) ?? ""
        #expect(hash.hasPrefix("$argon2id$"))
        #expect(Sodium.argon2Verify("pässwörd", hash: hash))
        #expect(!Sodium.argon2Verify("password", hash: hash))
        #expect(!Sodium.argon2Verify("x", hash: "not a hash"))
        #expect(!Sodium.argon2NeedsRehash(hash, limits: limits))
        #expect(Sodium.argon2NeedsRehash(hash, limits: Sodium.Argon2Limits(opsLimit: 2, memLimit: 8192)))
    }

    @Test func keyedTokenHash() {
        let a = SodiumTokenCrypto(key: Array(repeating: 1, count: 32))
        let b = SodiumTokenCrypto(key: Array(repeating: 2, count: 32))
        let token = a.newToken()
        #expect(token.count == 32)
        #expect(a.tokenHash(token) == a.tokenHash(token))
        #expect(a.tokenHash(token) != b.tokenHash(token))
        #expect(a.newToken() != token)
    }
}

struct WorkerPoolTests {
    /// At most threads + queueCapacity jobs are accepted at once, even when
    /// they arrive before a thread has picked any up.
    @Test func rejectsBeyondThreadsPlusQueue() async throws {
        let pool = WorkerPool(name: "test", threads: 1, queueCapacity: 1)
        defer { pool.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        async let first = pool.run { () -> Int in
            gate.wait()
            return 1
        }
        async let second = pool.run { () -> Int in 2 }
        try await Task.sleep(for: .milliseconds(100))
        do {
            _ = try await pool.run { () -> Int in 3 }
            Issue.record("a third job was accepted")
        } catch let failure as ChatFailure {
            #expect(failure.kind == .rateLimited && failure.retryAfterMs > 0)
        }
        gate.signal()
        #expect(try await first + second == 3)
        #expect(try await pool.run { () -> Int in 4 } == 4)
    }
}
