import ChatCore
import ChatProtocol
import Foundation
import SwiftProtobuf

/// The client route table: one row per `Op` (a test checks that every op has
/// exactly one). Rows are grouped as spec/PROTOCOL.md groups the ops; longer
/// handlers live in the `ClientRouter+...` files of this folder.
enum ClientRoutes {
    static let all: [ClientRoute] =
        connection + accounts + conversations + inviteLinks + moderation + messages + social + files

    /// Rows indexed by the op's wire number.
    private static let byRawValue: [ClientRoute?] = {
        var rows = [ClientRoute?](repeating: nil, count: Int(Op.allCases.map(\.rawValue).max() ?? 0) + 1)
        for route in all where rows[Int(route.op.rawValue)] == nil { rows[Int(route.op.rawValue)] = route }
        return rows
    }()

    static func row(_ op: Op) -> ClientRoute {
        // Every op has a row (ClientRouteTableTests); a missing one would answer `internal`.
        byRawValue[Int(op.rawValue)] ?? .connection(op, .authenticated, Chatd_V1_Empty.self)
    }

    static let connection: [ClientRoute] = [
        .connection(.hello, .none, Chatd_V1_HelloRequest.self),
        .connection(.typing, .authenticated, Chatd_V1_TypingRequest.self),
        .open(.ping, .hello, Chatd_V1_PingRequest.self) { router, _, _ in
            var pong = Chatd_V1_PingResponse()
            pong.serverTimeMs = router.clock.nowMs()
            return .message(pong)
        },
    ]

    static let accounts: [ClientRoute] = [
        .open(.register, .unauthenticated, Chatd_V1_RegisterRequest.self) { router, q, context in
            .authenticated(
                try await router.accounts.register(
                    username: q.username, password: q.password, email: q.email, displayName: q.displayName,
                    device: ProtoMap.deviceInput(q.device), registrationToken: q.registrationToken, context: context))
        },
        .open(.login, .unauthenticated, Chatd_V1_LoginRequest.self) { router, q, context in
            .authenticated(
                try await router.accounts.login(
                    username: q.username, password: q.password, device: ProtoMap.deviceInput(q.device), context: context))
        },
        .open(.resume, .unauthenticated, Chatd_V1_ResumeRequest.self) { router, q, context in
            .authenticated(try await router.accounts.resume(token: Array(q.token), signature: Array(q.signature), context: context))
        },
        .sessionReply(.refreshToken, .small, Chatd_V1_RefreshTokenRequest.self) { router, _, session, context in
            .refreshed(try await router.accounts.refreshToken(session, context: context))
        },
        .sessionReply(.logout, .small, Chatd_V1_LogoutRequest.self) { router, _, session, context in
            try await router.accounts.logout(session, context: context)
            return .loggedOut
        },
        .session(.me, .small, Chatd_V1_MeRequest.self) { router, _, session, _ in
            let account = try await router.accounts.me(session)
            var r = Chatd_V1_MeResponse()
            r.user = ProtoMap.user(account.user)
            r.email = account.email
            r.deviceID = session.deviceID
            return r
        },
        .session(.updateProfile, .small, Chatd_V1_UpdateProfileRequest.self) { router, q, session, _ in
            let change = ProfileChange(
                displayName: q.hasDisplayName ? q.displayName : nil, avatarURL: q.hasAvatarURL ? q.avatarURL : nil,
                statusText: q.hasStatusText ? q.statusText : nil)
            var r = Chatd_V1_UpdateProfileResponse()
            r.user = ProtoMap.user(try await router.accounts.updateProfile(session, change))
            return r
        },
        .session(.changePassword, .small, Chatd_V1_ChangePasswordRequest.self) { router, q, session, context in
            try await router.accounts.changePassword(
                session, old: q.oldPassword, new: q.newPassword, keepOtherDevices: q.keepOtherDevices, context: context)
            return Chatd_V1_ChangePasswordResponse()
        },
        .session(.listDevices, .page, Chatd_V1_ListDevicesRequest.self) { router, _, session, _ in
            let now = router.clock.nowMs()
            var r = Chatd_V1_ListDevicesResponse()
            r.devices = try await router.accounts.devices(session).map {
                ProtoMap.device($0, current: session.deviceRowID, now: now)
            }
            return r
        },
        .session(.revokeDevice, .small, Chatd_V1_RevokeDeviceRequest.self) { router, q, session, context in
            try await router.accounts.revokeDevice(session, deviceID: q.deviceID, context: context)
            return Chatd_V1_RevokeDeviceResponse()
        },
        .session(.setPushTarget, .small, Chatd_V1_SetPushTargetRequest.self) { router, q, session, context in
            guard let push = router.push else { throw ChatFailure.invalid("kind", "this server sends no push notifications") }
            var r = Chatd_V1_SetPushTargetResponse()
            r.includeContent = try await push.set(
                session, kind: ProtoMap.pushKind(q.kind), endpoint: q.endpoint, pushkey: q.pushkey, appID: q.appID,
                platform: q.platform, p256dh: [UInt8](q.p256Dh), auth: [UInt8](q.auth), address: context.address)
            return r
        },
        .session(.removePushTarget, .small, Chatd_V1_RemovePushTargetRequest.self) { router, _, session, context in
            try await router.push?.remove(session, address: context.address)
            return Chatd_V1_Empty()
        },
    ]

    static let conversations: [ClientRoute] = [
        .session(.createRoom, .small, Chatd_V1_CreateRoomRequest.self) { router, q, session, _ in
            ProtoMap.conversationResponse(
                try await router.conversations.createRoom(
                    session, name: q.name, description: q.description_p, visibility: try ProtoMap.visibility(q.visibility)))
        },
        .session(.createGroup, .page, Chatd_V1_CreateGroupRequest.self) { router, q, session, _ in
            let (group, skipped) = try await router.conversations.createGroup(
                session, name: q.name, description: q.description_p, userIDs: q.userIds.map(ProtoMap.id),
                usernames: q.usernames)
            var r = Chatd_V1_CreateGroupResponse()
            r.conversation = ProtoMap.conversation(group)
            r.skipped = skipped
            return r
        },
        .session(.openDirect, .small, Chatd_V1_OpenDirectRequest.self) { router, q, session, _ in
            ProtoMap.conversationResponse(
                try await router.conversations.openDirect(session, userID: ProtoMap.id(q.userID), username: q.username))
        },
        .session(.listPublicRooms, .page, Chatd_V1_ListPublicRoomsRequest.self) { router, q, session, _ in
            let page = try await router.conversations.listPublicRooms(session, after: ProtoMap.id(q.afterID), limit: Int(q.limit))
            var r = Chatd_V1_ListConversationsResponse()
            r.conversations = page.items.map(ProtoMap.conversation)
            r.hasMore_p = page.hasMore
            return r
        },
        .session(.listConversations, .page, Chatd_V1_ListConversationsRequest.self) { router, q, session, _ in
            try await router.listConversations(q, session)
        },
        .session(.getConversation, .page, Chatd_V1_GetConversationRequest.self) { router, q, session, _ in
            ProtoMap.conversationResponse(
                try await router.conversations.get(session, conversation: ProtoMap.id(q.conversationID)))
        },
        .session(.joinRoom, .small, Chatd_V1_JoinRoomRequest.self) { router, q, session, _ in
            ProtoMap.conversationResponse(try await router.conversations.join(session, room: ProtoMap.id(q.roomID)))
        },
        .session(.invite, .small, Chatd_V1_InviteRequest.self) { router, q, session, _ in
            ProtoMap.conversationResponse(
                try await router.conversations.invite(
                    session, conversation: ProtoMap.id(q.conversationID), userID: ProtoMap.id(q.userID), username: q.username))
        },
        .session(.leave, .small, Chatd_V1_LeaveRequest.self) { router, q, session, _ in
            try await router.conversations.leave(session, conversation: ProtoMap.id(q.conversationID))
            return Chatd_V1_Empty()
        },
        .session(.listMembers, .page, Chatd_V1_ListMembersRequest.self) { router, q, session, _ in
            let page = try await router.conversations.members(
                session, conversation: ProtoMap.id(q.conversationID), after: ProtoMap.id(q.afterUserID), limit: Int(q.limit))
            var r = Chatd_V1_ListMembersResponse()
            r.members = page.items.map(ProtoMap.member)
            r.hasMore_p = page.hasMore
            return r
        },
        .session(.listOnlineMembers, .page, Chatd_V1_ConversationRef.self) { router, q, session, _ in
            let id = ProtoMap.id(q.conversationID)
            _ = try await router.conversations.requireMember(session, conversation: id)
            var r = Chatd_V1_OnlineMembersResponse()
            r.userIds = router.hub.members(of: id).filter { router.presence.presence(of: $0) != .offline }.sorted()
                .map { UInt64($0) }
            return r
        },
        .session(.updateConversation, .small, Chatd_V1_UpdateConversationRequest.self) { router, q, session, _ in
            ProtoMap.conversationResponse(
                try await router.conversations.update(
                    session, conversation: ProtoMap.id(q.conversationID), name: q.hasName ? q.name : nil,
                    description: q.hasDescription_p ? q.description_p : nil))
        },
        .session(.deleteConversation, .small, Chatd_V1_ConversationRef.self) { router, q, session, _ in
            try await router.conversations.delete(session, conversation: ProtoMap.id(q.conversationID))
            return Chatd_V1_Empty()
        },
    ]

    static let moderation: [ClientRoute] = [
        moderate(.kick) { _ in .kick },
        moderate(.ban) { _ in .ban },
        moderate(.unban) { _ in .unban },
        moderate(.mute) { q in .mute(durationMs: q.durationMs) },
        moderate(.setMemberRole) { q in .setRole(try ProtoMap.role(q.role)) },
        moderate(.transferOwnership) { _ in .transferOwnership },
    ]

    /// A moderation op: one request type, the action read from it.
    private static func moderate(
        _ op: Op, _ action: @escaping @Sendable (Chatd_V1_MemberActionRequest) throws -> ConversationService.Moderation
    ) -> ClientRoute {
        .session(op, .small, Chatd_V1_MemberActionRequest.self) { router, q, session, _ in
            try await router.conversations.moderate(
                session, conversation: ProtoMap.id(q.conversationID), userID: ProtoMap.id(q.userID), username: q.username,
                try action(q))
            return Chatd_V1_Empty()
        }
    }

    static let messages: [ClientRoute] = [
        .session(.sendMessage, .small, Chatd_V1_SendMessageRequest.self) { router, q, session, _ in
            let outgoing = ConversationService.Outgoing(
                clientMsgID: q.clientMsgID, text: q.text, type: try ProtoMap.messageType(q.messageType),
                attachment: q.hasAttachment ? ProtoMap.attachment(q.attachment) : nil,
                replyTo: q.replyToSeq == 0 ? nil : ProtoMap.id(q.replyToSeq))
            return ProtoMap.eventResponse(
                try await router.conversations.send(
                    session, conversation: ProtoMap.id(q.conversationID), toUser: ProtoMap.id(q.toUserID), outgoing))
        },
        .session(.history, .page, Chatd_V1_HistoryRequest.self) { router, q, session, _ in
            try await router.history(q, session)
        },
        .session(.editMessage, .small, Chatd_V1_EditMessageRequest.self) { router, q, session, _ in
            ProtoMap.eventResponse(
                try await router.conversations.edit(
                    session, conversation: ProtoMap.id(q.conversationID), seq: ProtoMap.id(q.seq), text: q.text,
                    clientMsgID: q.clientMsgID))
        },
        .session(.deleteMessage, .small, Chatd_V1_DeleteMessageRequest.self) { router, q, session, _ in
            ProtoMap.eventResponse(
                try await router.conversations.deleteMessage(
                    session, conversation: ProtoMap.id(q.conversationID), seq: ProtoMap.id(q.seq), clientMsgID: q.clientMsgID))
        },
        react(.addReaction, add: true),
        react(.removeReaction, add: false),
        .session(.markRead, .small, Chatd_V1_MarkReadRequest.self) { router, q, session, _ in
            let id = ProtoMap.id(q.conversationID)
            let (seq, moved) = try await router.conversations.markRead(session, conversation: id, seq: ProtoMap.id(q.seq))
            if moved { router.hub.pushRead(conversation: id, user: session.userID, seq: seq) }
            var r = Chatd_V1_MarkReadResponse()
            r.readSeq = UInt64(seq)
            return r
        },
        .session(.markDelivered, .small, Chatd_V1_MarkDeliveredRequest.self) { router, q, session, _ in
            // The count is checked before the entries are mapped (a bounded payload, but no work past the limit).
            try ReceiptPolicy.checkEntries(q.entries.count)
            let entries = q.entries.map { DeliveredEntry(conversation: ProtoMap.id($0.conversationID), seq: ProtoMap.id($0.seq)) }
            let outcomes = try await router.conversations.markDelivered(session, entries)
            for outcome in outcomes where outcome.moved {
                router.hub.deliveredMoved(conversation: outcome.conversation, user: session.userID, seq: outcome.deliveredSeq)
            }
            var r = Chatd_V1_MarkDeliveredResponse()
            r.results = outcomes.map(ProtoMap.deliveredResult)
            return r
        },
        .session(.setNotifications, .small, Chatd_V1_SetNotificationsRequest.self) { router, q, session, _ in
            let id = ProtoMap.id(q.conversationID)
            let settings = try await router.conversations.setNotifications(
                session, conversation: id, level: ProtoMap.notifyLevel(q.level), mutedUntil: q.mutedUntilMs)
            var r = Chatd_V1_NotificationSettings()
            r.conversationID = UInt64(clamping: id)
            r.level = ProtoMap.notifyLevel(settings.level)
            r.mutedUntilMs = settings.mutedUntil ?? 0
            return r
        },
        .session(.sync, .page, Chatd_V1_SyncRequest.self) { router, q, session, _ in
            let result = try await router.conversations.sync(
                session, accountSeq: ProtoMap.id(q.accountSeq), limit: Int(q.limit), skipConversations: q.skipConversations)
            var r = Chatd_V1_SyncResponse()
            r.accountEvents = result.accountEvents.map(ProtoMap.accountEvent)
            r.hasMore_p = result.hasMore
            r.accountHeadSeq = UInt64(result.accountHeadSeq)
            r.conversations = result.conversations.map(ProtoMap.conversationState)
            r.conversationsTruncated = result.conversationsTruncated
            return r
        },
    ]

    private static func react(_ op: Op, add: Bool) -> ClientRoute {
        .session(op, .small, Chatd_V1_ReactionRequest.self) { router, q, session, _ in
            let result = try await router.conversations.react(
                session, conversation: ProtoMap.id(q.conversationID), seq: ProtoMap.id(q.seq), emoji: q.emoji, add: add)
            guard let result else {
                var r = Chatd_V1_EventResponse()
                r.duplicate = true
                return r
            }
            return ProtoMap.eventResponse(result)
        }
    }

    /// Invite links (§5.14).
    static let inviteLinks: [ClientRoute] = [
        .session(.createInviteLink, .small, Chatd_V1_CreateInviteLinkRequest.self) { router, q, session, context in
            let (grant, token) = try await router.invites.create(
                session, conversation: ProtoMap.id(q.conversationID), expiresInMs: q.expiresInMs, maxUses: q.maxUses,
                address: context.address)
            var r = Chatd_V1_CreateInviteLinkResponse()
            r.invite = ProtoMap.inviteLink(grant)
            r.token = Data(token)
            return r
        },
        .session(.listInviteLinks, .small, Chatd_V1_ConversationRef.self) { router, q, session, _ in
            var r = Chatd_V1_ListInviteLinksResponse()
            r.invites = try await router.invites.list(session, conversation: ProtoMap.id(q.conversationID)).map(ProtoMap.inviteLink)
            return r
        },
        .session(.revokeInviteLink, .small, Chatd_V1_RevokeInviteLinkRequest.self) { router, q, session, context in
            try await router.invites.revoke(
                session, conversation: ProtoMap.id(q.conversationID), invite: ProtoMap.id(q.inviteID), address: context.address)
            return Chatd_V1_Empty()
        },
        .session(.redeemInviteLink, .small, Chatd_V1_RedeemInviteLinkRequest.self) { router, q, session, context in
            ProtoMap.conversationResponse(try await router.invites.redeem(session, token: Array(q.token), address: context.address))
        },
    ]

    static let social: [ClientRoute] = [
        .session(.setPresence, .small, Chatd_V1_SetPresenceRequest.self) { router, q, session, _ in
            try router.presence.setAway(session.userID, q.away)
            return Chatd_V1_Empty()
        },
        friend(.friendRequest) { friends, session, id, name in _ = try await friends.request(session, userID: id, username: name) },
        friend(.acceptFriend) { try await $0.accept($1, userID: $2, username: $3) },
        friend(.declineFriend) { try await $0.decline($1, userID: $2, username: $3) },
        friend(.cancelFriendRequest) { try await $0.cancel($1, userID: $2, username: $3) },
        friend(.removeFriend) { try await $0.remove($1, userID: $2, username: $3) },
        friend(.block) { try await $0.block($1, userID: $2, username: $3) },
        friend(.unblock) { try await $0.unblock($1, userID: $2, username: $3) },
        .session(.listFriends, .page, Chatd_V1_ListFriendsRequest.self) { router, q, session, _ in
            try await router.listFriends(session, q)
        },
        .session(.listBlocked, .page, Chatd_V1_ListBlockedRequest.self) { router, q, session, _ in
            var page = try await router.friends.blocked(session, after: ProtoMap.id(q.afterID), limit: Int(q.limit))
            ClientRouter.fit(&page, within: router.maxFrameLength)
            var r = Chatd_V1_ListBlockedResponse()
            r.users = page.items.map(ProtoMap.user)
            r.hasMore_p = page.hasMore
            return r
        },
        .session(.searchUsers, .page, Chatd_V1_SearchUsersRequest.self) { router, q, session, _ in
            let page = try await router.friends.search(session, query: q.query, after: ProtoMap.id(q.afterID), limit: Int(q.limit))
            var r = Chatd_V1_SearchUsersResponse()
            r.users = page.items.map(ProtoMap.user)
            r.hasMore_p = page.hasMore
            return r
        },
    ]

    /// A friends/blocks op: a user reference in, an empty answer out.
    private static func friend(
        _ op: Op, _ action: @escaping @Sendable (FriendService, Session, UserID, String) async throws -> Void
    ) -> ClientRoute {
        .session(op, .small, Chatd_V1_UserRef.self) { router, q, session, _ in
            try await action(router.friends, session, ProtoMap.id(q.userID), q.username)
            return Chatd_V1_Empty()
        }
    }
}
