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
        let router = ErrorResponder(logger: logger)
        let result = await router.respond(frame) { () async throws -> any SwiftProtobuf.Message in
            switch op {
            case .status:
                _ = try Chatd_Control_V1_StatusRequest(payload: frame.payload)
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
                return r
            case .userAdd:
                let q = try Chatd_Control_V1_UserAddRequest(payload: frame.payload)
                let role = try serverRole(q.role.isEmpty ? "user" : q.role)
                let account = try await accounts.adminAddUser(
                    username: q.username, password: q.password, displayName: q.displayName, email: q.email, role: role,
                    actor: actor)
                return try await userResponse(account.user.id)
            case .userList:
                let q = try Chatd_Control_V1_UserListRequest(payload: frame.payload)
                let limit = Validate.pageLimit(Int(q.limit), default: 100, max: 1000)
                let page = try await admin.listUsers(
                    UserFilter(
                        page: Page(after: ProtoMap.id(q.afterID), limit: limit), usernamePrefix: q.prefix,
                        onlyDisabled: q.onlyDisabled, role: q.role.isEmpty ? nil : try serverRole(q.role)))
                var r = Chatd_Control_V1_UserListResponse()
                for account in page.items { r.users.append(try await adminUser(account)) }
                r.hasMore_p = page.hasMore
                return r
            case .userShow:
                let q = try Chatd_Control_V1_UserShowRequest(payload: frame.payload)
                let account = try await resolve(q.user)
                var r = Chatd_Control_V1_UserShowResponse()
                r.user = try await adminUser(account)
                let now = clock.nowMs()
                r.devices = try await admin.devices(user: account.user.id, includeRevoked: true, limit: 1000).map {
                    ProtoMap.device($0, current: nil, now: now)
                }
                r.rooms = try await admin.conversations(of: account.user.id, limit: 1000)
                    .items.map(ProtoMap.conversation)
                return r
            case .userDisable, .userEnable:
                let ref =
                    op == .userDisable
                    ? try Chatd_Control_V1_UserDisableRequest(payload: frame.payload).user
                    : try Chatd_Control_V1_UserEnableRequest(payload: frame.payload).user
                let account = try await resolve(ref)
                if op == .userEnable { try requireLive(account) }
                try await accounts.adminSetDisabled(user: account.user.id, disabled: op == .userDisable, actor: actor)
                return try await userResponse(account.user.id)
            case .userPasswd:
                let q = try Chatd_Control_V1_UserPasswdRequest(payload: frame.payload)
                let account = try await resolve(q.user)
                try requireLive(account)
                try await accounts.adminSetPassword(
                    user: account.user.id, password: q.password, keepSessions: q.keepSessions, actor: actor)
                return try await userResponse(account.user.id)
            case .userSetRole:
                let q = try Chatd_Control_V1_UserSetRoleRequest(payload: frame.payload)
                let account = try await resolve(q.user)
                try await accounts.adminSetRole(user: account.user.id, role: try serverRole(q.role), actor: actor)
                return try await userResponse(account.user.id)
            case .roomList:
                let q = try Chatd_Control_V1_RoomListRequest(payload: frame.payload)
                let limit = Validate.pageLimit(Int(q.limit), default: 100, max: 1000)
                let page = try await admin.listRooms(page: Page(after: ProtoMap.id(q.afterID), limit: limit))
                var r = Chatd_Control_V1_RoomListResponse()
                r.rooms = page.items.map(ProtoMap.conversation)
                r.hasMore_p = page.hasMore
                return r
            case .roomShow:
                let q = try Chatd_Control_V1_RoomShowRequest(payload: frame.payload)
                let room = try await resolveRoom(id: q.roomID, name: q.name)
                var r = Chatd_Control_V1_RoomShowResponse()
                r.room = ProtoMap.conversation(room)
                r.members = try await admin.members(conversation: room.id, page: Page(after: 0, limit: 1000)).items.map(ProtoMap.member)
                r.onlineMembers = UInt32(clamping: registry.onlineCount(of: hub.members(of: room.id)))
                return r
            case .deviceList:
                let q = try Chatd_Control_V1_DeviceListRequest(payload: frame.payload)
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
            case .health:
                _ = try Chatd_Control_V1_HealthRequest(payload: frame.payload)
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
            case .reload:
                _ = try Chatd_Control_V1_ReloadRequest(payload: frame.payload)
                let result = try await reloader()
                var r = Chatd_Control_V1_ReloadResponse()
                r.applied = result.applied
                r.needRestart = result.needRestart
                return r
            case .fileGC, .fileStats:
                return try await fileOp(op, frame)
            case .retentionSet, .retentionPurge:
                return try await retentionOp(op, frame, actor: actor)
            case .deviceRevoke:
                let q = try Chatd_Control_V1_DeviceRevokeRequest(payload: frame.payload)
                let account = try await resolve(q.user)
                guard let device = try await admin.device(user: account.user.id, deviceID: q.deviceID) else {
                    throw ChatFailure(.notFound, "no such device")
                }
                var r = Chatd_Control_V1_DeviceRevokeResponse()
                r.closedConnections = UInt32(clamping: try await accounts.adminRevokeDevice(device, actor: actor))
                return r
            case .sessionList: return try await sessionList(frame)
            case .sessionKick: return try await sessionKick(frame, actor: actor)
            case .roomCreate: return try await roomCreate(frame, actor: actor)
            case .roomDelete: return try await roomDelete(frame, actor: actor)
            case .roomMembers: return try await roomMembers(frame)
            case .roomAddMember: return try await roomMember(frame, actor: actor, .adminMemberAdd) { _ in .add }
            case .roomRemoveMember: return try await roomMember(frame, actor: actor, .adminMemberRemove) { _ in .remove }
            case .roomSetRole: return try await roomMember(frame, actor: actor, .adminMemberSetRole) { .setRole(try memberRole($0.role)) }
            case .roomBan: return try await roomMember(frame, actor: actor, .adminMemberBan) { _ in .ban }
            case .roomUnban: return try await roomMember(frame, actor: actor, .adminMemberUnban) { _ in .unban }
            case .broadcast: return try await broadcast(frame, actor: actor)
            case .auditQuery: return try await auditQuery(frame)
            case .backup: return try await backup(frame, actor: actor)
            case .stats: return try await stats(frame)
            case .configShow: return try configShow(frame)
            case .logLevel: return try await logLevel(frame, actor: actor)
            case .userDelete:
                let q = try Chatd_Control_V1_UserDeleteRequest(payload: frame.payload)
                let account = try await resolve(q.user)
                let deletion = try await accounts.adminDeleteUser(account, anonymise: q.anonymise, actor: actor)
                var r = Chatd_Control_V1_UserDeleteResponse()
                r.userID = UInt64(account.user.id)
                r.previousUsername = deletion.previousUsername
                r.messagesDeleted = UInt32(clamping: deletion.messagesDeleted)
                return r
            }
        }
        switch result {
        case .success(let message):
            return Frame(kind: .response, op: frame.op, id: frame.id, payload: message.payloadBuffer())
        case .failure(let error):
            return error.frame
        }
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
            guard ref.username.utf8.count <= DomainLimits.usernameMaxBytes else {
                throw ChatFailure.tooLong("username", max: DomainLimits.usernameMaxBytes)
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

extension ControlRouter {
    /// chatctl file gc | stats.
    func fileOp(_ op: ControlOp, _ frame: Frame) async throws -> any SwiftProtobuf.Message {
        switch op {
        case .fileGC:
            _ = try Chatd_Control_V1_FileGcRequest(payload: frame.payload)
            let report = try await files.collectGarbage()
            var r = Chatd_Control_V1_FileGcResponse()
            r.expiredUploads = UInt32(clamping: report.expiredUploads)
            r.files = UInt32(clamping: report.files)
            r.contents = UInt32(clamping: report.contents)
            r.contentBytes = UInt64(report.contentBytes)
            r.strays = UInt32(clamping: report.strays)
            logger.info("file garbage collected (chatctl)", metadata: ["chatd.files": "\(report.files)"])
            return r
        default:
            let q = try Chatd_Control_V1_FileStatsRequest(payload: frame.payload)
            let top = q.topUsers == 0 ? 10 : Int(q.topUsers)
            guard top <= 1000 else { throw ChatFailure.invalid("top_users", "top_users is at most 1000") }
            let (stats, disk) = try await files.stats(topUsers: top)
            var r = Chatd_Control_V1_FileStatsResponse()
            r.files = UInt64(stats.files)
            r.contents = UInt64(stats.contents)
            r.contentBytes = UInt64(stats.contentBytes)
            r.fileBytes = UInt64(stats.fileBytes)
            r.referencedFiles = UInt64(stats.referencedFiles)
            r.uploads = UInt64(stats.uploads)
            r.uploadBytes = UInt64(stats.uploadBytes)
            r.diskBytes = UInt64(disk)
            r.topUsers = stats.topUsers.map {
                var u = Chatd_Control_V1_FileUsage()
                u.userID = UInt64($0.userID)
                u.username = $0.username
                u.files = UInt32(clamping: $0.files)
                u.bytes = UInt64($0.bytes)
                u.uploads = UInt32(clamping: $0.uploads)
                u.uploadBytes = UInt64($0.uploadBytes)
                return u
            }
            return r
        }
    }
}

extension ControlRouter {
    /// chatctl retention set | purge.
    func retentionOp(_ op: ControlOp, _ frame: Frame, actor: String) async throws -> any SwiftProtobuf.Message {
        switch op {
        case .retentionSet:
            let q = try Chatd_Control_V1_RetentionSetRequest(payload: frame.payload)
            let id: ConversationID
            if q.roomID != 0 {
                id = ProtoMap.id(q.roomID)
            } else if !q.name.isEmpty, let room = try await admin.room(nameKey: Validate.roomNameKey(q.name)) {
                id = room.id
            } else {
                throw q.name.isEmpty ? ChatFailure.invalid("room_id", "give room_id or name") : ChatFailure(.notFound, "no such room")
            }
            let days: Int?
            switch q.mode {
            case .days:
                guard q.days > 0 else { throw ChatFailure.invalid("days", "days must be at least 1 (use FOREVER to keep everything)") }
                days = Int(q.days)
            case .forever: days = 0
            case .serverDefault: days = nil
            case .UNRECOGNIZED: throw ChatFailure.invalid("mode", "unknown mode")
            }
            let room = try await rooms.setRetention(conversation: id, days: days)
            try await audit(
                .adminRetentionSet, actor: actor, detail: "conversation=\(id) days=\(days.map(String.init) ?? "default")")
            var r = Chatd_Control_V1_RetentionSetResponse()
            r.room = ProtoMap.conversation(room)
            r.retentionDays = UInt32(room.retentionDays ?? rooms.limits.defaultRetentionDays)
            r.serverDefault = room.retentionDays == nil
            return r
        default:
            _ = try Chatd_Control_V1_RetentionPurgeRequest(payload: frame.payload)
            let report = try await rooms.purgeExpired()
            _ = try await accounts.pruneAudit()
            var r = Chatd_Control_V1_RetentionPurgeResponse()
            r.conversations = UInt32(clamping: report.conversations)
            r.events = UInt64(report.events)
            r.messages = UInt64(report.messages)
            r.defaultDays = UInt32(rooms.limits.defaultRetentionDays)
            return r
        }
    }
}
