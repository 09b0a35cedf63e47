import ChatCore
import ChatProtocol

/// Domain values to wire messages and back.
enum ProtoMap {
    static func user(_ u: User) -> Chatd_V1_User {
        var p = Chatd_V1_User()
        p.id = UInt64(u.id)
        p.username = u.username
        p.displayName = u.displayName
        p.avatarURL = u.avatarURL
        p.statusText = u.statusText
        p.role = u.role.rawValue
        p.createdAtMs = u.createdAt
        return p
    }

    static func deviceInput(_ d: Chatd_V1_DeviceInfo) -> DeviceInput {
        DeviceInput(deviceID: d.deviceID, name: d.name, platform: d.platform, publicKey: Array(d.publicKey))
    }

    static func device(_ d: Device, current: DeviceRowID?, now: Millis) -> Chatd_V1_Device {
        var p = Chatd_V1_Device()
        p.deviceID = d.deviceID
        p.name = d.name
        p.platform = d.platform
        p.createdAtMs = d.createdAt
        p.lastSeenAtMs = d.lastSeenAt
        p.lastAddress = d.lastAddress
        p.revoked = d.isRevoked
        p.hasPublicKey_p = d.publicKey != nil
        p.current = d.rowID == current
        p.signedIn = !d.isRevoked && (d.tokenExpiresAt ?? 0) > now
        p.push = d.push.map(pushKind) ?? .unspecified
        return p
    }

    static func pushKind(_ k: PushKind) -> Chatd_V1_PushKind {
        switch k {
        case .unifiedPush: .pushUnified
        case .gateway: .pushGateway
        }
    }

    /// A request's kind; nil for UNSPECIFIED and unknown values.
    static func pushKind(_ k: Chatd_V1_PushKind) -> PushKind? {
        switch k {
        case .pushUnified: .unifiedPush
        case .pushGateway: .gateway
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    static func role(_ r: Chatd_V1_MemberRole) throws(ChatFailure) -> MemberRole {
        switch r {
        case .member: return .member
        case .admin: return .admin
        case .owner: return .owner
        case .roleUnspecified, .UNRECOGNIZED: throw ChatFailure.invalid("role", "role must be MEMBER, ADMIN or OWNER")
        }
    }

    static func role(_ r: MemberRole?) -> Chatd_V1_MemberRole {
        switch r {
        case nil: .roleUnspecified
        case .member: .member
        case .admin: .admin
        case .owner: .owner
        }
    }

    static func visibility(_ v: Visibility) -> Chatd_V1_Visibility {
        switch v {
        case .public: .public
        case .private: .private
        }
    }

    static func visibility(_ v: Chatd_V1_Visibility) throws(ChatFailure) -> Visibility {
        switch v {
        case .unspecified, .public: return .public
        case .private: return .private
        case .UNRECOGNIZED(let n): throw ChatFailure.invalid("visibility", "unknown visibility \(n)")
        }
    }

    static func kind(_ k: ConversationKind) -> Chatd_V1_ConversationKind {
        switch k {
        case .room: .room
        case .group: .group
        case .direct: .direct
        }
    }

    static func kind(_ k: Chatd_V1_ConversationKind) throws(ChatFailure) -> ConversationKind? {
        switch k {
        case .kindUnspecified: return nil
        case .room: return .room
        case .group: return .group
        case .direct: return .direct
        case .UNRECOGNIZED(let n): throw ChatFailure.invalid("kind", "unknown conversation kind \(n)")
        }
    }

    static func conversation(_ c: Conversation) -> Chatd_V1_Conversation {
        var p = Chatd_V1_Conversation()
        p.id = UInt64(c.id)
        p.kind = kind(c.kind)
        p.name = c.name
        p.description_p = c.description
        p.visibility = visibility(c.visibility)
        p.createdBy = UInt64(c.createdBy ?? 0)
        p.createdAtMs = c.createdAt
        p.headSeq = UInt64(c.headSeq)
        p.memberCount = UInt32(clamping: c.memberCount)
        p.myRole = role(c.myRole)
        p.lastActivityAtMs = c.lastActivityAt
        p.peerUserID = UInt64(c.peerUserID ?? 0)
        p.purgedThroughSeq = UInt64(c.purgedThroughSeq)
        return p
    }

    static func conversationResponse(_ c: Conversation) -> Chatd_V1_ConversationResponse {
        var r = Chatd_V1_ConversationResponse()
        r.conversation = conversation(c)
        return r
    }

    static func conversationState(_ state: ConversationState) -> Chatd_V1_ConversationState {
        var s = Chatd_V1_ConversationState()
        s.conversation = conversation(state.conversation)
        s.readSeq = UInt64(state.readSeq)
        s.unreadCount = UInt32(clamping: state.unreadCount)
        s.mentionCount = UInt32(clamping: state.mentionCount)
        if let last = state.lastMessage { s.lastMessage = event(last) }
        s.memberPositions = state.memberPositions.map { p in
            var m = Chatd_V1_MemberPosition()
            m.userID = UInt64(clamping: p.userID)
            m.deliveredSeq = UInt64(clamping: p.deliveredSeq)
            m.readSeq = UInt64(clamping: p.readSeq)
            return m
        }
        s.deliveredCount = UInt32(clamping: state.deliveredCount)
        s.readCount = UInt32(clamping: state.readCount)
        s.notifyLevel = notifyLevel(state.notifications.level)
        s.notificationsMutedUntilMs = state.notifications.mutedUntil ?? 0
        return s
    }

    static func deliveredResult(_ outcome: DeliveredOutcome) -> Chatd_V1_DeliveredResult {
        var r = Chatd_V1_DeliveredResult()
        r.conversationID = UInt64(clamping: outcome.conversation)
        r.deliveredSeq = UInt64(clamping: outcome.deliveredSeq)
        if let failure = outcome.failure { r.errorCode = UInt32(ErrorMap.code(failure.kind).rawValue) }
        return r
    }

    static func member(_ m: Member) -> Chatd_V1_Member {
        var p = Chatd_V1_Member()
        p.user = user(m.user)
        p.role = role(m.role)
        p.joinedAtMs = m.joinedAt
        p.readSeq = UInt64(m.readSeq)
        p.mutedUntilMs = m.mutedUntil ?? 0
        p.deliveredSeq = UInt64(clamping: max(m.deliveredSeq, m.readSeq))
        return p
    }

    static func eventKind(_ k: EventKind) -> Chatd_V1_EventKind {
        switch k {
        case .message: .message
        case .memberJoined: .memberJoined
        case .memberAdded: .memberAdded
        case .memberLeft: .memberLeft
        case .roomCreated: .roomCreated
        case .roleChanged: .roleChanged
        case .messageEdited: .messageEdited
        case .messageDeleted: .messageDeleted
        case .reactionAdded: .reactionAdded
        case .reactionRemoved: .reactionRemoved
        case .memberKicked: .memberKicked
        case .memberBanned: .memberBanned
        case .memberUnbanned: .memberUnbanned
        case .memberMuted: .memberMuted
        case .conversationUpdated: .conversationUpdated
        }
    }

    static func messageType(_ t: MessageType) -> Chatd_V1_MessageType {
        switch t {
        case .text: .text
        case .image: .image
        case .file: .file
        case .system: .system
        }
    }

    static func messageType(_ t: Chatd_V1_MessageType) throws(ChatFailure) -> MessageType {
        switch t {
        case .unspecified, .text: return .text
        case .image: return .image
        case .file: return .file
        case .system: return .system
        case .UNRECOGNIZED(let n): throw ChatFailure.invalid("message_type", "unknown message type \(n)")
        }
    }

    static func attachment(_ a: Attachment) -> Chatd_V1_Attachment {
        var p = Chatd_V1_Attachment()
        p.fileID = a.fileID
        p.name = a.name
        p.size = UInt64(max(0, a.size))
        p.mimeType = a.mimeType
        p.width = UInt32(clamping: a.width)
        p.height = UInt32(clamping: a.height)
        return p
    }

    static func attachment(_ p: Chatd_V1_Attachment) -> Attachment {
        Attachment(
            fileID: p.fileID, name: p.name, size: Int64(clamping: p.size), mimeType: p.mimeType, width: Int(p.width),
            height: Int(p.height))
    }

    static func event(_ e: Event) -> Chatd_V1_Event {
        var p = Chatd_V1_Event()
        p.conversationID = UInt64(e.conversationID)
        p.seq = UInt64(e.seq)
        p.kind = eventKind(e.kind)
        p.senderID = UInt64(max(0, e.senderID))
        p.clientMsgID = e.clientMsgID ?? ""
        p.text = e.text ?? ""
        p.subjectUserID = UInt64(e.subjectUserID ?? 0)
        p.role = role(e.role)
        p.createdAtMs = e.createdAt
        if let t = e.messageType { p.messageType = messageType(t) }
        p.replyToSeq = UInt64(e.replyToSeq ?? 0)
        p.mentions = e.mentions.map { UInt64($0) }
        if let a = e.attachment { p.attachment = attachment(a) }
        p.targetSeq = UInt64(e.targetSeq ?? 0)
        p.emoji = e.emoji ?? ""
        p.editedAtMs = e.editedAt ?? 0
        p.deleted = e.deleted
        p.name = e.name ?? ""
        p.description_p = e.description ?? ""
        p.mutedUntilMs = e.mutedUntil ?? 0
        p.reactions = e.reactions.map {
            var r = Chatd_V1_ReactionSummary()
            r.emoji = $0.emoji
            r.count = UInt32(clamping: $0.count)
            r.mine = $0.mine
            return r
        }
        return p
    }

    static func eventResponse(_ r: AppendResult) -> Chatd_V1_EventResponse {
        var p = Chatd_V1_EventResponse()
        p.event = event(r.event)
        p.duplicate = r.duplicate
        return p
    }

    static func accountEventKind(_ k: AccountEventKind) -> Chatd_V1_AccountEventKind {
        switch k {
        case .addedToConversation: .addedToConversation
        case .removedFromConversation: .removedFromConversation
        case .conversationDeleted: .conversationDeleted
        case .friendRequestReceived: .friendRequestReceived
        case .friendRequestSent: .friendRequestSent
        case .friendAdded: .friendAdded
        case .friendRequestDeclined: .friendRequestDeclined
        case .friendRequestCanceled: .friendRequestCanceled
        case .friendRemoved: .friendRemoved
        case .deviceRevoked: .ownDeviceRevoked
        case .profileChanged: .profileChanged
        case .blockedChanged: .blockedChanged
        case .systemNotice: .systemNotice
        case .notificationsChanged: .notificationsChanged
        case .pushTargetChanged: .pushTargetChanged
        }
    }

    static func notifyLevel(_ l: NotifyLevel) -> Chatd_V1_NotifyLevel {
        switch l {
        case .all: .notifyAll
        case .mentions: .notifyMentions
        case .nothing: .notifyNone
        }
    }

    /// A request's level; nil for UNSPECIFIED and unknown values.
    static func notifyLevel(_ l: Chatd_V1_NotifyLevel) -> NotifyLevel? {
        switch l {
        case .notifyAll: .all
        case .notifyMentions: .mentions
        case .notifyNone: .nothing
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    static func accountEvent(_ e: AccountEvent) -> Chatd_V1_AccountEvent {
        var p = Chatd_V1_AccountEvent()
        p.seq = UInt64(e.seq)
        p.kind = accountEventKind(e.kind)
        p.conversationID = UInt64(e.conversationID ?? 0)
        p.otherUserID = UInt64(e.otherUserID ?? 0)
        p.deviceID = e.deviceID ?? ""
        p.reason = e.reason ?? ""
        p.createdAtMs = e.createdAt
        if e.kind == .notificationsChanged {
            // Stored in `reason`; on the wire as typed fields.
            let settings = e.reason.flatMap(NotificationSettings.init(encoded:)) ?? NotificationSettings()
            p.reason = ""
            p.notifyLevel = notifyLevel(settings.level)
            p.notificationsMutedUntilMs = settings.mutedUntil ?? 0
        }
        return p
    }

    static func presence(_ p: PresenceState) -> Chatd_V1_Presence {
        switch p {
        case .online: .online
        case .away: .away
        case .offline: .offline
        }
    }

    static func goodbye(_ r: ConnectionStateMachine.GoodbyeReason) -> Chatd_V1_GoodbyeReason {
        switch r {
        case .idleTimeout: .idleTimeout
        case .authTimeout: .authTimeout
        case .protocolError: .protocolError
        case .tokenExpired: .tokenExpired
        case .deviceRevoked: .deviceRevoked
        case .accountDisabled: .accountDisabled
        case .passwordChanged: .passwordChanged
        case .serverShutdown: .serverShutdown
        case .slowConsumer: .slowConsumer
        case .kicked: .kicked
        case .tokenEnded: .tokenEnded
        }
    }

    static func goodbye(_ r: SessionEndReason) -> ConnectionStateMachine.GoodbyeReason {
        switch r {
        case .deviceRevoked: .deviceRevoked
        case .accountDisabled: .accountDisabled
        case .passwordChanged: .passwordChanged
        case .tokenEnded: .tokenEnded
        }
    }

    /// Converts a wire id (uint64) to a domain id; ids above Int64.max exist nowhere.
    static func id(_ value: UInt64) -> Int64 { Int64(clamping: value) }

    static func inviteLink(_ g: Grant) -> Chatd_V1_InviteLink {
        var r = Chatd_V1_InviteLink()
        r.id = UInt64(clamping: g.id)
        r.conversationID = UInt64(clamping: g.conversationID ?? 0)
        r.createdBy = UInt64(clamping: g.createdBy ?? 0)
        r.createdAtMs = g.createdAt
        r.expiresAtMs = g.expiresAt ?? 0
        r.maxUses = UInt32(clamping: g.maxUses)
        r.uses = UInt32(clamping: g.uses)
        return r
    }

    static func registrationToken(_ g: Grant) -> Chatd_Control_V1_RegistrationToken {
        var r = Chatd_Control_V1_RegistrationToken()
        r.id = UInt64(clamping: g.id)
        r.createdAtMs = g.createdAt
        r.expiresAtMs = g.expiresAt ?? 0
        r.maxUses = UInt32(clamping: g.maxUses)
        r.uses = UInt32(clamping: g.uses)
        r.revokedAtMs = g.revokedAt ?? 0
        return r
    }
}

/// Maps domain failures to wire codes.
enum ErrorMap {
    static func code(_ kind: ChatFailure.Kind) -> ErrorCode {
        switch kind {
        case .invalidField: .invalidField
        case .tooLarge: .tooLarge
        case .invalidCredentials: .invalidCredentials
        case .invalidToken: .invalidToken
        case .tokenExpired: .tokenExpired
        case .deviceRevoked: .deviceRevoked
        case .badSignature: .badSignature
        case .accountDisabled: .accountDisabled
        case .forbidden: .forbidden
        case .notMember: .notMember
        case .notFound: .notFound
        case .conflict: .conflict
        case .rateLimited: .rateLimited
        case .registrationClosed: .registrationClosed
        case .wrongState: .wrongState
        case .unavailable: .unavailable
        case .quotaExceeded: .quotaExceeded
        case .unsupportedType: .unsupportedType
        case .hashMismatch: .hashMismatch
        case .uploadIncomplete: .uploadIncomplete
        case .inviteRevoked: .inviteRevoked
        case .inviteExpired: .inviteExpired
        case .inviteUsedUp: .inviteUsedUp
        case .internal: .internal
        }
    }
}
