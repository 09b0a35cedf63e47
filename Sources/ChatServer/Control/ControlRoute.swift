import ChatCore
import ChatProtocol
import Foundation
import NIOCore
import SwiftProtobuf

/// One row of the control route table (`ControlRoutes`): a chatctl op, the
/// request type its payload decodes as, and the handler. Every control op
/// needs the same thing (a peer the socket admitted), so rows carry no state.
struct ControlRoute: Sendable {
    typealias Handler = @Sendable (ControlRouter, ByteBuffer, _ actor: String) async throws -> any SwiftProtobuf.Message

    let op: ControlOp
    let requestType: any SwiftProtobuf.Message.Type
    let run: Handler

    static func op<Request: SwiftProtobuf.Message>(
        _ op: ControlOp, _ request: Request.Type,
        _ body: @escaping @Sendable (ControlRouter, Request, _ actor: String) async throws -> any SwiftProtobuf.Message
    ) -> ControlRoute {
        ControlRoute(op: op, requestType: request) { router, payload, actor in
            try await body(router, try Request(payload: payload), actor)
        }
    }
}

/// The control route table: one row per `ControlOp` (a test checks that
/// every op has exactly one). Longer handlers live in the
/// `ControlRouter+...` files of this folder; the handlers call services
/// (AdminService, AccountService, ConversationService, FileService), never
/// the store.
enum ControlRoutes {
    static let all: [ControlRoute] = users + rooms + devices + operations
    /// chatctl push list shows at most this many targets.
    static let maxPushTargets = 1000

    private static let byRawValue: [ControlRoute?] = {
        var rows = [ControlRoute?](repeating: nil, count: Int(ControlOp.allCases.map(\.rawValue).max() ?? 0) + 1)
        for route in all where rows[Int(route.op.rawValue)] == nil { rows[Int(route.op.rawValue)] = route }
        return rows
    }()

    static func row(_ op: ControlOp) -> ControlRoute {
        // Every op has a row (RouteTableTests); a missing one answers `internal`.
        byRawValue[Int(op.rawValue)]
            ?? ControlRoute(op: op, requestType: Chatd_V1_Empty.self) { _, _, _ in throw ChatFailure(.internal, "op has no route") }
    }

    static let users: [ControlRoute] = [
        .op(.userAdd, Chatd_Control_V1_UserAddRequest.self) { router, q, actor in
            let role = try router.serverRole(q.role.isEmpty ? "user" : q.role)
            let account = try await router.accounts.adminAddUser(
                username: q.username, password: q.password, displayName: q.displayName, email: q.email, role: role,
                actor: actor)
            return try await router.userResponse(account.user.id)
        },
        .op(.userList, Chatd_Control_V1_UserListRequest.self) { router, q, _ in
            let limit = Validate.pageLimit(Int(q.limit), default: WireLimits.defaultControlPageLimit, max: WireLimits.maxControlPageLimit)
            let page = try await router.admin.listUsers(
                UserFilter(
                    page: Page(after: ProtoMap.id(q.afterID), limit: limit), usernamePrefix: q.prefix,
                    onlyDisabled: q.onlyDisabled, role: q.role.isEmpty ? nil : try router.serverRole(q.role)))
            var r = Chatd_Control_V1_UserListResponse()
            for account in page.items { r.users.append(try await router.adminUser(account)) }
            r.hasMore_p = page.hasMore
            return r
        },
        .op(.userShow, Chatd_Control_V1_UserShowRequest.self) { router, q, _ in
            let account = try await router.resolve(q.user)
            var r = Chatd_Control_V1_UserShowResponse()
            r.user = try await router.adminUser(account)
            let now = router.clock.nowMs()
            r.devices = try await router.admin.devices(user: account.user.id, includeRevoked: true, limit: 1000).map {
                ProtoMap.device($0, current: nil, now: now)
            }
            r.rooms = try await router.admin.conversations(of: account.user.id, limit: 1000).items.map(ProtoMap.conversation)
            return r
        },
        .op(.userDisable, Chatd_Control_V1_UserDisableRequest.self) { router, q, actor in
            let account = try await router.resolve(q.user)
            try await router.accounts.adminSetDisabled(user: account.user.id, disabled: true, actor: actor)
            return try await router.userResponse(account.user.id)
        },
        .op(.userEnable, Chatd_Control_V1_UserEnableRequest.self) { router, q, actor in
            let account = try await router.resolve(q.user)
            try router.requireLive(account)
            try await router.accounts.adminSetDisabled(user: account.user.id, disabled: false, actor: actor)
            return try await router.userResponse(account.user.id)
        },
        .op(.userPasswd, Chatd_Control_V1_UserPasswdRequest.self) { router, q, actor in
            let account = try await router.resolve(q.user)
            try router.requireLive(account)
            try await router.accounts.adminSetPassword(
                user: account.user.id, password: q.password, keepSessions: q.keepSessions, actor: actor)
            return try await router.userResponse(account.user.id)
        },
        .op(.userSetRole, Chatd_Control_V1_UserSetRoleRequest.self) { router, q, actor in
            let account = try await router.resolve(q.user)
            try await router.accounts.adminSetRole(user: account.user.id, role: try router.serverRole(q.role), actor: actor)
            return try await router.userResponse(account.user.id)
        },
        .op(.registrationTokenCreate, Chatd_Control_V1_RegistrationTokenCreateRequest.self) { router, q, actor in
            let (grant, token) = try await router.accounts.createRegistrationToken(
                maxUses: q.maxUses, expiresInMs: q.expiresInMs, actor: actor)
            var r = Chatd_Control_V1_RegistrationTokenCreateResponse()
            r.registrationToken = ProtoMap.registrationToken(grant)
            r.token = token
            return r
        },
        .op(.registrationTokenList, Chatd_Control_V1_RegistrationTokenListRequest.self) { router, q, _ in
            var r = Chatd_Control_V1_RegistrationTokenListResponse()
            r.registrationTokens = try await router.accounts.registrationTokens(all: q.all).map(ProtoMap.registrationToken)
            return r
        },
        .op(.registrationTokenRevoke, Chatd_Control_V1_RegistrationTokenRevokeRequest.self) { router, q, actor in
            var r = Chatd_Control_V1_RegistrationTokenRevokeResponse()
            r.registrationToken = ProtoMap.registrationToken(
                try await router.accounts.revokeRegistrationToken(id: ProtoMap.id(q.id), actor: actor))
            return r
        },
        .op(.userDelete, Chatd_Control_V1_UserDeleteRequest.self) { router, q, actor in
            let account = try await router.resolve(q.user)
            let deletion = try await router.accounts.adminDeleteUser(account, anonymise: q.anonymise, actor: actor)
            var r = Chatd_Control_V1_UserDeleteResponse()
            r.userID = UInt64(account.user.id)
            r.previousUsername = deletion.previousUsername
            r.messagesDeleted = UInt32(clamping: deletion.messagesDeleted)
            return r
        },
    ]

    static let rooms: [ControlRoute] = [
        .op(.roomList, Chatd_Control_V1_RoomListRequest.self) { router, q, _ in
            let limit = Validate.pageLimit(Int(q.limit), default: WireLimits.defaultControlPageLimit, max: WireLimits.maxControlPageLimit)
            let page = try await router.admin.listRooms(page: Page(after: ProtoMap.id(q.afterID), limit: limit))
            var r = Chatd_Control_V1_RoomListResponse()
            r.rooms = page.items.map(ProtoMap.conversation)
            r.hasMore_p = page.hasMore
            return r
        },
        .op(.roomShow, Chatd_Control_V1_RoomShowRequest.self) { router, q, _ in
            let room = try await router.resolveRoom(id: q.roomID, name: q.name)
            var r = Chatd_Control_V1_RoomShowResponse()
            r.room = ProtoMap.conversation(room)
            r.members = try await router.admin.members(conversation: room.id, page: Page(after: 0, limit: 1000)).items
                .map(ProtoMap.member)
            r.onlineMembers = UInt32(clamping: router.registry.onlineCount(of: router.hub.members(of: room.id)))
            return r
        },
        .op(.roomCreate, Chatd_Control_V1_RoomCreateRequest.self) { try await $0.roomCreate($1, actor: $2) },
        .op(.roomDelete, Chatd_Control_V1_RoomDeleteRequest.self) { try await $0.roomDelete($1, actor: $2) },
        .op(.roomMembers, Chatd_Control_V1_RoomMembersRequest.self) { router, q, _ in try await router.roomMembers(q) },
        member(.roomAddMember, .adminMemberAdd) { _ in .add },
        member(.roomRemoveMember, .adminMemberRemove) { _ in .remove },
        member(.roomSetRole, .adminMemberSetRole) { .setRole(try ControlRouter.memberRole($0.role)) },
        member(.roomBan, .adminMemberBan) { _ in .ban },
        member(.roomUnban, .adminMemberUnban) { _ in .unban },
        .op(.broadcast, Chatd_Control_V1_BroadcastRequest.self) { try await $0.broadcast($1, actor: $2) },
        .op(.retentionSet, Chatd_Control_V1_RetentionSetRequest.self) { try await $0.retentionSet($1, actor: $2) },
        .op(.retentionPurge, Chatd_Control_V1_RetentionPurgeRequest.self) { router, q, _ in try await router.retentionPurge(q) },
    ]

    /// Ops 20–24: one request type, the action read from it.
    private static func member(
        _ op: ControlOp, _ audited: AuditEntry.Action,
        _ action: @escaping @Sendable (Chatd_Control_V1_RoomMemberRequest) throws -> ConversationService.OperatorAction
    ) -> ControlRoute {
        .op(op, Chatd_Control_V1_RoomMemberRequest.self) { router, q, actor in
            try await router.roomMember(q, actor: actor, audited, action)
        }
    }

    static let devices: [ControlRoute] = [
        .op(.deviceList, Chatd_Control_V1_DeviceListRequest.self) { router, q, _ in try await router.deviceList(q) },
        .op(.deviceRevoke, Chatd_Control_V1_DeviceRevokeRequest.self) { router, q, actor in
            let account = try await router.resolve(q.user)
            guard let device = try await router.admin.device(user: account.user.id, deviceID: q.deviceID) else {
                throw ChatFailure(.notFound, "no such device")
            }
            var r = Chatd_Control_V1_DeviceRevokeResponse()
            r.closedConnections = UInt32(clamping: try await router.accounts.adminRevokeDevice(device, actor: actor))
            return r
        },
        .op(.pushTargetList, Chatd_Control_V1_PushTargetListRequest.self) { router, q, _ in
            guard let push = router.hooks.push else { throw OperatorHooks.unsupported }
            let user = q.hasUser ? try await router.resolve(q.user).user.id : nil
            let targets = try await push.adminList(user: user)
            var names: [UserID: String] = [:]
            var r = Chatd_Control_V1_PushTargetListResponse()
            for t in targets.prefix(Self.maxPushTargets) {
                if names[t.userID] == nil { names[t.userID] = try await router.admin.account(id: t.userID)?.user.username ?? "" }
                var a = Chatd_Control_V1_AdminPushTarget()
                a.userID = UInt64(t.userID)
                a.username = names[t.userID] ?? ""
                a.deviceID = t.deviceID
                a.kind = ProtoMap.pushKind(t.kind)
                a.target = t.redacted
                a.createdAtMs = t.createdAt
                r.targets.append(a)
            }
            r.hasMore_p = targets.count > Self.maxPushTargets
            let queue = router.hooks.pushQueue()
            r.queued = UInt32(clamping: queue.queued)
            r.dropped = UInt64(clamping: queue.dropped)
            return r
        },
        .op(.pushTargetRemove, Chatd_Control_V1_PushTargetRemoveRequest.self) { router, q, actor in
            guard let push = router.hooks.push else { throw OperatorHooks.unsupported }
            let account = try await router.resolve(q.user)
            var r = Chatd_Control_V1_PushTargetRemoveResponse()
            r.removed = try await push.adminRemove(user: account.user.id, deviceID: q.deviceID, actor: actor)
            return r
        },
        .op(.sessionList, Chatd_Control_V1_SessionListRequest.self) { router, q, _ in try await router.sessionList(q) },
        .op(.sessionKick, Chatd_Control_V1_SessionKickRequest.self) { try await $0.sessionKick($1, actor: $2) },
    ]

    static let operations: [ControlRoute] = [
        .op(.status, Chatd_Control_V1_StatusRequest.self) { router, _, _ in try await router.status() },
        .op(.health, Chatd_Control_V1_HealthRequest.self) { router, _, _ in try await router.health() },
        .op(.reload, Chatd_Control_V1_ReloadRequest.self) { router, _, _ in
            let result = try await router.reloader()
            var r = Chatd_Control_V1_ReloadResponse()
            r.applied = result.applied
            r.needRestart = result.needRestart
            return r
        },
        .op(.auditQuery, Chatd_Control_V1_AuditQueryRequest.self) { router, q, _ in try await router.auditQuery(q) },
        .op(.backup, Chatd_Control_V1_BackupRequest.self) { try await $0.backup($1, actor: $2) },
        .op(.stats, Chatd_Control_V1_StatsRequest.self) { router, q, _ in try await router.stats(q) },
        .op(.configShow, Chatd_Control_V1_ConfigShowRequest.self) { router, q, _ in try router.configShow(q) },
        .op(.logLevel, Chatd_Control_V1_LogLevelRequest.self) { try await $0.logLevel($1, actor: $2) },
        .op(.fileGC, Chatd_Control_V1_FileGcRequest.self) { router, q, _ in try await router.fileGC(q) },
        .op(.fileStats, Chatd_Control_V1_FileStatsRequest.self) { router, q, _ in try await router.fileStats(q) },
    ]
}
