import ChatClient
import ChatProtocol
import Foundation

/// Resolves user ids to usernames (a conversation's members at a time, else
/// from the friend list) and conversation ids to titles (`#room`, `@user`).
actor Names {
    private var users: [UInt64: String] = [:]
    private var loadedMembers: Set<UInt64> = []
    private var titles: [UInt64: String] = [:]
    let connection: ChatConnection

    init(_ connection: ChatConnection) { self.connection = connection }

    func name(_ id: UInt64, in conversation: UInt64) async -> String {
        if id == 0 { return "server" }
        if let n = users[id] { return n }
        if !loadedMembers.contains(conversation) {
            loadedMembers.insert(conversation)
            var q = Chatd_V1_ListMembersRequest()
            q.conversationID = conversation
            q.limit = 500
            if let r = try? await connection.call(.listMembers, q, as: Chatd_V1_ListMembersResponse.self) {
                for m in r.members { users[m.user.id] = m.user.username }
            }
        }
        if let n = users[id] { return n }
        return await name(id)
    }

    /// A user met outside a conversation (friend requests, presence): looked
    /// up in the friend list and its requests.
    func name(_ id: UInt64) async -> String {
        if id == 0 { return "server" }
        if let n = users[id] { return n }
        if let r = try? await connection.allFriends() {
            for u in r.friends.map(\.user) + r.incomingRequests + r.outgoingRequests { users[u.id] = u.username }
        }
        return users[id] ?? "user\(id)"
    }

    func title(_ conversation: Chatd_V1_Conversation) async -> String {
        let title =
            switch conversation.kind {
            case .direct: "@" + (await name(conversation.peerUserID, in: conversation.id))
            case .group: conversation.name
            default: "#" + conversation.name
            }
        titles[conversation.id] = title
        return title
    }

    func title(_ id: UInt64) async -> String {
        if let t = titles[id] { return t }
        var q = Chatd_V1_GetConversationRequest()
        q.conversationID = id
        guard let r = try? await connection.call(.getConversation, q, as: Chatd_V1_ConversationResponse.self) else {
            return "#\(id)"
        }
        return await title(r.conversation)
    }
}

func time(_ ms: Int64, format: String = "yyyy-MM-dd HH:mm") -> String {
    let f = DateFormatter()
    f.dateFormat = format
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// One line for scripts and `tail`: when, where, which event, what.
func render(_ e: Chatd_V1_Event, _ names: Names) async -> String {
    "[\(time(e.createdAtMs))] \(await names.title(e.conversationID)) \(e.seq) \(await describe(e, names))"
}

/// An event in words, without where and when: "bob: hi", "bob joined".
func describe(_ e: Chatd_V1_Event, _ names: Names) async -> String {
    let who = await names.name(e.senderID, in: e.conversationID)
    let subject = e.subjectUserID == 0 ? "" : await names.name(e.subjectUserID, in: e.conversationID)
    switch e.kind {
    case .message:
        if e.deleted { return "\(who): (deleted)" }
        let reply = e.replyToSeq == 0 ? "" : " (reply to \(e.replyToSeq))"
        let file = e.hasAttachment ? " [\(e.attachment.name), \(e.attachment.size) bytes, file \(e.attachment.fileID)]" : ""
        let edited = e.editedAtMs == 0 ? "" : " (edited)"
        return "\(who)\(reply): \(e.text)\(file)\(edited)"
    case .messageEdited: return "\(who) edited \(e.targetSeq): \(e.text)"
    case .messageDeleted: return "\(who) deleted \(e.targetSeq)"
    case .reactionAdded: return "\(who) reacted \(e.emoji) to \(e.targetSeq)"
    case .reactionRemoved: return "\(who) removed \(e.emoji) from \(e.targetSeq)"
    case .memberJoined: return "\(who) joined"
    case .memberAdded: return "\(who) added \(subject)"
    case .memberLeft: return "\(who) left"
    case .memberKicked: return "\(who) removed \(subject)"
    case .memberBanned: return "\(who) banned \(subject)"
    case .memberUnbanned: return "\(who) unbanned \(subject)"
    case .memberMuted: return "\(who) \(e.mutedUntilMs == 0 ? "unmuted" : "muted") \(subject)"
    case .roleChanged: return "\(subject) is now \(e.role)"
    case .roomCreated: return "created by \(who)"
    case .conversationUpdated: return "\(who) set name \"\(e.name)\" and topic \"\(e.description_p)\""
    case .eventUnspecified, .UNRECOGNIZED: return "\(e.kind)"
    }
}

/// An account event in words, with who and what: friend requests name the
/// user, a system notice carries its text.
func describe(_ a: Chatd_V1_AccountEvent, _ names: Names) async -> String {
    let other = await names.name(a.otherUserID)
    let conversation = a.conversationID == 0 ? "" : await names.title(a.conversationID)
    switch a.kind {
    case .addedToConversation: return "you are in \(conversation)"
    case .removedFromConversation: return "you are no longer in \(conversation)\(a.reason.isEmpty ? "" : " (\(a.reason))")"
    case .conversationDeleted: return "\(conversation) was deleted"
    case .friendRequestReceived: return "\(other) wants to be your friend (chatc friend accept \(other))"
    case .friendRequestSent: return "you asked \(other) to be friends"
    case .friendAdded: return "you and \(other) are now friends"
    case .friendRequestDeclined: return "the friend request between you and \(other) was declined"
    case .friendRequestCanceled: return "\(other) withdrew their friend request"
    case .friendRemoved: return "you and \(other) are no longer friends"
    case .ownDeviceRevoked: return "your device \(a.deviceID) was revoked"
    case .profileChanged: return "\(other) changed their profile"
    case .blockedChanged: return "you \(a.reason) \(other)"
    case .systemNotice: return "notice from the server: \(a.reason)"
    case .notificationsChanged: return "notifications of \(conversation): \(a.notifyLevel)"
    case .pushTargetChanged:
        switch a.reason {
        case "removed": return "device \(a.deviceID) no longer gets push notifications"
        case "gone": return "device \(a.deviceID)'s push endpoint is gone; it gets no push notifications"
        default: return "device \(a.deviceID) gets push notifications (\(a.reason))"
        }
    case .accountEventUnspecified, .UNRECOGNIZED: return "\(a.kind)"
    }
}
