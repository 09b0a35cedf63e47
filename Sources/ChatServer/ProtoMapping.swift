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
        return p
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

    static func room(_ r: Room) -> Chatd_V1_Room {
        var p = Chatd_V1_Room()
        p.id = UInt64(r.id)
        p.name = r.name
        p.description_p = r.description
        p.visibility = visibility(r.visibility)
        p.createdBy = UInt64(r.createdBy)
        p.createdAtMs = r.createdAt
        p.headSeq = UInt64(r.headSeq)
        p.memberCount = UInt32(clamping: r.memberCount)
        p.myRole = role(r.myRole)
        return p
    }

    static func member(_ m: Member) -> Chatd_V1_Member {
        var p = Chatd_V1_Member()
        p.user = user(m.user)
        p.role = role(m.role)
        p.joinedAtMs = m.joinedAt
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
        }
    }

    static func event(_ e: Event) -> Chatd_V1_Event {
        var p = Chatd_V1_Event()
        p.conversationID = UInt64(e.conversationID)
        p.seq = UInt64(e.seq)
        p.kind = eventKind(e.kind)
        p.senderID = UInt64(e.senderID)
        p.clientMsgID = e.clientMsgID ?? ""
        p.text = e.text ?? ""
        p.subjectUserID = UInt64(e.subjectUserID ?? 0)
        p.role = role(e.role)
        p.createdAtMs = e.createdAt
        return p
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
        }
    }

    static func goodbye(_ r: SessionEndReason) -> ConnectionStateMachine.GoodbyeReason {
        switch r {
        case .deviceRevoked: .deviceRevoked
        case .accountDisabled: .accountDisabled
        case .passwordChanged: .passwordChanged
        }
    }

    /// Converts a wire id (uint64) to a domain id; ids above Int64.max exist nowhere.
    static func id(_ value: UInt64) -> Int64 { Int64(clamping: value) }
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
        case .internal: .internal
        }
    }
}
