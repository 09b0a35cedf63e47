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

/// FakeHasher's answers, each `verify` first waiting for `wait`: held at
/// an `AttemptGate` so that concurrent attempts overlap without a pause, or
/// at a `Pause` (a login still hashing).
struct WaitingHasher: PasswordHasher {
    var version = 1
    let wait: @Sendable () async -> Void
    func hash(_ password: String) async throws -> String { "v\(version):\(password)" }
    func verify(_ password: String, hash: String) async throws -> Bool {
        await wait()
        return hash.hasSuffix(":\(password)")
    }
    func needsRehash(_ hash: String) -> Bool { !hash.hasPrefix("v\(version):") }
}

/// One waiter held until `release()`; `arrival()` returns once it is held.
actor Pause {
    private var held: CheckedContinuation<Void, Never>?
    private var watcher: CheckedContinuation<Void, Never>?
    private var released = false

    func reached() async {
        guard !released else { return }
        await withCheckedContinuation { continuation in
            held = continuation
            watcher?.resume()
            watcher = nil
        }
    }

    func arrival() async {
        guard held == nil else { return }
        await withCheckedContinuation { watcher = $0 }
    }

    func release() {
        released = true
        held?.resume()
        held = nil
    }
}

/// Holds the attempts that reach the hasher until each of the `attempts`
/// has either reached it or been answered without it: every hash is then
/// still in flight while the others are decided.
actor AttemptGate {
    private let attempts: Int
    private var arrived = 0
    private var held: [CheckedContinuation<Void, Never>] = []

    init(attempts: Int) { self.attempts = attempts }

    func reachedHasher() async {
        arrived += 1
        guard arrived < attempts else { return open() }
        await withCheckedContinuation { held.append($0) }
    }

    /// An attempt that was answered (counted only while the gate is closed:
    /// the held ones finish after it opens).
    func answered() {
        arrived += 1
        if arrived >= attempts { open() }
    }

    private func open() {
        for continuation in held { continuation.resume() }
        held = []
    }
}

final class RecordingSessions: SessionDirectory {
    let ended = Mutex<[(String, SessionEndReason)]>([])
    func endSessions(devices: [DeviceRowID], reason: SessionEndReason, except: UInt64?) -> Int {
        ended.withLock { $0.append(("devices \(devices.sorted())", reason)) }
        return devices.count
    }
    func endSessions(user: UserID, reason: SessionEndReason) -> Int {
        ended.withLock { $0.append(("user \(user)", reason)) }
        return 1
    }
}

struct Fixture {
    let store: any ObservableStore
    let clock = ManualClock()
    let sessions = RecordingSessions()
    let crypto = SodiumTokenCrypto(key: Array(repeating: 7, count: 32))
    let context = ConnectionContext(address: "10.0.0.1", nonce: Array(repeating: 1, count: 32))

    init(store: SQLiteStore? = nil) throws { self.store = try store ?? SQLiteStore.inMemory() }

    init(existing store: any ObservableStore) { self.store = store }

    /// A fixture on a new, empty store of `backend`.
    init(_ backend: StoreBackend) async throws { self.store = try await backend.makeStore() }

    func accounts(hasher: some PasswordHasher = FakeHasher(), limits: DomainLimits = DomainLimits(), throttle: AccountService.Throttle = .init())
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
    @Test(arguments: StoreBackend.allCases) func tokensExpireByTheInjectedClock(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
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

    /// Resume records the device's last-seen time and address only from
    /// another address or a minute after the record (§4.3): a storm of
    /// reconnects writes nothing per device.
    @Test(arguments: StoreBackend.allCases) func resumeRecordsLastSeenFromANewAddressOrAMinuteLater(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = f.accounts()
        let auth = try await accounts.register(
            username: "lena", password: "password1", email: "", displayName: "", device: DeviceInput(deviceID: "d1"),
            context: f.context)
        let token = try #require(auth.token)
        func seen() async throws -> (Millis, String) {
            let device = try #require(try await f.store.device(user: auth.session.userID, deviceID: "d1"))
            return (device.lastSeenAt, device.lastAddress)
        }
        let registered = f.clock.nowMs()
        #expect(try await seen() == (registered, "10.0.0.1"))
        f.clock.advance(byMs: 59_999)
        _ = try await accounts.resume(token: token, signature: [], context: f.context)
        #expect(try await seen() == (registered, "10.0.0.1"))
        f.clock.advance(byMs: 1)
        _ = try await accounts.resume(token: token, signature: [], context: f.context)
        #expect(try await seen() == (registered + 60_000, "10.0.0.1"))
        // Another address is recorded at once.
        f.clock.advance(byMs: 10)
        let elsewhere = ConnectionContext(address: "10.0.0.2", nonce: Array(repeating: 1, count: 32))
        _ = try await accounts.resume(token: token, signature: [], context: elsewhere)
        #expect(try await seen() == (registered + 60_010, "10.0.0.2"))
        // Login always records.
        f.clock.advance(byMs: 10)
        _ = try await accounts.login(username: "lena", password: "password1", device: DeviceInput(deviceID: "d1"), context: elsewhere)
        #expect(try await seen() == (registered + 60_020, "10.0.0.2"))
    }

    @Test(arguments: StoreBackend.allCases) func rehashOnLoginWhenLimitsChanged(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        _ = try await f.accounts(hasher: FakeHasher(version: 1)).register(
            username: "rita", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        #expect(try await f.store.account(usernameKey: "rita")?.passwordHash == "v1:password1")
        _ = try await f.accounts(hasher: FakeHasher(version: 2)).login(
            username: "rita", password: "password1", device: DeviceInput(), context: f.context)
        #expect(try await f.store.account(usernameKey: "rita")?.passwordHash == "v2:password1")
    }

    @Test(arguments: StoreBackend.allCases) func accountThrottleWindowUsesTheClock(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
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

    /// 20 concurrent wrong passwords for one account from 20 addresses: the
    /// account's limit (5) is charged before hashing, so 5 are checked and 15
    /// refused. When the limit was checked before and charged after the hash,
    /// all 20 were checked.
    @Test(arguments: StoreBackend.allCases) func concurrentFailedLoginsCannotOvertakeTheAccountLimit(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let throttle = AccountService.Throttle(accountFailures: 5, accountWindowMs: 300_000, addressAttempts: 1000, addressWindowMs: 1000)
        _ = try await f.accounts().register(
            username: "vic", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        let gate = AttemptGate(attempts: 20)
        let accounts = AccountService(
            store: f.store, hasher: WaitingHasher { await gate.reachedHasher() }, crypto: f.crypto, clock: f.clock, sessions: f.sessions, limits: DomainLimits(),
            throttle: throttle)
        let kinds = await withTaskGroup(of: ChatFailure.Kind?.self) { group in
            for i in 0..<20 {
                group.addTask {
                    let context = ConnectionContext(address: "10.0.1.\(i)", nonce: Array(repeating: 1, count: 32))
                    let kind = await failureKind {
                        _ = try await accounts.login(username: "vic", password: "wrong-\(i)", device: DeviceInput(), context: context)
                    }
                    await gate.answered()
                    return kind
                }
            }
            var all: [ChatFailure.Kind?] = []
            for await kind in group { all.append(kind) }
            return all
        }
        #expect(kinds.filter { $0 == .invalidCredentials }.count == 5)
        #expect(kinds.filter { $0 == .rateLimited }.count == 15)
    }

    @Test(arguments: StoreBackend.allCases) func concurrentWrongOldPasswordsCannotOvertakeTheAccountLimit(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let throttle = AccountService.Throttle(accountFailures: 5, accountWindowMs: 300_000, addressAttempts: 1000, addressWindowMs: 1000)
        let auth = try await f.accounts().register(
            username: "val", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        let gate = AttemptGate(attempts: 20)
        let accounts = AccountService(
            store: f.store, hasher: WaitingHasher { await gate.reachedHasher() }, crypto: f.crypto, clock: f.clock, sessions: f.sessions, limits: DomainLimits(),
            throttle: throttle)
        let kinds = await withTaskGroup(of: ChatFailure.Kind?.self) { group in
            for i in 0..<20 {
                group.addTask {
                    let kind = await failureKind {
                        try await accounts.changePassword(
                            auth.session, old: "wrong-\(i)", new: "password2", keepOtherDevices: true, context: f.context)
                    }
                    await gate.answered()
                    return kind
                }
            }
            var all: [ChatFailure.Kind?] = []
            for await kind in group { all.append(kind) }
            return all
        }
        #expect(kinds.filter { $0 == .invalidCredentials }.count == 5)
        #expect(kinds.filter { $0 == .rateLimited }.count == 15)
    }

    /// Past the per-address limit, a flood of logins writes one
    /// login_throttled row per address and minute, and the next row counts
    /// the ones not written. Old rows go with retention.audit_days.
    @Test(arguments: StoreBackend.allCases) func throttledLoginsAreAuditedInAggregateAndPruned(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let throttle = AccountService.Throttle(accountFailures: 1000, accountWindowMs: 1000, addressAttempts: 3, addressWindowMs: 60_000)
        let accounts = f.accounts(throttle: throttle)
        for _ in 0..<50 {
            _ = await failureKind { _ = try await accounts.login(username: "nobody", password: "x", device: DeviceInput(), context: f.context) }
        }
        var audit = try await f.store.auditEntries(user: nil, limit: 1000)
        #expect(audit.filter { $0.action == .loginFailed }.count == 3)
        #expect(audit.filter { $0.action == .loginThrottled }.count == 1)
        f.clock.advance(byMs: 60_000)
        for _ in 0..<10 {
            _ = await failureKind { _ = try await accounts.login(username: "nobody", password: "x", device: DeviceInput(), context: f.context) }
        }
        audit = try await f.store.auditEntries(user: nil, limit: 1000)
        let throttled = audit.filter { $0.action == .loginThrottled }
        #expect(throttled.count == 2)
        #expect(throttled.contains { $0.detail.hasSuffix("not_recorded_since_last=46") })

        var limits = DomainLimits()
        limits.auditRetentionDays = 1
        accounts.reconfigure(limits: limits, throttle: throttle)
        #expect(try await accounts.pruneAudit() == 0)
        f.clock.advance(byMs: 24 * 3600 * 1000 + 1)
        #expect(try await accounts.pruneAudit() == audit.count)
        #expect(try await f.store.auditEntries(user: nil, limit: 1000).isEmpty)
    }

    @Test(arguments: StoreBackend.allCases) func changePasswordEndsOtherDevicesOnly(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = f.accounts()
        let a = try await accounts.register(
            username: "uma", password: "password1", email: "", displayName: "", device: DeviceInput(deviceID: "a"), context: f.context)
        let b = try await accounts.login(username: "uma", password: "password1", device: DeviceInput(deviceID: "b"), context: f.context)
        f.sessions.ended.withLock { $0 = [] }  // the logins' own endings (a device bound anew)
        try await accounts.changePassword(a.session, old: "password1", new: "password2", keepOtherDevices: false, context: f.context)
        #expect(f.sessions.ended.withLock { $0.map(\.1) } == [.passwordChanged])
        #expect(f.sessions.ended.withLock { $0.first?.0 } == "devices [\(b.session.deviceRowID)]")
        _ = try await accounts.resume(token: a.token ?? [], signature: [], context: f.context)
        #expect(await failureKind { _ = try await accounts.resume(token: b.token ?? [], signature: [], context: f.context) } == .invalidToken)
        // A RefreshToken of b's session that arrives after the change issues
        // nothing: it used to write a new token over the ended one.
        #expect(await failureKind { _ = try await accounts.refreshToken(b.session, context: f.context) } == .invalidToken)
        #expect(await failureKind { _ = try await accounts.resume(token: b.token ?? [], signature: [], context: f.context) } == .invalidToken)
        // So after a logout; and a refresh replaces only the session's own token.
        let c = try await accounts.login(username: "uma", password: "password2", device: DeviceInput(deviceID: "c"), context: f.context)
        let c2 = try await accounts.refreshToken(c.session, context: f.context)
        #expect(await failureKind { _ = try await accounts.refreshToken(c.session, context: f.context) } == .invalidToken)
        try await accounts.logout(c2.session, context: f.context)
        #expect(await failureKind { _ = try await accounts.refreshToken(c2.session, context: f.context) } == .invalidToken)
    }

    /// A wrong old password is audited as a failed login; a change whose
    /// verified hash was replaced meanwhile writes nothing.
    @Test(arguments: StoreBackend.allCases) func changePasswordAuditsGuessesAndChangesOnlyWhatItVerified(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = f.accounts()
        let a = try await accounts.register(
            username: "vera", password: "password1", email: "", displayName: "", device: DeviceInput(deviceID: "a"), context: f.context)
        #expect(
            await failureKind {
                try await accounts.changePassword(a.session, old: "guess", new: "password2", keepOtherDevices: true, context: f.context)
            } == .invalidCredentials)
        let rows = try await f.store.auditRecords(AuditFilter(action: .loginFailed, limit: 10)).items
        #expect(rows.count == 1 && rows.first?.detail == "change_password: old password wrong" && rows.first?.userID == a.session.userID)
        let stale = try #require(try await f.store.account(id: a.session.userID)).passwordHash
        _ = try await f.store.changePassword(user: a.session.userID, hash: "other", keepTokens: true, except: nil)
        #expect(
            await failureKind {
                _ = try await f.store.changePassword(user: a.session.userID, hash: "mine", keepTokens: true, except: nil, ifCurrent: stale)
            } == .invalidCredentials)
        #expect(try await f.store.account(id: a.session.userID)?.passwordHash == "other")
    }

    /// A login that verified the old password while it was being changed
    /// binds no device: the change ends every other session, and that one
    /// would have outlived it. Its rehash (new hashing settings) does not
    /// put the old password back either.
    @Test(arguments: StoreBackend.allCases) func aLoginHashingWhileThePasswordChangesBindsNothing(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let owner = try await f.accounts().register(
            username: "vic", password: "password1", email: "", displayName: "", device: DeviceInput(deviceID: "own"), context: f.context)
        for version in [1, 2] {
            let pause = Pause()
            let intruder = f.accounts(hasher: WaitingHasher(version: version) { await pause.reached() })
            let login = Task {
                await failureKind {
                    _ = try await intruder.login(
                        username: "vic", password: "password\(version)", device: DeviceInput(deviceID: "intruder\(version)"),
                        context: f.context)
                }
            }
            await pause.arrival()
            try await f.accounts().changePassword(
                owner.session, old: "password\(version)", new: "password\(version + 1)", keepOtherDevices: false, context: f.context)
            await pause.release()
            #expect(await login.value == .invalidCredentials)
            let devices = try await f.store.devices(user: owner.session.userID, includeRevoked: true, limit: 100)
            #expect(devices.map(\.deviceID) == ["own"])
            #expect(try await f.store.account(usernameKey: "vic")?.passwordHash == "v1:password\(version + 1)")
        }
    }

    @Test(arguments: StoreBackend.allCases) func registrationClosed(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
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

    @Test(arguments: StoreBackend.allCases) func eventsArePublishedAfterCommitInSeqOrder(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let published = PublishedSeqs()
        f.store.setEventObserver { batch in published.seqs.withLock { $0 += batch.flatMap(\.events).map(\.seq) } }
        let rooms = f.rooms()
        let alice = try await session(f, "alice")
        let room = try await rooms.createRoom(alice, name: "r", description: "", visibility: .public)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    let sent = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m\(i)", text: "t\(i)"))
                    // Answered only once its batch was published (on SQLite the
                    // publishing may run beside the writer's next batch).
                    #expect(published.seqs.withLock { $0.contains(sent.event.seq) })
                }
            }
            try await group.waitForAll()
        }
        #expect(published.seqs.withLock { $0 } == Array(1...51))
        // A duplicate publishes nothing.
        let dup = try await rooms.send(alice, conversation: room.id, toUser: 0, .init(clientMsgID: "m0", text: "t0"))
        #expect(dup.duplicate)
        #expect(published.seqs.withLock { $0.count } == 51)
    }

    /// A block stops a direct chat's messages both ways (the blocked user's
    /// and the blocker's), not a third user's direct chats, and not rooms;
    /// unblocking lets both write again. Each send's sequence number
    /// follows the last.
    @Test(arguments: StoreBackend.allCases) func aBlockStopsDirectMessagesBothWays(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let rooms = f.rooms()
        let friends = FriendService(store: f.store, clock: f.clock)
        let alice = try await session(f, "alice")
        let bob = try await session(f, "bob")
        let carol = try await session(f, "carol")
        let first = try await rooms.send(alice, conversation: 0, toUser: bob.userID, .init(clientMsgID: "a1", text: "hi"))
        let direct = first.event.conversationID
        let room = try await rooms.createRoom(alice, name: "shared", description: "", visibility: .public)
        _ = try await rooms.join(bob, room: room.id)
        try await friends.block(bob, userID: alice.userID, username: "")
        for (sender, id) in [(alice, "a2"), (bob, "b1")] {
            #expect(await failureKind {
                _ = try await rooms.send(sender, conversation: direct, toUser: 0, .init(clientMsgID: id, text: "blocked?"))
            } == .forbidden)
        }
        // By to_user_id too; but a retry of a message stored before the block
        // gets it back as a duplicate (§5.9), as by conversation_id.
        #expect(await failureKind {
            _ = try await rooms.send(alice, conversation: 0, toUser: bob.userID, .init(clientMsgID: "a2", text: "blocked?"))
        } == .forbidden)
        let retry = try await rooms.send(alice, conversation: 0, toUser: bob.userID, .init(clientMsgID: "a1", text: "hi"))
        #expect(retry.duplicate && retry.event.seq == first.event.seq)
        let toCarol = try await rooms.send(alice, conversation: 0, toUser: carol.userID, .init(clientMsgID: "a3", text: "hi carol"))
        #expect(toCarol.event.text == "hi carol" && toCarol.event.conversationID != direct)
        #expect(try await rooms.send(bob, conversation: room.id, toUser: 0, .init(clientMsgID: "b2", text: "in the room")).event.seq > 0)
        try await friends.unblock(bob, userID: alice.userID, username: "")
        let again = try await rooms.send(bob, conversation: direct, toUser: 0, .init(clientMsgID: "b3", text: "unblocked"))
        #expect(again.event.seq == first.event.seq + 1)
    }

    @Test(arguments: StoreBackend.allCases) func ownerHandOverPrefersAdminsThenSeniority(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
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

/// Seqs handed to a store's event observer, shared with the tasks that check them.
final class PublishedSeqs: Sendable {
    let seqs = Mutex<[Int64]>([])
}
