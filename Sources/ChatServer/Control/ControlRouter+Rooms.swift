import ChatCore
import ChatProtocol
import Foundation

/// chatctl room create|delete|members|add-member|remove-member|set-role|ban|unban
/// (ops 17–24): ConversationService's operator path, so every change makes
/// the same events and pushes as the client ops.
extension ControlRouter {
    /// A conversation by id (any kind), or a room by name.
    func resolveRoom(id: UInt64, name: String) async throws -> Conversation {
        let found: Conversation?
        if id != 0 {
            found = try await admin.conversation(id: ProtoMap.id(id))
        } else if !name.isEmpty {
            guard name.utf8.count <= 1024 else { throw ChatFailure.tooLong("name", max: 1024) }
            found = try await admin.room(nameKey: Validate.roomNameKey(name))
        } else {
            throw ChatFailure.invalid("room_id", "give room_id or name")
        }
        guard let room = found else { throw ChatFailure(.notFound, "no such room") }
        return room
    }

    func resolveRoom(_ ref: Chatd_Control_V1_RoomRef) async throws -> Conversation {
        try await resolveRoom(id: ref.roomID, name: ref.name)
    }

    func roomResponse(_ id: ConversationID) async throws -> Chatd_Control_V1_RoomResponse {
        guard let room = try await admin.conversation(id: id) else { throw ChatFailure(.notFound, "no such room") }
        var r = Chatd_Control_V1_RoomResponse()
        r.room = ProtoMap.conversation(room)
        return r
    }

    func audit(_ action: AuditEntry.Action, actor: String, user: UserID? = nil, detail: String) async throws {
        try await admin.audit(
            AuditEntry(at: clock.nowMs(), action: action, actor: actor, userID: user, address: "", detail: detail))
    }

    func roomCreate(_ q: Chatd_Control_V1_RoomCreateRequest, actor: String) async throws -> Chatd_Control_V1_RoomResponse {
        let (kind, visibility) = try ConversationService.operatorRoomKind(kind: q.kind, visibility: q.visibility)
        let owner: UserAccount? = q.hasOwner ? try await resolve(q.owner) : nil
        let room = try await rooms.operatorCreate(
            kind: kind, name: q.name, description: q.description_p, visibility: visibility, owner: owner?.user.id)
        try await audit(
            .adminRoomCreate, actor: actor, user: owner?.user.id,
            detail: "room=\(room.id) kind=\(kind.rawValue) visibility=\(visibility.rawValue)")
        var r = Chatd_Control_V1_RoomResponse()
        r.room = ProtoMap.conversation(room)
        return r
    }

    func roomDelete(_ q: Chatd_Control_V1_RoomDeleteRequest, actor: String) async throws -> Chatd_Control_V1_RoomDeleteResponse {
        let room = try await resolveRoom(q.room)
        let former = try await rooms.operatorDelete(room.id)
        try await audit(.adminRoomDelete, actor: actor, detail: "room=\(room.id) name=\(room.name) members=\(former.count)")
        var r = Chatd_Control_V1_RoomDeleteResponse()
        r.formerMembers = UInt32(clamping: former.count)
        return r
    }

    func roomMembers(_ q: Chatd_Control_V1_RoomMembersRequest) async throws -> Chatd_Control_V1_RoomMembersResponse {
        let room = try await resolveRoom(q.room)
        let limit = Validate.pageLimit(Int(q.limit), default: WireLimits.defaultControlPageLimit, max: WireLimits.maxControlPageLimit)
        let page = try await admin.members(conversation: room.id, page: Page(after: ProtoMap.id(q.afterUserID), limit: limit))
        var r = Chatd_Control_V1_RoomMembersResponse()
        r.members = page.items.map(ProtoMap.member)
        r.hasMore_p = page.hasMore
        return r
    }

    static func memberRole(_ text: String) throws(ChatFailure) -> MemberRole {
        guard let role = MemberRole(rawValue: text) else { throw ChatFailure.invalid("role", "role must be member, admin or owner") }
        return role
    }

    /// Ops 20–24; `action` reads the op's action from the request.
    func roomMember(
        _ q: Chatd_Control_V1_RoomMemberRequest, actor: String, _ audited: AuditEntry.Action,
        _ action: (Chatd_Control_V1_RoomMemberRequest) throws -> ConversationService.OperatorAction
    ) async throws -> Chatd_Control_V1_RoomResponse {
        let action = try action(q)
        let room = try await resolveRoom(q.room)
        let user = try await resolve(q.user)
        try await rooms.operatorAct(action, conversation: room.id, user: user.user.id)
        try await audit(audited, actor: actor, user: user.user.id, detail: "room=\(room.id) \(action)")
        return try await roomResponse(room.id)
    }

    func broadcast(_ q: Chatd_Control_V1_BroadcastRequest, actor: String) async throws -> Chatd_Control_V1_BroadcastResponse {
        guard q.hasRoom != q.everyone else { throw ChatFailure.invalid("room", "give room, or everyone") }
        let target: ConversationService.BroadcastTarget =
            q.everyone ? .everyone : .conversation(try await resolveRoom(q.room).id)
        let clientMsgID = q.clientMsgID.isEmpty ? "broadcast-\(UUID().uuidString.lowercased())" : q.clientMsgID
        var r = Chatd_Control_V1_BroadcastResponse()
        switch try await rooms.operatorBroadcast(target, text: q.text, clientMsgID: clientMsgID) {
        case .message(let appended):
            r.event = ProtoMap.event(appended.event)
            r.duplicate = appended.duplicate
            try await audit(
                .adminBroadcast, actor: actor,
                detail: "room=\(appended.event.conversationID) seq=\(appended.event.seq) duplicate=\(appended.duplicate)")
        case .notice(let users):
            r.usersNotified = UInt32(clamping: users)
            r.onlineUsers = UInt32(clamping: Set(registry.sessions().compactMap(\.user)).count)
            try await audit(.adminBroadcast, actor: actor, detail: "everyone users=\(users)")
        }
        return r
    }
}
