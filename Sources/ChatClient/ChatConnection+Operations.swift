import ChatProtocol
import Foundation

/// Typed helpers for the common operations.
extension ChatConnection {
    @discardableResult
    public func hello(clientName: String = "chatclient-swift", clientVersion: String = "0.1") async throws
        -> Chatd_V1_HelloResponse
    {
        try await call(.hello, Self.helloRequest(clientName: clientName, clientVersion: clientVersion))
    }

    static func helloRequest(clientName: String, clientVersion: String) -> Chatd_V1_HelloRequest {
        var r = Chatd_V1_HelloRequest()
        r.protocolVersion = chatProtocolVersion
        r.clientName = clientName
        r.clientVersion = clientVersion
        return r
    }

    public func register(
        username: String, password: String, displayName: String = "", email: String = "",
        device: Chatd_V1_DeviceInfo = Chatd_V1_DeviceInfo(), registrationToken: String = ""
    ) async throws -> Chatd_V1_AuthResponse {
        var r = Chatd_V1_RegisterRequest()
        r.username = username
        r.password = password
        r.displayName = displayName
        r.email = email
        r.device = device
        r.registrationToken = registrationToken
        return try await call(.register, r)
    }

    public func login(username: String, password: String, device: Chatd_V1_DeviceInfo = Chatd_V1_DeviceInfo())
        async throws -> Chatd_V1_AuthResponse
    {
        var r = Chatd_V1_LoginRequest()
        r.username = username
        r.password = password
        r.device = device
        return try await call(.login, r)
    }

    public func resume(token: Data, signature: Data = Data()) async throws -> Chatd_V1_AuthResponse {
        var r = Chatd_V1_ResumeRequest()
        r.token = token
        r.signature = signature
        return try await call(.resume, r)
    }

    /// Hello and Resume in one write: a reconnecting client's one round trip
    /// instead of two (PROTOCOL.md §3.3: requests in the same write behind
    /// Hello are checked after it took effect). Not for a device bound to a
    /// key: its Resume signs the HelloResponse's nonce (§4.4) and has to wait
    /// for it. An error answering either throws (Hello's first).
    public func helloAndResume(token: Data, clientName: String = "chatclient-swift", clientVersion: String = "0.1")
        async throws -> (hello: Chatd_V1_HelloResponse, auth: Chatd_V1_AuthResponse)
    {
        var resume = Chatd_V1_ResumeRequest()
        resume.token = token
        let hello = Self.helloRequest(clientName: clientName, clientVersion: clientVersion)
        let frames = try await send(pipelined: [request(.hello, hello), request(.resume, resume)])
        return (try Self.decode(frames[0]), try Self.decode(frames[1]))
    }

    public func logout() async throws {
        _ = try await call(.logout, Chatd_V1_LogoutRequest(), as: Chatd_V1_LogoutResponse.self)
    }

    public func me() async throws -> Chatd_V1_MeResponse {
        try await call(.me, Chatd_V1_MeRequest())
    }

    public func ping() async throws -> Chatd_V1_PingResponse {
        try await call(.ping, Chatd_V1_PingRequest())
    }

    public func createRoom(name: String, description: String = "", visibility: Chatd_V1_Visibility = .public)
        async throws -> Chatd_V1_Conversation
    {
        var r = Chatd_V1_CreateRoomRequest()
        r.name = name
        r.description_p = description
        r.visibility = visibility
        return try await call(.createRoom, r, as: Chatd_V1_ConversationResponse.self).conversation
    }

    public func createGroup(name: String, usernames: [String] = [], userIDs: [UInt64] = []) async throws
        -> Chatd_V1_CreateGroupResponse
    {
        var r = Chatd_V1_CreateGroupRequest()
        r.name = name
        r.usernames = usernames
        r.userIds = userIDs
        return try await call(.createGroup, r)
    }

    public func openDirect(username: String = "", userID: UInt64 = 0) async throws -> Chatd_V1_Conversation {
        var r = Chatd_V1_OpenDirectRequest()
        r.username = username
        r.userID = userID
        return try await call(.openDirect, r, as: Chatd_V1_ConversationResponse.self).conversation
    }

    public func joinRoom(_ id: UInt64) async throws -> Chatd_V1_Conversation {
        var r = Chatd_V1_JoinRoomRequest()
        r.roomID = id
        return try await call(.joinRoom, r, as: Chatd_V1_ConversationResponse.self).conversation
    }

    public func invite(_ conversation: UInt64, username: String) async throws -> Chatd_V1_Conversation {
        var r = Chatd_V1_InviteRequest()
        r.conversationID = conversation
        r.username = username
        return try await call(.invite, r, as: Chatd_V1_ConversationResponse.self).conversation
    }

    /// CreateInviteLink (op 71): the link and its token (shown only now).
    public func createInviteLink(
        _ conversation: UInt64, expiresInMs: Int64 = 0, maxUses: UInt32 = 0
    ) async throws -> Chatd_V1_CreateInviteLinkResponse {
        var r = Chatd_V1_CreateInviteLinkRequest()
        r.conversationID = conversation
        r.expiresInMs = expiresInMs
        r.maxUses = maxUses
        return try await call(.createInviteLink, r)
    }

    public func listInviteLinks(_ conversation: UInt64) async throws -> [Chatd_V1_InviteLink] {
        var r = Chatd_V1_ConversationRef()
        r.conversationID = conversation
        return try await call(.listInviteLinks, r, as: Chatd_V1_ListInviteLinksResponse.self).invites
    }

    public func revokeInviteLink(_ conversation: UInt64, invite: UInt64) async throws {
        var r = Chatd_V1_RevokeInviteLinkRequest()
        r.conversationID = conversation
        r.inviteID = invite
        _ = try await call(.revokeInviteLink, r, as: Chatd_V1_Empty.self)
    }

    /// RedeemInviteLink (op 74): joins the link's room or group.
    public func redeemInviteLink(_ token: Data) async throws -> Chatd_V1_Conversation {
        var r = Chatd_V1_RedeemInviteLinkRequest()
        r.token = token
        return try await call(.redeemInviteLink, r, as: Chatd_V1_ConversationResponse.self).conversation
    }

    public func leave(_ conversation: UInt64) async throws {
        var r = Chatd_V1_LeaveRequest()
        r.conversationID = conversation
        _ = try await call(.leave, r, as: Chatd_V1_Empty.self)
    }

    public func conversations(limit: UInt32 = 0) async throws -> Chatd_V1_ListConversationsResponse {
        var r = Chatd_V1_ListConversationsRequest()
        r.limit = limit
        return try await call(.listConversations, r)
    }

    /// Moderation: kick, ban, unban, mute, setMemberRole, transferOwnership.
    public func moderate(
        _ op: Op, conversation: UInt64, username: String, durationMs: Int64 = 0, role: Chatd_V1_MemberRole = .roleUnspecified
    ) async throws {
        var r = Chatd_V1_MemberActionRequest()
        r.conversationID = conversation
        r.username = username
        r.durationMs = durationMs
        r.role = role
        _ = try await call(op, r, as: Chatd_V1_Empty.self)
    }

    public func send(
        room: UInt64 = 0, toUser: UInt64 = 0, text: String, clientMsgID: String = UUID().uuidString,
        replyTo: UInt64 = 0, type: Chatd_V1_MessageType = .text, attachment: Chatd_V1_Attachment? = nil
    ) async throws -> Chatd_V1_EventResponse {
        var r = Chatd_V1_SendMessageRequest()
        r.conversationID = room
        r.toUserID = toUser
        r.clientMsgID = clientMsgID
        r.text = text
        r.replyToSeq = replyTo
        r.messageType = type
        if let attachment { r.attachment = attachment }
        return try await call(.sendMessage, r)
    }

    public func edit(_ conversation: UInt64, seq: UInt64, text: String, clientMsgID: String = UUID().uuidString) async throws
        -> Chatd_V1_EventResponse
    {
        var r = Chatd_V1_EditMessageRequest()
        r.conversationID = conversation
        r.seq = seq
        r.text = text
        r.clientMsgID = clientMsgID
        return try await call(.editMessage, r)
    }

    public func deleteMessage(_ conversation: UInt64, seq: UInt64, clientMsgID: String = UUID().uuidString) async throws
        -> Chatd_V1_EventResponse
    {
        var r = Chatd_V1_DeleteMessageRequest()
        r.conversationID = conversation
        r.seq = seq
        r.clientMsgID = clientMsgID
        return try await call(.deleteMessage, r)
    }

    public func react(_ conversation: UInt64, seq: UInt64, emoji: String, add: Bool = true) async throws -> Chatd_V1_EventResponse {
        var r = Chatd_V1_ReactionRequest()
        r.conversationID = conversation
        r.seq = seq
        r.emoji = emoji
        return try await call(add ? .addReaction : .removeReaction, r)
    }

    @discardableResult
    public func markRead(_ conversation: UInt64, seq: UInt64) async throws -> UInt64 {
        var r = Chatd_V1_MarkReadRequest()
        r.conversationID = conversation
        r.seq = seq
        return try await call(.markRead, r, as: Chatd_V1_MarkReadResponse.self).readSeq
    }

    /// SetNotifications (op 59): the user's notification settings for a
    /// conversation (`mutedUntilMs` 0: not muted).
    @discardableResult
    public func setNotifications(_ conversation: UInt64, level: Chatd_V1_NotifyLevel, mutedUntilMs: Int64 = 0) async throws
        -> Chatd_V1_NotificationSettings
    {
        var r = Chatd_V1_SetNotificationsRequest()
        r.conversationID = conversation
        r.level = level
        r.mutedUntilMs = mutedUntilMs
        return try await call(.setNotifications, r)
    }

    /// SetPushTarget (op 20): while none of the user's devices is
    /// connected, this device is told of new messages through a UnifiedPush
    /// endpoint. With `webPush` (the device's P-256 public key, 65 bytes
    /// uncompressed, and its 16-byte auth secret) bodies are encrypted for
    /// the device (RFC 8291). Returns whether notifications carry the
    /// sender and text.
    @discardableResult
    public func setPushTarget(unifiedPush endpoint: String, webPush: (p256dh: Data, auth: Data)? = nil) async throws -> Bool {
        var r = Chatd_V1_SetPushTargetRequest()
        r.kind = .pushUnified
        r.endpoint = endpoint
        if let webPush { (r.p256Dh, r.auth) = (webPush.p256dh, webPush.auth) }
        let answer: Chatd_V1_SetPushTargetResponse = try await call(.setPushTarget, r)
        return answer.includeContent
    }

    /// SetPushTarget (op 20) through the server's push gateway (APNs, FCM).
    @discardableResult
    public func setPushTarget(gatewayPushkey pushkey: String, appID: String, platform: String) async throws -> Bool {
        var r = Chatd_V1_SetPushTargetRequest()
        r.kind = .pushGateway
        r.pushkey = pushkey
        r.appID = appID
        r.platform = platform
        let answer: Chatd_V1_SetPushTargetResponse = try await call(.setPushTarget, r)
        return answer.includeContent
    }

    /// RemovePushTarget (op 21): this device gets no more push notifications.
    public func removePushTarget() async throws {
        let _: Chatd_V1_Empty = try await call(.removePushTarget, Chatd_V1_RemovePushTargetRequest())
    }

    /// MarkDelivered (op 48): the device stored every event of each
    /// conversation up to its seq. One result per entry, in order; an entry
    /// that failed has its `errorCode` set. `DeliveryBatch` coalesces them.
    public func markDelivered(_ entries: [(conversation: UInt64, seq: UInt64)]) async throws -> [Chatd_V1_DeliveredResult] {
        var r = Chatd_V1_MarkDeliveredRequest()
        r.entries = entries.map { entry in
            var e = Chatd_V1_DeliveredEntry()
            e.conversationID = entry.conversation
            e.seq = entry.seq
            return e
        }
        return try await call(.markDelivered, r, as: Chatd_V1_MarkDeliveredResponse.self).results
    }

    public func sync(accountSeq: UInt64 = 0, limit: UInt32 = 0, skipConversations: Bool = false) async throws -> Chatd_V1_SyncResponse {
        var r = Chatd_V1_SyncRequest()
        r.accountSeq = accountSeq
        r.limit = limit
        r.skipConversations = skipConversations
        return try await call(.sync, r)
    }

    public func typing(_ conversation: UInt64, _ typing: Bool = true) async throws {
        var r = Chatd_V1_TypingRequest()
        r.conversationID = conversation
        r.typing = typing
        _ = try await call(.typing, r, as: Chatd_V1_Empty.self)
    }

    public func setAway(_ away: Bool) async throws {
        var r = Chatd_V1_SetPresenceRequest()
        r.away = away
        _ = try await call(.setPresence, r, as: Chatd_V1_Empty.self)
    }

    /// Friend and block operations: friendRequest, acceptFriend, declineFriend,
    /// cancelFriendRequest, removeFriend, block, unblock.
    public func friendOp(_ op: Op, username: String = "", userID: UInt64 = 0) async throws {
        var r = Chatd_V1_UserRef()
        r.username = username
        r.userID = userID
        _ = try await call(op, r, as: Chatd_V1_Empty.self)
    }

    /// One ListFriends page: the first of all three lists by default, or the
    /// next page of one list from the cursor an earlier answer gave.
    public func friends(
        _ list: Chatd_V1_FriendList = .all, cursor: String = "", limit: UInt32 = 0
    ) async throws -> Chatd_V1_ListFriendsResponse {
        var r = Chatd_V1_ListFriendsRequest()
        r.list = list
        r.cursor = cursor
        r.limit = limit
        return try await call(.listFriends, r)
    }

    /// Every friend and request, page after page (§7.2).
    public func allFriends() async throws -> Chatd_V1_ListFriendsResponse {
        var all = try await friends()
        while all.friendsHasMore {
            let next = try await friends(.friends, cursor: all.friendsCursor)
            all.friends += next.friends
            (all.friendsHasMore, all.friendsCursor) = (next.friendsHasMore, next.friendsCursor)
        }
        while all.incomingHasMore {
            let next = try await friends(.incoming, cursor: all.incomingCursor)
            all.incomingRequests += next.incomingRequests
            (all.incomingHasMore, all.incomingCursor) = (next.incomingHasMore, next.incomingCursor)
        }
        while all.outgoingHasMore {
            let next = try await friends(.outgoing, cursor: all.outgoingCursor)
            all.outgoingRequests += next.outgoingRequests
            (all.outgoingHasMore, all.outgoingCursor) = (next.outgoingHasMore, next.outgoingCursor)
        }
        return all
    }

    /// One page of the users this account blocks, by id.
    public func blocked(after: UInt64 = 0, limit: UInt32 = 0) async throws -> Chatd_V1_ListBlockedResponse {
        var r = Chatd_V1_ListBlockedRequest()
        r.afterID = after
        r.limit = limit
        return try await call(.listBlocked, r)
    }

    public func searchUsers(_ query: String, limit: UInt32 = 0) async throws -> Chatd_V1_SearchUsersResponse {
        var r = Chatd_V1_SearchUsersRequest()
        r.query = query
        r.limit = limit
        return try await call(.searchUsers, r)
    }

    public func history(room: UInt64, after: UInt64? = nil, before: UInt64? = nil, limit: UInt32 = 0) async throws
        -> Chatd_V1_HistoryResponse
    {
        var r = Chatd_V1_HistoryRequest()
        r.conversationID = room
        if let after { r.afterSeq = after }
        if let before { r.beforeSeq = before }
        r.limit = limit
        return try await call(.history, r)
    }

    /// Every event after `seq`, paging as needed (bounded by `maxEvents`).
    public func events(in conversation: UInt64, after seq: UInt64, maxEvents: Int = 100_000) async throws -> [Chatd_V1_Event] {
        var out: [Chatd_V1_Event] = []
        var after = seq
        while out.count < maxEvents {
            let page = try await history(room: conversation, after: after, limit: 200)
            out += page.events
            guard page.hasMore_p, let last = page.events.last?.seq else { break }
            after = last
        }
        return out
    }
}
