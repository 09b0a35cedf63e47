import ChatBuildInfo
import ChatCore
import ChatProtocol
import Foundation
import Logging
import SwiftProtobuf

/// Facts about the running daemon for `chatctl status`.
public struct DaemonInfo: Sendable {
    public var startedAtMs: Int64
    public var dataDir: String
    public var listen: String

    public init(startedAtMs: Int64, dataDir: String, listen: String) {
        self.startedAtMs = startedAtMs
        self.dataDir = dataDir
        self.listen = listen
    }
}

/// Runs one chatctl request (control protocol, spec/PROTOCOL.md §11).
public struct ControlRouter: Sendable {
    /// Runs an empty write through the writer (health).
    public typealias WriteProbe = @Sendable () async throws -> Void
    /// Re-reads the config file; returns (applied, need restart).
    public typealias Reloader = @Sendable () async throws -> (applied: [String], needRestart: [String])

    let admin: AdminService
    let probe: WriteProbe
    let reloader: Reloader
    let accounts: AccountService
    let rooms: ConversationService
    let registry: SessionRegistry
    let hub: FanoutHub
    let files: FileService
    let clock: any WallClock
    let info: DaemonInfo
    let logger: Logger
    let hooks: OperatorHooks
    let throughput: MessageThroughput?

    public init(
        store: any Store, accounts: AccountService, rooms: ConversationService, registry: SessionRegistry, hub: FanoutHub,
        files: FileService, clock: any WallClock, info: DaemonInfo, logger: Logger, probe: @escaping WriteProbe,
        reloader: @escaping Reloader, hooks: OperatorHooks = OperatorHooks(), throughput: MessageThroughput? = nil
    ) {
        self.files = files
        self.hooks = hooks
        self.throughput = throughput
        admin = AdminService(store: store)
        self.probe = probe
        self.reloader = reloader
        self.accounts = accounts
        self.rooms = rooms
        self.registry = registry
        self.hub = hub
        self.clock = clock
        self.info = info
        self.logger = logger
    }

    public func route(_ frame: Frame, peerUID: UInt32) async -> Frame {
        let actor = "admin:uid=\(peerUID)"
        guard frame.rawKind == FrameKind.request.rawValue, frame.flags == 0 else {
            return Frame.error(op: frame.op, id: frame.id, code: .badFrame, message: "expected a request frame with no flags")
        }
        guard let op = ControlOp(rawValue: frame.op) else {
            return Frame.error(op: frame.op, id: frame.id, code: .unknownOp, message: "unknown control op \(frame.op)")
        }
        let row = ControlRoutes.row(op)
        switch await ErrorResponder(logger: logger).respond(frame, { try await row.run(self, frame.payload, actor) }) {
        case .success(let message):
            return Frame(kind: .response, op: frame.op, id: frame.id, payload: message.payloadBuffer())
        case .failure(let error):
            return error.frame
        }
    }

    func status() async throws -> Chatd_Control_V1_StatusResponse {
        let counts = try await admin.counts()
        let now = clock.nowMs()
        var r = Chatd_Control_V1_StatusResponse()
        r.version = BuildInfo.description
        r.startedAtMs = info.startedAtMs
        r.uptimeMs = now - info.startedAtMs
        r.connections = UInt32(clamping: registry.connectionCount)
        r.authenticatedConnections = UInt32(clamping: registry.authenticatedCount)
        r.users = UInt64(counts.users)
        r.rooms = UInt64(counts.rooms)
        r.messages = UInt64(counts.messages)
        r.databaseBytes = UInt64(counts.databaseBytes)
        r.dataDir = info.dataDir
        r.listen = info.listen
        (r.node, r.nodes) = hooks.cluster()
        return r
    }

    /// Runs an empty write through the writer and times it.
    func health() async throws -> Chatd_Control_V1_HealthResponse {
        let start = ContinuousClock.now
        do {
            try await probe()
        } catch let failure as ChatFailure where failure.kind == .unavailable {
            throw failure  // the storage refuses writes; its monitor logged why
        } catch {
            logger.error("health check: database write failed", metadata: ["chatd.error": "\(error)"])
            throw ChatFailure(.internal, "the database is not writable")
        }
        let elapsed = ContinuousClock.now - start
        var r = Chatd_Control_V1_HealthResponse()
        r.writeLatencyUs = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        r.connections = UInt32(clamping: registry.connectionCount)
        return r
    }

    func deviceList(_ q: Chatd_Control_V1_DeviceListRequest) async throws -> Chatd_Control_V1_DeviceListResponse {
        let user: UserAccount? = q.hasUser ? try await resolve(q.user) : nil
        let limit = Validate.pageLimit(Int(q.limit), default: 1000, max: 10_000)
        let devices = try await admin.devices(user: user?.user.id, includeRevoked: q.includeRevoked, limit: limit + 1)
        var names: [UserID: String] = [:]
        var r = Chatd_Control_V1_DeviceListResponse()
        let now = clock.nowMs()
        for device in devices.prefix(limit) {
            if names[device.userID] == nil {
                names[device.userID] = try await admin.account(id: device.userID)?.user.username ?? "?"
            }
            var d = Chatd_Control_V1_AdminDevice()
            d.userID = UInt64(device.userID)
            d.username = names[device.userID] ?? "?"
            d.device = ProtoMap.device(device, current: nil, now: now)
            d.connectionCount = UInt32(clamping: registry.connectionCount(device: device.rowID))
            r.devices.append(d)
        }
        r.hasMore_p = devices.count > limit
        return r
    }

    func serverRole(_ text: String) throws(ChatFailure) -> ServerRole {
        guard let role = ServerRole(rawValue: text) else { throw ChatFailure.invalid("role", "role must be user or admin") }
        return role
    }

    func resolve(_ ref: Chatd_Control_V1_UserRef) async throws -> UserAccount {
        let found: UserAccount?
        if ref.id != 0 {
            found = try await admin.account(id: ProtoMap.id(ref.id))
        } else if !ref.username.isEmpty {
            guard ref.username.utf8.count <= WireLimits.usernameMaxBytes else {
                throw ChatFailure.tooLong("username", max: WireLimits.usernameMaxBytes)
            }
            found = try await admin.account(usernameKey: Validate.usernameKey(ref.username))
        } else {
            throw ChatFailure.invalid("user", "give a user id or username")
        }
        guard let account = found else { throw ChatFailure(.notFound, "no such user") }
        return account
    }

    func userResponse(_ id: UserID) async throws -> Chatd_Control_V1_UserResponse {
        guard let account = try await admin.account(id: id) else { throw ChatFailure(.notFound, "no such user") }
        var r = Chatd_Control_V1_UserResponse()
        r.user = try await adminUser(account)
        return r
    }

    func adminUser(_ account: UserAccount) async throws -> Chatd_Control_V1_AdminUser {
        var u = Chatd_Control_V1_AdminUser()
        u.id = UInt64(account.user.id)
        u.username = account.user.username
        u.displayName = account.user.displayName
        u.email = account.email
        u.role = account.user.role.rawValue
        u.disabled = account.disabled
        u.createdAtMs = account.user.createdAt
        u.statusText = account.user.statusText
        u.avatarURL = account.user.avatarURL
        u.deviceCount = UInt32(
            clamping: try await admin.devices(user: account.user.id, includeRevoked: false, limit: 10_000).count)
        u.connectionCount = UInt32(clamping: registry.connectionCount(user: account.user.id))
        return u
    }
}
