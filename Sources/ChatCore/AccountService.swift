import Foundation
import Synchronization

/// Accounts, devices and tokens: the rules of DESIGN §6 and spec/PROTOCOL.md §4.
public final class AccountService: Sendable {
    let store: any Store
    let hasher: any PasswordHasher
    let crypto: any TokenCrypto
    let clock: any WallClock
    let sessions: any SessionDirectory
    private let state: Mutex<State>

    /// Throttling settings (spec/PROTOCOL.md §4.6, config `[security]`).
    public struct Throttle: Sendable, Equatable {
        public var accountFailures: Int
        public var accountWindowMs: Millis
        public var addressAttempts: Int
        public var addressWindowMs: Millis

        public init(
            accountFailures: Int = Int(Setting.securityLoginFailuresPerAccount.defaultValue),
            accountWindowMs: Millis = Setting.securityLoginFailureWindowSeconds.defaultValue * 1000,
            addressAttempts: Int = Int(Setting.securityLoginsPerAddress.defaultValue),
            addressWindowMs: Millis = Setting.securityLoginAddressWindowSeconds.defaultValue * 1000
        ) {
            self.accountFailures = accountFailures
            self.accountWindowMs = accountWindowMs
            self.addressAttempts = addressAttempts
            self.addressWindowMs = addressWindowMs
        }
    }

    private struct State: Sendable {
        var limits: DomainLimits
        var accountFailures: RateLimiter
        var addressAttempts: RateLimiter
        /// One `login_throttled` audit row per address and minute, with the
        /// count of those not written (a throttled flood must not flood the table).
        var throttledAudit = AuditAggregator(windowMs: AccountService.throttledAuditWindowMs)
        /// A hash checked when the username is unknown, so that timing does not
        /// tell which usernames exist.
        var dummyHash: String?
        /// Rooms every new account joins (config `[rooms] default`).
        var defaultRooms: [ConversationID] = []
    }

    public init(
        store: any Store, hasher: any PasswordHasher, crypto: any TokenCrypto, clock: any WallClock,
        sessions: any SessionDirectory, limits: DomainLimits, throttle: Throttle
    ) {
        self.store = store
        self.hasher = hasher
        self.crypto = crypto
        self.clock = clock
        self.sessions = sessions
        state = Mutex(
            State(
                limits: limits,
                accountFailures: RateLimiter(capacity: throttle.accountFailures, windowMs: throttle.accountWindowMs),
                addressAttempts: RateLimiter(capacity: throttle.addressAttempts, windowMs: throttle.addressWindowMs),
                dummyHash: nil))
    }

    public var limits: DomainLimits { state.withLock { $0.limits } }

    /// Audit rows one prune transaction removes at most.
    public static let auditPruneBatch = 5000

    /// Removes audit rows older than `limits.auditRetentionDays` (0: none), in
    /// bounded transactions; returns how many.
    public func pruneAudit() async throws -> Int {
        let days = limits.auditRetentionDays
        guard days > 0 else { return 0 }
        let before = clock.nowMs() - Millis(days) * 24 * 3600 * 1000
        var total = 0
        while true {
            let removed = try await store.pruneAudit(before: before, batch: Self.auditPruneBatch)
            total += removed
            if removed < Self.auditPruneBatch { return total }
        }
    }

    /// Throttled logins from one address are audited once per this window.
    public static let throttledAuditWindowMs: Millis = 60_000

    /// Sets the rooms new accounts join.
    public func setDefaultRooms(_ rooms: [ConversationID]) { state.withLock { $0.defaultRooms = rooms } }

    /// Applies new limits and throttle rates (config reload).
    public func reconfigure(limits: DomainLimits, throttle: Throttle) {
        state.withLock {
            $0.limits = limits
            $0.accountFailures.reconfigure(capacity: throttle.accountFailures, windowMs: throttle.accountWindowMs)
            $0.addressAttempts.reconfigure(capacity: throttle.addressAttempts, windowMs: throttle.addressWindowMs)
        }
    }

    // MARK: Register, login, resume

    /// Register (§4.3). While registration is closed, `registrationToken`
    /// (64 hex digits from chatctl registration-token create) lets it
    /// through; it is ignored while registration is open.
    public func register(
        username: String, password: String, email: String, displayName: String, device: DeviceInput,
        registrationToken: String = "", context: ConnectionContext
    ) async throws -> AuthResult {
        let limits = self.limits
        let tokenHash: [UInt8]?
        if limits.registrationOpen {
            tokenHash = nil
        } else {
            guard !registrationToken.isEmpty else {
                throw ChatFailure(.registrationClosed, "registration is closed on this server")
            }
            tokenHash = crypto.tokenHash(try GrantPolicy.registrationToken(registrationToken))
        }
        let key = try Validate.username(username)
        try Validate.password(password, limits: limits)
        try Validate.email(email)
        let displayName = try Validate.name(displayName, field: "display_name", max: limits.maxDisplayNameBytes)
        try validate(device)
        try throttleAddress(context.address)
        if let tokenHash {
            // Checked before the password is hashed, so a bad token costs no
            // Argon2 work; checked again, and spent, with the account.
            let now = clock.nowMs()
            _ = try await store.transaction { tx in
                try GrantPolicy.redeemable(tx.grant(tokenHash: tokenHash), kind: .registration, now: now)
            }
        }

        let hash = try await hasher.hash(password)
        let now = clock.nowMs()
        var new = NewUser(
            username: username, usernameKey: key, email: email,
            displayName: displayName.isEmpty ? username : displayName, passwordHash: hash, role: .user, now: now)
        new.joinRooms = state.withLock { $0.defaultRooms }
        // The account, the token's use and the device in one commit: a
        // failure leaves no account behind whose retry would be told the
        // username is taken (and a single-use token spent).
        let (token, binding) = makeBinding(device, context: context)
        let user = new
        let (account, grant, bound) = try await store.transaction { tx in
            let (created, grant): (UserAccount, Grant?) =
                if let tokenHash { try tx.createUser(user, registrationTokenHash: tokenHash) } else { (try tx.createUser(user), nil) }
            return (created, grant, try tx.bindDevice(user: created.user.id, binding))
        }
        // The audit rows after it, so that storage refusing writes between the
        // two does not turn the registration done into an error.
        if let grant {
            try await auditCommitted(
                .registrationTokenUsed, actor: "user:\(account.user.id)", user: account.user.id, address: context.address,
                detail: "registration_token=\(grant.id) uses=\(grant.uses + 1)/\(grant.maxUses)", at: now)
        }
        try await auditCommitted(.register, actor: "user:\(account.user.id)", user: account.user.id, address: context.address, at: now)
        return try await authenticated(account, bound, token: token, device: device, context: context)
    }

    public func login(
        username: String, password: String, device: DeviceInput, context: ConnectionContext
    ) async throws -> AuthResult {
        let limits = self.limits
        if username.utf8.count > WireLimits.usernameMaxBytes {
            throw ChatFailure.tooLong("username", max: WireLimits.usernameMaxBytes)
        }
        if password.utf8.count > limits.maxPasswordBytes {
            throw ChatFailure.tooLong("password", max: limits.maxPasswordBytes)
        }
        try validate(device)
        let key = Validate.usernameKey(username)
        let now = clock.nowMs()

        // Both throttles are charged before the hash is checked, atomically: a
        // burst of concurrent attempts cannot all pass a check made before any
        // of them is recorded. A success gives the account's token back.
        do {
            try throttleAddress(context.address)
            let accountCharge = state.withLock { $0.accountFailures.consume(key, now: now) }
            if case .limited(let retry) = accountCharge {
                throw ChatFailure.rateLimited(retryAfterMs: retry, "too many failed logins for this account")
            }
        } catch let failure as ChatFailure {
            if case .write(let suppressed) = state.withLock({ $0.throttledAudit.record(context.address, now: now) }) {
                let detail = suppressed > 0 ? "username=\(key) not_recorded_since_last=\(suppressed)" : "username=\(key)"
                try await audit(.loginThrottled, actor: "anonymous", user: nil, address: context.address, detail: detail, at: now)
            }
            throw failure
        }

        guard let account = try await store.account(usernameKey: key) else {
            _ = try await hasher.verify(password, hash: try await dummyHash())
            try await recordFailedLogin(key: key, userID: nil, context: context)
        }
        guard try await hasher.verify(password, hash: account.passwordHash) else {
            try await recordFailedLogin(key: key, userID: account.user.id, context: context)
        }
        if account.disabled {
            try await audit(.loginFailed, actor: "user:\(account.user.id)", user: account.user.id, address: context.address, detail: "account disabled", at: now)
            throw ChatFailure(.accountDisabled, "this account is disabled")
        }
        var verified = account.passwordHash
        if hasher.needsRehash(verified) {
            let fresh = try await hasher.hash(password)
            if try await store.rehashPassword(user: account.user.id, from: verified, to: fresh) { verified = fresh }
        }
        state.withLock { $0.accountFailures.reset(key) }
        let bound = try await bind(account: account, verifiedHash: verified, device: device, context: context)
        try await auditCommitted(.loginSucceeded, actor: "user:\(account.user.id)", user: account.user.id, address: context.address, at: now)
        return bound
    }

    public func resume(token: [UInt8], signature: [UInt8], context: ConnectionContext) async throws -> AuthResult {
        guard token.count == WireLimits.tokenBytes else {
            throw ChatFailure(.invalidToken, "token must be \(WireLimits.tokenBytes) bytes")
        }
        let now = clock.nowMs()
        guard let (device, account) = try await store.device(tokenHash: crypto.tokenHash(token)) else {
            throw ChatFailure(.invalidToken, "unknown or ended token")
        }
        func fail(_ failure: ChatFailure) async throws -> Never {
            // Storage refusing writes (§9: Resume keeps working): the record
            // can go, the real answer cannot; a revoked or expired client
            // told `unavailable` would retry instead of logging in.
            try await auditCommitted(.resumeFailed, actor: "user:\(account.user.id)", user: account.user.id, address: context.address, detail: "device=\(device.deviceID) \(failure.kind)", at: now)
            throw failure
        }
        if device.isRevoked { try await fail(ChatFailure(.deviceRevoked, "this device was revoked")) }
        guard let expires = device.tokenExpiresAt else { throw ChatFailure(.invalidToken, "unknown or ended token") }
        if expires <= now { try await fail(ChatFailure(.tokenExpired, "token expired; log in again")) }
        if account.disabled { try await fail(ChatFailure(.accountDisabled, "this account is disabled")) }
        if let key = device.publicKey {
            let message = ResumeSignature.message(nonce: context.nonce, token: token)
            guard signature.count == WireLimits.signatureBytes,
                crypto.verifySignature(signature, message: message, publicKey: key)
            else {
                try await fail(ChatFailure(.badSignature, "this device requires a valid signature over the hello nonce"))
            }
        }
        do {
            if LastSeenPolicy.resumeRecords(device, now: now, address: context.address) {
                try await store.touchDevice(device.rowID, now: now, address: context.address)
            }
        } catch let failure as ChatFailure where failure.kind == .unavailable {
            // Storage refusing writes (disk nearly full): the device's last
            // seen time can wait; the session cannot.
        }
        let session = Session(
            user: account.user, deviceRowID: device.rowID, deviceID: device.deviceID, tokenExpiresAt: expires,
            tokenHash: crypto.tokenHash(token))
        return AuthResult(session: session, token: nil)
    }

    // MARK: Authenticated operations

    public func logout(_ session: Session, context: ConnectionContext) async throws {
        try await store.setToken(device: session.deviceRowID, hash: nil, expiresAt: nil)
        sessions.endSessions(devices: [session.deviceRowID], reason: .tokenEnded, except: context.connectionID)
        try await audit(.logout, actor: "user:\(session.userID)", user: session.userID, address: context.address, detail: "device=\(session.deviceID)")
    }

    /// Replaces the session's own token, and only while the device still
    /// holds it: a token that a password change, a logout or a re-login
    /// ended while the request was on its way stays ended (§4.3). Writing
    /// by device alone handed a stolen session a fresh token just after the
    /// owner's password change had ended it.
    public func refreshToken(_ session: Session, context: ConnectionContext) async throws -> AuthResult {
        let token = crypto.newToken()
        let hash = crypto.tokenHash(token)
        let expires = clock.nowMs() + limits.tokenTTLMs
        guard try await store.replaceToken(device: session.deviceRowID, from: session.tokenHash, to: hash, expiresAt: expires) else {
            throw ChatFailure(.invalidToken, "this session's token has ended (logout, password change or a new login of the device)")
        }
        sessions.endSessions(devices: [session.deviceRowID], reason: .tokenEnded, except: context.connectionID)
        try await auditCommitted(.tokenRefreshed, actor: "user:\(session.userID)", user: session.userID, address: context.address, detail: "device=\(session.deviceID)")
        var fresh = session
        fresh.tokenExpiresAt = expires
        fresh.tokenHash = hash
        return AuthResult(session: fresh, token: token)
    }

    public func me(_ session: Session) async throws -> UserAccount {
        guard let account = try await store.account(id: session.userID) else {
            throw ChatFailure(.notFound, "user not found")
        }
        return account
    }

    public func updateProfile(_ session: Session, _ change: ProfileChange) async throws -> User {
        let limits = self.limits
        var change = change
        if let name = change.displayName {
            change.displayName = try Validate.name(name, field: "display_name", max: limits.maxDisplayNameBytes)
        }
        if let url = change.avatarURL { try Validate.avatarURL(url, limits: limits) }
        if let status = change.statusText {
            try Validate.text(status, field: "status_text", max: limits.maxStatusTextBytes)
        }
        let (user, now) = (session.userID, clock.nowMs())
        return try await store.transaction { [change] tx in try tx.updateProfile(user: user, change, now: now) }
    }

    public func changePassword(
        _ session: Session, old: String, new: String, keepOtherDevices: Bool, context: ConnectionContext
    ) async throws {
        let limits = self.limits
        if old.utf8.count > limits.maxPasswordBytes { throw ChatFailure.tooLong("old_password", max: limits.maxPasswordBytes) }
        try Validate.password(new, limits: limits, field: "new_password")
        let account = try await me(session)
        let key = Validate.usernameKey(account.user.username)
        let now = clock.nowMs()
        // Charged before the hash is checked (see login).
        if case .limited(let retry) = state.withLock({ $0.accountFailures.consume(key, now: now) }) {
            throw ChatFailure.rateLimited(retryAfterMs: retry, "too many wrong passwords for this account")
        }
        guard try await hasher.verify(old, hash: account.passwordHash) else {
            // A guess through a live session is a failed login as much as one at Login.
            try await audit(
                .loginFailed, actor: "user:\(session.userID)", user: session.userID, address: context.address,
                detail: "change_password: old password wrong", at: now)
            throw ChatFailure(.invalidCredentials, "old password is wrong")
        }
        state.withLock { $0.accountFailures.reset(key) }
        // Only over the hash just verified: a change committed meanwhile
        // (another session, an operator) is not overwritten by one that
        // checked the password it replaced.
        let ended = try await store.changePassword(
            user: session.userID, hash: try await hasher.hash(new), keepTokens: keepOtherDevices, except: session.deviceRowID,
            ifCurrent: account.passwordHash)
        if !keepOtherDevices { sessions.endSessions(devices: ended, reason: .passwordChanged) }
        try await auditCommitted(.passwordChanged, actor: "user:\(session.userID)", user: session.userID, address: context.address, detail: "ended_devices=\(ended.count)")
    }

    public func devices(_ session: Session) async throws -> [Device] {
        try await store.devices(user: session.userID, includeRevoked: true, limit: 1000)
    }

    public func revokeDevice(_ session: Session, deviceID: String, context: ConnectionContext) async throws {
        guard let device = try await store.device(user: session.userID, deviceID: deviceID) else {
            throw ChatFailure(.notFound, "no such device")
        }
        try await revoke(device, actor: "user:\(session.userID)", action: .deviceRevoked, address: context.address)
    }

    // MARK: Operator actions (control socket)

    public func adminAddUser(
        username: String, password: String, displayName: String, email: String, role: ServerRole, actor: String
    ) async throws -> UserAccount {
        let limits = self.limits
        let key = try Validate.username(username)
        try Validate.password(password, limits: limits)
        try Validate.email(email)
        let displayName = try Validate.name(displayName, field: "display_name", max: limits.maxDisplayNameBytes)
        let now = clock.nowMs()
        var new = NewUser(
            username: username, usernameKey: key, email: email,
            displayName: displayName.isEmpty ? username : displayName,
            passwordHash: try await hasher.hash(password), role: role, now: now)
        new.joinRooms = state.withLock { $0.defaultRooms }
        let account = try await store.createUser(new)
        try await audit(.adminUserAdd, actor: actor, user: account.user.id, address: "", detail: "role=\(role.rawValue)", at: now)
        return account
    }

    public func adminSetDisabled(user: UserID, disabled: Bool, actor: String) async throws {
        try await store.setDisabled(user: user, disabled)
        if disabled { sessions.endSessions(user: user, reason: .accountDisabled) }
        try await audit(disabled ? .adminUserDisable : .adminUserEnable, actor: actor, user: user, address: "")
    }

    public func adminSetPassword(user: UserID, password: String, keepSessions: Bool, actor: String) async throws {
        try Validate.password(password, limits: limits)
        let ended = try await store.changePassword(
            user: user, hash: try await hasher.hash(password), keepTokens: keepSessions, except: nil)
        if !keepSessions { sessions.endSessions(devices: ended, reason: .passwordChanged) }
        try await auditCommitted(.adminUserPasswd, actor: actor, user: user, address: "", detail: "ended_devices=\(ended.count)")
    }

    public func adminSetRole(user: UserID, role: ServerRole, actor: String) async throws {
        try await store.setRole(user: user, role)
        try await audit(.adminUserSetRole, actor: actor, user: user, address: "", detail: "role=\(role.rawValue)")
    }

    public func adminRevokeDevice(_ device: Device, actor: String) async throws -> Int {
        try await revoke(device, actor: actor, action: .adminDeviceRevoke, address: "")
    }

    // MARK: Helpers

    @discardableResult
    private func revoke(_ device: Device, actor: String, action: AuditEntry.Action, address: String) async throws -> Int {
        let (row, now) = (device.rowID, clock.nowMs())
        try await store.transaction { tx in try tx.revokeDevice(row, now: now) }
        let closed = sessions.endSessions(devices: [device.rowID], reason: .deviceRevoked)
        try await audit(action, actor: actor, user: device.userID, address: address, detail: "device=\(device.deviceID) closed=\(closed)")
        return closed
    }

    func audit(
        _ action: AuditEntry.Action, actor: String, user: UserID?, address: String, detail: String = "", at: Millis? = nil
    ) async throws {
        try await store.audit(
            AuditEntry(at: at ?? clock.nowMs(), action: action, actor: actor, userID: user, address: address, detail: detail))
    }

    /// The audit row of a change already committed: storage refusing writes
    /// (`unavailable`) drops the row rather than answer an error for what
    /// was done (the client would retry what cannot be done twice).
    func auditCommitted(
        _ action: AuditEntry.Action, actor: String, user: UserID?, address: String, detail: String = "", at: Millis? = nil
    ) async throws {
        do {
            try await audit(action, actor: actor, user: user, address: address, detail: detail, at: at)
        } catch let refused as ChatFailure where refused.kind == .unavailable {}
    }

    private func validate(_ device: DeviceInput) throws(ChatFailure) {
        if !device.deviceID.isEmpty { try Validate.deviceID(device.deviceID) }
        try Validate.text(device.name, field: "device.name", max: WireLimits.maxDeviceNameBytes)
        try Validate.text(device.platform, field: "device.platform", max: WireLimits.maxPlatformBytes)
        try Validate.publicKey(device.publicKey)
    }

    /// What the per-address throttle counts under: an IPv4 address as it
    /// is, an IPv6 address by its /64, the block one subscriber is usually
    /// given (keyed by the whole address, one /64 had 2^64 buckets of
    /// attempts); an IPv4-mapped IPv6 address as its IPv4 address.
    public static func throttleKey(address: String) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let host = address.split(separator: "%").first.map(String.init) ?? address
        guard host.contains(":"), host.withCString({ inet_pton(AF_INET6, $0, &bytes) }) == 1 else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    private func throttleAddress(_ address: String) throws(ChatFailure) {
        let now = clock.nowMs()
        let decision = state.withLock { $0.addressAttempts.consume(Self.throttleKey(address: address), now: now) }
        if case .limited(let retry) = decision {
            throw ChatFailure.rateLimited(retryAfterMs: retry, "too many login attempts from this address")
        }
    }

    /// The attempt was already charged to the account's throttle.
    private func recordFailedLogin(key: String, userID: UserID?, context: ConnectionContext) async throws -> Never {
        let now = clock.nowMs()
        try await audit(.loginFailed, actor: "anonymous", user: userID, address: context.address, detail: "username=\(key)", at: now)
        throw ChatFailure(.invalidCredentials, "unknown username or wrong password")
    }

    private func dummyHash() async throws -> String {
        if let hash = state.withLock({ $0.dummyHash }) { return hash }
        let hash = try await hasher.hash(String(decoding: crypto.randomBytes(16).map { 97 + $0 % 26 }, as: UTF8.self))
        state.withLock { $0.dummyHash = hash }
        return hash
    }

    private func bind(
        account: UserAccount, verifiedHash: String, device: DeviceInput, context: ConnectionContext
    ) async throws -> AuthResult {
        let (token, binding) = makeBinding(device, context: context)
        let stored = try await store.bindDevice(user: account.user.id, binding, verifiedHash: verifiedHash)
        // A device logged in again: its old token has ended (§4.5), so have
        // the connections that Resumed with it.
        sessions.endSessions(devices: [stored.rowID], reason: .tokenEnded, except: context.connectionID)
        return try await authenticated(account, stored, token: token, device: device, context: context)
    }

    /// A new token for the device (a random device id when the client gave none).
    private func makeBinding(_ device: DeviceInput, context: ConnectionContext) -> ([UInt8], DeviceBinding) {
        let token = crypto.newToken()
        let now = clock.nowMs()
        let binding = DeviceBinding(
            deviceID: device.deviceID.isEmpty ? hex(crypto.randomBytes(16)) : device.deviceID, name: device.name,
            platform: device.platform, publicKey: device.publicKey.isEmpty ? nil : device.publicKey,
            tokenHash: crypto.tokenHash(token), tokenExpiresAt: now + limits.tokenTTLMs, address: context.address, now: now)
        return (token, binding)
    }

    /// The session of a device bound (committed): its audit row, its answer.
    private func authenticated(
        _ account: UserAccount, _ bound: Device, token: [UInt8], device: DeviceInput, context: ConnectionContext
    ) async throws -> AuthResult {
        let now = clock.nowMs()
        try await auditCommitted(.deviceBound, actor: "user:\(account.user.id)", user: account.user.id, address: context.address, detail: "device=\(bound.deviceID) platform=\(device.platform) key=\(device.publicKey.isEmpty ? "no" : "yes")", at: now)
        let session = Session(
            user: account.user, deviceRowID: bound.rowID, deviceID: bound.deviceID,
            tokenExpiresAt: bound.tokenExpiresAt ?? now, tokenHash: crypto.tokenHash(token))
        return AuthResult(session: session, token: token)
    }
}

/// Lower-case hexadecimal, two digits per byte (ids, tokens shown once, fingerprints).
public func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

extension Store {
    /// Creates or re-activates the device (user, deviceID) and gives it a
    /// new token; a login that passed its checks just before the account
    /// was disabled or deleted binds nothing, nor one whose password changed
    /// since it was verified (`verifiedHash`: the hash it was checked
    /// against): a password change ends every other session, including one
    /// whose login was still hashing.
    public func bindDevice(user: UserID, _ binding: DeviceBinding, verifiedHash: String) async throws -> Device {
        try await transaction { tx in
            try AccountPolicy.checkActive(tx.account(user))
            guard try tx.passwordHash(user) == verifiedHash else {
                throw ChatFailure(.invalidCredentials, "unknown username or wrong password")
            }
            return try tx.bindDevice(user: user, binding)
        }
    }

    /// A new password hash and, unless `keepTokens`, the end of the tokens
    /// of the user's devices but `except`, in one commit: a failure leaves
    /// the old password and every session as they were. Returns the devices
    /// whose tokens ended. With `ifCurrent`, only over that hash (the one
    /// the caller verified): else `invalid_credentials`, nothing written.
    public func changePassword(
        user: UserID, hash: String, keepTokens: Bool, except: DeviceRowID?, ifCurrent verified: String? = nil
    ) async throws -> [DeviceRowID] {
        try await transaction { tx in
            if let verified, try tx.passwordHash(user) != verified {
                throw ChatFailure(.invalidCredentials, "old password is wrong (the password changed meanwhile)")
            }
            try tx.setPasswordHash(user: user, hash: hash)
            return keepTokens ? [] : try tx.endTokens(user: user, except: except)
        }
    }

    /// A login's rehash (the hashing settings changed): `new` replaces
    /// `old` only while `old` is still the stored hash, so a password
    /// changed meanwhile is not put back. Whether it did.
    public func rehashPassword(user: UserID, from old: String, to new: String) async throws -> Bool {
        try await transaction { tx in
            guard try tx.passwordHash(user) == old else { return false }
            try tx.setPasswordHash(user: user, hash: new)
            return true
        }
    }
}
