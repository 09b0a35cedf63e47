import ChatCore
import ChatProtocol
import Foundation
import Logging
import NIOCore
import SwiftProtobuf

/// Runs one client request: decodes the payload for its op, calls the
/// service, encodes the response or the error. No NIO types beyond frames.
public struct ClientRouter: Sendable {
    public let accounts: AccountService
    public let conversations: ConversationService
    public let friends: FriendService
    public let files: FileService
    public let hub: FanoutHub
    public let clock: any WallClock
    let logger: Logger

    /// The largest frame the server sends (its announced max_frame_length):
    /// pages are cut to fit.
    let maxFrameLength: Int

    public init(
        accounts: AccountService, conversations: ConversationService, friends: FriendService, files: FileService,
        hub: FanoutHub, clock: any WallClock, logger: Logger, maxFrameLength: Int = 1 << 20
    ) {
        self.maxFrameLength = maxFrameLength
        self.accounts = accounts
        self.conversations = conversations
        self.friends = friends
        self.files = files
        self.hub = hub
        self.clock = clock
        self.logger = logger
    }

    var presence: PresenceHub { hub.presence }

    /// Room in a frame for everything but a page's events: the header, the
    /// other fields and each event's tag and length.
    static let framingReserve = 256

    /// Cuts a History page that would not fit in one frame (many large
    /// messages): drops events from the end paged away from (the newest for
    /// `after_seq`, the oldest otherwise) and sets `has_more`, so the next
    /// request continues without a gap. At least one event stays (a message
    /// always fits: max_message_bytes is checked against the frame limit).
    static func fit(_ r: inout Chatd_V1_HistoryResponse, within limit: Int, keepingOldest: Bool) {
        let sizes = r.events.map { (try? $0.serializedBytes() as [UInt8])?.count ?? 0 }
        var total = sizes.reduce(framingReserve) { $0 + $1 + 8 }
        guard total > limit else { return }
        var events = r.events[...]
        var remaining = sizes[...]
        while total > limit, events.count > 1 {
            let dropped = keepingOldest ? remaining.removeLast() : remaining.removeFirst()
            if keepingOldest { events.removeLast() } else { events.removeFirst() }
            total -= dropped + 8
        }
        r.events = Array(events)
        r.hasMore_p = true
    }

    /// What the connection must do besides writing the frame.
    public enum Outcome: Sendable {
        case reply(Frame)
        case authenticated(Frame, Session)
        case authenticationFailed(Frame)
        case refreshed(Frame, Session)
        case loggedOut(Frame)

        var frame: Frame {
            switch self {
            case .reply(let f), .authenticated(let f, _), .authenticationFailed(let f), .refreshed(let f, _), .loggedOut(let f): f
            }
        }
    }

    public func route(op: Op, frame: Frame, session: Session?, context: ConnectionContext) async -> Outcome {
        switch op {
        case .register, .login, .resume:
            let result = await respond(frame) { () async throws -> AuthResult in
                switch op {
                case .register:
                    let r = try Chatd_V1_RegisterRequest(payload: frame.payload)
                    return try await accounts.register(
                        username: r.username, password: r.password, email: r.email, displayName: r.displayName,
                        device: deviceInput(r.device), context: context)
                case .login:
                    let r = try Chatd_V1_LoginRequest(payload: frame.payload)
                    return try await accounts.login(
                        username: r.username, password: r.password, device: deviceInput(r.device), context: context)
                default:
                    let r = try Chatd_V1_ResumeRequest(payload: frame.payload)
                    return try await accounts.resume(token: Array(r.token), signature: Array(r.signature), context: context)
                }
            }
            switch result {
            case .success(let auth): return .authenticated(response(frame, authResponse(auth)), auth.session)
            case .failure(let error): return .authenticationFailed(error.frame)
            }
        case .refreshToken:
            guard let session else { return .reply(unauthenticated(frame)) }
            let refresh = await respond(frame) { () async throws -> AuthResult in
                _ = try Chatd_V1_RefreshTokenRequest(payload: frame.payload)
                return try await accounts.refreshToken(session, context: context)
            }
            switch refresh {
            case .success(let auth): return .refreshed(response(frame, authResponse(auth)), auth.session)
            case .failure(let error): return .reply(error.frame)
            }
        case .logout:
            guard let session else { return .reply(unauthenticated(frame)) }
            let logout = await respond(frame) { () async throws -> Void in
                _ = try Chatd_V1_LogoutRequest(payload: frame.payload)
                try await accounts.logout(session, context: context)
            }
            switch logout {
            case .success: return .loggedOut(response(frame, Chatd_V1_LogoutResponse()))
            case .failure(let error): return .reply(error.frame)
            }
        case .hello, .typing:
            // Answered by the connection handler (it owns the nonce and the typing throttle).
            return .reply(Frame.error(op: frame.op, id: frame.id, code: .internal, message: "op misrouted"))
        case .ping:
            let clock = self.clock
            let pong = await respond(frame) { () throws -> Chatd_V1_PingResponse in
                _ = try Chatd_V1_PingRequest(payload: frame.payload)
                var pong = Chatd_V1_PingResponse()
                pong.serverTimeMs = clock.nowMs()
                return pong
            }
            switch pong {
            case .success(let message): return .reply(response(frame, message))
            case .failure(let error): return .reply(error.frame)
            }
        default:
            guard let session else { return .reply(unauthenticated(frame)) }
            let result: Result<any SwiftProtobuf.Message, ErrorFrame> = await respond(frame) {
                try await authenticated(op, frame.payload, session, context)
            }
            switch result {
            case .success(let message):
                return .reply(Frame(kind: .response, op: frame.op, id: frame.id, payload: message.payloadBuffer()))
            case .failure(let error):
                return .reply(error.frame)
            }
        }
    }

    // MARK: Authenticated ops

    private func authenticated(
        _ op: Op, _ payload: ByteBuffer, _ session: Session, _ context: ConnectionContext
    ) async throws -> any SwiftProtobuf.Message {
        let empty = Chatd_V1_Empty()
        switch op {
        case .me:
            _ = try Chatd_V1_MeRequest(payload: payload)
            let account = try await accounts.me(session)
            var r = Chatd_V1_MeResponse()
            r.user = ProtoMap.user(account.user)
            r.email = account.email
            r.deviceID = session.deviceID
            return r
        case .updateProfile:
            let q = try Chatd_V1_UpdateProfileRequest(payload: payload)
            let change = ProfileChange(
                displayName: q.hasDisplayName ? q.displayName : nil, avatarURL: q.hasAvatarURL ? q.avatarURL : nil,
                statusText: q.hasStatusText ? q.statusText : nil)
            var r = Chatd_V1_UpdateProfileResponse()
            r.user = ProtoMap.user(try await accounts.updateProfile(session, change))
            return r
        case .changePassword:
            let q = try Chatd_V1_ChangePasswordRequest(payload: payload)
            try await accounts.changePassword(
                session, old: q.oldPassword, new: q.newPassword, keepOtherDevices: q.keepOtherDevices, context: context)
            return Chatd_V1_ChangePasswordResponse()
        case .listDevices:
            _ = try Chatd_V1_ListDevicesRequest(payload: payload)
            let now = clock.nowMs()
            var r = Chatd_V1_ListDevicesResponse()
            r.devices = try await accounts.devices(session).map { ProtoMap.device($0, current: session.deviceRowID, now: now) }
            return r
        case .revokeDevice:
            let q = try Chatd_V1_RevokeDeviceRequest(payload: payload)
            try await accounts.revokeDevice(session, deviceID: q.deviceID, context: context)
            return Chatd_V1_RevokeDeviceResponse()

        // Conversations
        case .createRoom:
            let q = try Chatd_V1_CreateRoomRequest(payload: payload)
            return ProtoMap.conversationResponse(
                try await conversations.createRoom(
                    session, name: q.name, description: q.description_p, visibility: try ProtoMap.visibility(q.visibility)))
        case .createGroup:
            let q = try Chatd_V1_CreateGroupRequest(payload: payload)
            let (group, skipped) = try await conversations.createGroup(
                session, name: q.name, description: q.description_p, userIDs: q.userIds.map(ProtoMap.id),
                usernames: q.usernames)
            var r = Chatd_V1_CreateGroupResponse()
            r.conversation = ProtoMap.conversation(group)
            r.skipped = skipped
            return r
        case .openDirect:
            let q = try Chatd_V1_OpenDirectRequest(payload: payload)
            return ProtoMap.conversationResponse(
                try await conversations.openDirect(session, userID: ProtoMap.id(q.userID), username: q.username))
        case .listPublicRooms:
            let q = try Chatd_V1_ListPublicRoomsRequest(payload: payload)
            return conversationList(try await conversations.listPublicRooms(session, after: ProtoMap.id(q.afterID), limit: Int(q.limit)))
        case .listConversations:
            let q = try Chatd_V1_ListConversationsRequest(payload: payload)
            // The cursor is both fields of the last item, or neither (the first page).
            if (q.beforeActivityMs == 0) != (q.beforeID == 0) {
                throw ChatFailure.invalid(
                    q.beforeID == 0 ? "before_id" : "before_activity_ms",
                    "give before_activity_ms and before_id together (the last item's), or neither")
            }
            let before: (Millis, ConversationID)? = q.beforeActivityMs == 0 ? nil : (q.beforeActivityMs, ProtoMap.id(q.beforeID))
            let page = try await conversations.listConversations(
                session, before: before, kind: try ProtoMap.kind(q.kind), limit: Int(q.limit))
            var r = Chatd_V1_ListConversationsResponse()
            r.conversations = page.items.map { ProtoMap.conversation($0.conversation) }
            r.states = page.items.map(ProtoMap.conversationState)
            r.hasMore_p = page.hasMore
            return r
        case .getConversation:
            let q = try Chatd_V1_GetConversationRequest(payload: payload)
            return ProtoMap.conversationResponse(try await conversations.get(session, conversation: ProtoMap.id(q.conversationID)))
        case .joinRoom:
            let q = try Chatd_V1_JoinRoomRequest(payload: payload)
            return ProtoMap.conversationResponse(try await conversations.join(session, room: ProtoMap.id(q.roomID)))
        case .invite:
            let q = try Chatd_V1_InviteRequest(payload: payload)
            return ProtoMap.conversationResponse(
                try await conversations.invite(
                    session, conversation: ProtoMap.id(q.conversationID), userID: ProtoMap.id(q.userID), username: q.username))
        case .leave:
            let q = try Chatd_V1_LeaveRequest(payload: payload)
            try await conversations.leave(session, conversation: ProtoMap.id(q.conversationID))
            return empty
        case .listMembers:
            let q = try Chatd_V1_ListMembersRequest(payload: payload)
            let page = try await conversations.members(
                session, conversation: ProtoMap.id(q.conversationID), after: ProtoMap.id(q.afterUserID), limit: Int(q.limit))
            var r = Chatd_V1_ListMembersResponse()
            r.members = page.items.map(ProtoMap.member)
            r.hasMore_p = page.hasMore
            return r
        case .listOnlineMembers:
            let q = try Chatd_V1_ConversationRef(payload: payload)
            let id = ProtoMap.id(q.conversationID)
            _ = try await conversations.requireMember(session, conversation: id)
            var r = Chatd_V1_OnlineMembersResponse()
            r.userIds = hub.members(of: id).filter { presence.presence(of: $0) != .offline }.sorted().map { UInt64($0) }
            return r
        case .kick, .ban, .unban, .mute, .setMemberRole, .transferOwnership:
            let q = try Chatd_V1_MemberActionRequest(payload: payload)
            let action: ConversationService.Moderation
            switch op {
            case .kick: action = .kick
            case .ban: action = .ban
            case .unban: action = .unban
            case .mute: action = .mute(durationMs: q.durationMs)
            case .setMemberRole: action = .setRole(try ProtoMap.role(q.role))
            default: action = .transferOwnership
            }
            try await conversations.moderate(
                session, conversation: ProtoMap.id(q.conversationID), userID: ProtoMap.id(q.userID), username: q.username,
                action)
            return empty
        case .updateConversation:
            let q = try Chatd_V1_UpdateConversationRequest(payload: payload)
            return ProtoMap.conversationResponse(
                try await conversations.update(
                    session, conversation: ProtoMap.id(q.conversationID), name: q.hasName ? q.name : nil,
                    description: q.hasDescription_p ? q.description_p : nil))
        case .deleteConversation:
            let q = try Chatd_V1_ConversationRef(payload: payload)
            try await conversations.delete(session, conversation: ProtoMap.id(q.conversationID))
            return empty

        // Messages
        case .sendMessage:
            let q = try Chatd_V1_SendMessageRequest(payload: payload)
            let outgoing = ConversationService.Outgoing(
                clientMsgID: q.clientMsgID, text: q.text, type: try ProtoMap.messageType(q.messageType),
                attachment: q.hasAttachment ? ProtoMap.attachment(q.attachment) : nil,
                replyTo: q.replyToSeq == 0 ? nil : ProtoMap.id(q.replyToSeq))
            return ProtoMap.eventResponse(
                try await conversations.send(
                    session, conversation: ProtoMap.id(q.conversationID), toUser: ProtoMap.id(q.toUserID), outgoing))
        case .history:
            let q = try Chatd_V1_HistoryRequest(payload: payload)
            if q.hasAfterSeq && q.hasBeforeSeq {
                throw ChatFailure.invalid("before_seq", "give after_seq or before_seq, not both")
            }
            let anchor: HistoryAnchor =
                q.hasAfterSeq ? .after(ProtoMap.id(q.afterSeq)) : q.hasBeforeSeq ? .before(ProtoMap.id(q.beforeSeq)) : .newest
            let page = try await conversations.history(
                session, conversation: ProtoMap.id(q.conversationID), anchor: anchor, limit: Int(q.limit))
            var r = Chatd_V1_HistoryResponse()
            r.events = page.events.map(ProtoMap.event)
            r.hasMore_p = page.hasMore
            r.headSeq = UInt64(page.headSeq)
            r.purgedThroughSeq = UInt64(page.purgedThroughSeq)
            if case .after = anchor {
                Self.fit(&r, within: maxFrameLength, keepingOldest: true)
            } else {
                Self.fit(&r, within: maxFrameLength, keepingOldest: false)
            }
            return r
        case .editMessage:
            let q = try Chatd_V1_EditMessageRequest(payload: payload)
            return ProtoMap.eventResponse(
                try await conversations.edit(
                    session, conversation: ProtoMap.id(q.conversationID), seq: ProtoMap.id(q.seq), text: q.text,
                    clientMsgID: q.clientMsgID))
        case .deleteMessage:
            let q = try Chatd_V1_DeleteMessageRequest(payload: payload)
            return ProtoMap.eventResponse(
                try await conversations.deleteMessage(
                    session, conversation: ProtoMap.id(q.conversationID), seq: ProtoMap.id(q.seq), clientMsgID: q.clientMsgID))
        case .addReaction, .removeReaction:
            let q = try Chatd_V1_ReactionRequest(payload: payload)
            let result = try await conversations.react(
                session, conversation: ProtoMap.id(q.conversationID), seq: ProtoMap.id(q.seq), emoji: q.emoji,
                add: op == .addReaction)
            guard let result else {
                var r = Chatd_V1_EventResponse()
                r.duplicate = true
                return r
            }
            return ProtoMap.eventResponse(result)
        case .markRead:
            let q = try Chatd_V1_MarkReadRequest(payload: payload)
            let id = ProtoMap.id(q.conversationID)
            let (seq, moved) = try await conversations.markRead(session, conversation: id, seq: ProtoMap.id(q.seq))
            if moved { hub.pushRead(conversation: id, user: session.userID, seq: seq) }
            var r = Chatd_V1_MarkReadResponse()
            r.readSeq = UInt64(seq)
            return r
        case .sync:
            let q = try Chatd_V1_SyncRequest(payload: payload)
            let result = try await conversations.sync(
                session, accountSeq: ProtoMap.id(q.accountSeq), limit: Int(q.limit), skipConversations: q.skipConversations)
            var r = Chatd_V1_SyncResponse()
            r.accountEvents = result.accountEvents.map(ProtoMap.accountEvent)
            r.hasMore_p = result.hasMore
            r.accountHeadSeq = UInt64(result.accountHeadSeq)
            r.conversations = result.conversations.map(ProtoMap.conversationState)
            r.conversationsTruncated = result.conversationsTruncated
            return r

        // Presence, friends, users
        case .setPresence:
            let q = try Chatd_V1_SetPresenceRequest(payload: payload)
            presence.setAway(session.userID, q.away)
            return empty
        case .friendRequest, .acceptFriend, .declineFriend, .cancelFriendRequest, .removeFriend, .block, .unblock:
            let q = try Chatd_V1_UserRef(payload: payload)
            let id = ProtoMap.id(q.userID)
            switch op {
            case .friendRequest: _ = try await friends.request(session, userID: id, username: q.username)
            case .acceptFriend: try await friends.accept(session, userID: id, username: q.username)
            case .declineFriend: try await friends.decline(session, userID: id, username: q.username)
            case .cancelFriendRequest: try await friends.cancel(session, userID: id, username: q.username)
            case .removeFriend: try await friends.remove(session, userID: id, username: q.username)
            case .block: try await friends.block(session, userID: id, username: q.username)
            default: try await friends.unblock(session, userID: id, username: q.username)
            }
            return empty
        case .listFriends:
            _ = try Chatd_V1_Empty(payload: payload)
            let lists = try await friends.lists(session)
            var r = Chatd_V1_ListFriendsResponse()
            r.friends = lists.friends.map { entry in
                var f = Chatd_V1_Friend()
                f.user = ProtoMap.user(entry.user)
                let state = presence.presence(of: entry.user.id)
                f.presence = ProtoMap.presence(state)
                if state == .offline { f.lastSeenAtMs = presence.lastSeen(of: entry.user.id) ?? entry.lastSeenAt }
                f.sinceMs = entry.since
                return f
            }
            r.incomingRequests = lists.incoming.map(ProtoMap.user)
            r.outgoingRequests = lists.outgoing.map(ProtoMap.user)
            return r
        case .listBlocked:
            _ = try Chatd_V1_Empty(payload: payload)
            var r = Chatd_V1_ListBlockedResponse()
            r.users = try await friends.blocked(session).map(ProtoMap.user)
            return r
        case .searchUsers:
            let q = try Chatd_V1_SearchUsersRequest(payload: payload)
            let page = try await friends.search(session, query: q.query, after: ProtoMap.id(q.afterID), limit: Int(q.limit))
            var r = Chatd_V1_SearchUsersResponse()
            r.users = page.items.map(ProtoMap.user)
            r.hasMore_p = page.hasMore
            return r
        case .uploadBegin, .uploadChunk, .uploadStatus, .uploadFinish, .uploadCancel, .download, .getFile, .searchMessages:
            return try await filesAndSearch(op, payload, session)
        case .hello, .ping, .register, .login, .resume, .logout, .refreshToken, .typing:
            throw ChatFailure(.wrongState, "op not routed here")
        }
    }

    // MARK: Helpers

    private func conversationList(_ page: PageResult<Conversation>) -> Chatd_V1_ListConversationsResponse {
        var r = Chatd_V1_ListConversationsResponse()
        r.conversations = page.items.map(ProtoMap.conversation)
        r.hasMore_p = page.hasMore
        return r
    }

    private func deviceInput(_ d: Chatd_V1_DeviceInfo) -> DeviceInput {
        DeviceInput(deviceID: d.deviceID, name: d.name, platform: d.platform, publicKey: Array(d.publicKey))
    }

    private func authResponse(_ auth: AuthResult) -> Chatd_V1_AuthResponse {
        var r = Chatd_V1_AuthResponse()
        r.user = ProtoMap.user(auth.session.user)
        r.deviceID = auth.session.deviceID
        r.token = auth.token.map { Data($0) } ?? Data()
        r.tokenExpiresAtMs = auth.session.tokenExpiresAt
        return r
    }

    private func response(_ request: Frame, _ message: some SwiftProtobuf.Message) -> Frame {
        Frame.response(op: request.op, id: request.id, message)
    }

    private func unauthenticated(_ frame: Frame) -> Frame {
        Frame.error(op: frame.op, id: frame.id, code: .unauthenticated, message: "log in first")
    }

    func respond<T: Sendable>(_ request: Frame, _ body: () async throws -> T) async -> Result<T, ErrorFrame> {
        await ErrorResponder(logger: logger).respond(request, body)
    }
}

/// An error response, as the failure side of a `Result`.
struct ErrorFrame: Error {
    let frame: Frame
}

/// Turns thrown errors into error responses: domain failures keep their code
/// and message; decoding failures are bad_payload; anything else is logged
/// with its detail and answered `internal` without it.
struct ErrorResponder: Sendable {
    let logger: Logger

    /// Runs `body`, turning every failure into the error frame for `request`.
    func respond<T: Sendable>(_ request: Frame, _ body: () async throws -> T) async -> Result<T, ErrorFrame> {
        do {
            return .success(try await body())
        } catch let failure as ChatFailure {
            return .failure(
                ErrorFrame(
                    frame: Frame.error(
                        op: request.op, id: request.id, code: ErrorMap.code(failure.kind), message: failure.message,
                        retryAfterMs: UInt32(clamping: failure.retryAfterMs), field: failure.field)))
        } catch let error where error is BinaryDecodingError || error is WrongWireTypeError {
            return .failure(
                ErrorFrame(
                    frame: Frame.error(
                        op: request.op, id: request.id, code: .badPayload, message: "payload does not parse: \(error)")))
        } catch {
            logger.error("request failed", metadata: ["chatd.op": "\(request.op)", "chatd.error": "\(error)"])
            return .failure(
                ErrorFrame(frame: Frame.error(op: request.op, id: request.id, code: .internal, message: "internal error")))
        }
    }
}
