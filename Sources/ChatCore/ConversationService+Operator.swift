/// Rooms and groups administered by an operator (chatctl, spec/PROTOCOL.md
/// §11): the same store operations, events and pushes as the client ops,
/// with server authority. Events the operator causes carry `sender_id` 0
/// (the server), like the creation of a default room.
extension ConversationService {
    /// The sender of events an operator causes.
    public static let serverSender: UserID = 0

    /// What an operator does to one member (ops 20–24).
    public enum OperatorAction: Sendable, Equatable, CustomStringConvertible {
        case add
        case remove
        case setRole(MemberRole)
        case ban
        case unban

        /// As the audit log shows it: `add`, `role=admin`...
        public var description: String {
            switch self {
            case .add: "add"
            case .remove: "remove"
            case .setRole(let role): "role=\(role.rawValue)"
            case .ban: "ban"
            case .unban: "unban"
            }
        }
    }

    /// The rules of an operator's member action, as one decision with no I/O.
    /// `targetRole`: the target's role now (nil: not a member).
    public static func checkOperator(
        _ action: OperatorAction, kind: ConversationKind, targetRole: MemberRole?, targetBanned: Bool,
        targetDisabled: Bool
    ) throws(ChatFailure) {
        guard kind != .direct else { throw ChatFailure(.forbidden, "direct chats have exactly their two members") }
        switch action {
        case .add:
            guard !targetDisabled else { throw ChatFailure(.notFound, "no such user") }
            guard targetRole == nil else { throw ChatFailure(.conflict, "already a member") }
            guard !targetBanned else { throw ChatFailure(.forbidden, "banned from this conversation (unban first)") }
        case .remove:
            guard targetRole != nil else { throw ChatFailure(.notFound, "that user is not a member") }
        case .setRole(let role):
            guard let targetRole else { throw ChatFailure(.notFound, "that user is not a member") }
            guard targetRole != role else { throw ChatFailure(.conflict, "the member already has this role") }
            guard targetRole != .owner else {
                throw ChatFailure(.forbidden, "make another member the owner instead (the owner becomes an admin)")
            }
        case .ban:
            guard !targetBanned else { throw ChatFailure(.conflict, "already banned") }
        case .unban:
            guard targetBanned else { throw ChatFailure(.notFound, "that user is not banned") }
        }
    }

    /// A broadcast goes to a room or a group, never to a direct chat.
    public static func checkBroadcast(to conversation: ConversationSnapshot?) throws(ChatFailure) {
        guard let conversation else { throw ChatFailure(.notFound, "no such conversation") }
        guard conversation.kind != .direct else {
            throw ChatFailure(.forbidden, "broadcasts go to rooms and groups, not direct chats")
        }
    }

    /// RoomCreate's `kind` ("" or "room", "group") and `visibility` ("" =
    /// public for a room, private for a group; "public"; "private"; a group
    /// is never public).
    public static func operatorRoomKind(kind: String, visibility: String) throws(ChatFailure) -> (ConversationKind, Visibility) {
        let parsed: ConversationKind
        switch kind {
        case "", "room": parsed = .room
        case "group": parsed = .group
        default: throw ChatFailure.invalid("kind", "kind must be room or group")
        }
        switch (parsed, visibility) {
        case (.room, ""), (.room, "public"): return (parsed, .public)
        case (_, "private"), (.group, ""): return (parsed, .private)
        default: throw ChatFailure.invalid("visibility", "visibility must be public or private (groups: private)")
        }
    }

    /// Creates a room (public or private) or a group, with `owner` as its
    /// owner, or with no members and no owner.
    public func operatorCreate(
        kind: ConversationKind, name: String, description: String, visibility: Visibility, owner: UserID?
    ) async throws -> Conversation {
        guard kind != .direct else { throw ChatFailure.invalid("kind", "kind must be room or group") }
        let limits = self.limits
        let name = try Validate.roomName(name, limits: limits)
        try Validate.text(description, field: "description", max: limits.maxDescriptionBytes, multiline: true)
        if let owner {
            guard let account = try await store.account(id: owner), !account.disabled else {
                throw ChatFailure(.notFound, "no such user")
            }
        }
        let created = try await store.createConversation(
            NewConversation(
                kind: kind, name: name, nameKey: kind == .room ? Validate.roomNameKey(name) : nil,
                description: description, visibility: kind == .group ? .private : visibility, creator: owner,
                members: [], now: clock.nowMs()))
        return try await store.conversation(id: created.id, viewer: nil) ?? created
    }

    /// Deletes any conversation; returns its former members.
    public func operatorDelete(_ id: ConversationID) async throws -> [UserID] {
        try await store.deleteConversation(id, now: clock.nowMs())
    }

    public func operatorAct(_ action: OperatorAction, conversation id: ConversationID, user: UserID) async throws {
        let now = clock.nowMs()
        try await store.transaction { tx in try tx.operatorAct(action, conversation: id, user: user, now: now) }
    }
}

extension ConversationService {
    /// Where an operator's broadcast goes.
    public enum BroadcastTarget: Sendable, Equatable {
        /// A SYSTEM message in one room or group (its history keeps it).
        case conversation(ConversationID)
        /// A SYSTEM_NOTICE account event to every account that is not
        /// disabled: online users get it pushed, the others at their next Sync.
        case everyone
    }

    public enum BroadcastResult: Sendable, Equatable {
        case message(AppendResult)
        case notice(users: Int)
    }

    public func operatorBroadcast(_ target: BroadcastTarget, text: String, clientMsgID: String) async throws -> BroadcastResult {
        try Validate.messageText(text, limits: limits)
        try Validate.clientMsgID(clientMsgID)
        switch target {
        case .conversation(let id):
            return .message(
                try await store.appendSystemMessage(conversation: id, text: text, clientMsgID: clientMsgID, now: clock.nowMs()))
        case .everyone:
            return .notice(users: try await store.appendSystemNotice(text: text, now: clock.nowMs()))
        }
    }
}

extension StoreTransaction {
    /// An operator's member action (ops 20–24), checked and done in one transaction.
    public func operatorAct(
        _ action: ConversationService.OperatorAction, conversation id: ConversationID, user: UserID, now: Millis
    ) throws {
        let standing = try standing(of: user, in: id)
        guard let conversation = standing.conversation else { throw ConversationPolicy.noSuchConversation }
        guard let account = standing.account else { throw ChatFailure(.notFound, "no such user") }
        let role = standing.membership?.role
        try ConversationService.checkOperator(
            action, kind: conversation.kind, targetRole: role, targetBanned: isBanned(user, from: id),
            targetDisabled: account.disabled)
        let server = ConversationService.serverSender
        switch action {
        case .add:
            guard try addMember(conversation: id, user: user, by: server, now: now) != nil else {
                throw ChatFailure(.conflict, "already a member")
            }
        case .remove:
            guard try removeMember(conversation: id, user: user, by: server, kind: .memberKicked, now: now) != nil else {
                throw ChatFailure(.notFound, "that user is not a member")
            }
        case .setRole(let newRole):
            _ = try changeRole(conversation: id, user: user, from: role, to: newRole, by: server, now: now)
        case .ban:
            _ = try removeMember(conversation: id, user: user, by: server, kind: .memberBanned, now: now)
        case .unban:
            guard try unban(conversation: id, user: user, by: server, now: now) != nil else {
                throw ChatFailure(.notFound, "that user is not banned")
            }
        }
    }

    /// Appends a SYSTEM message from the server (sender 0) to a room or
    /// group; a retry with the same client_msg_id returns the first one.
    public func appendSystemMessage(conversation: ConversationID, text: String, clientMsgID: String, now: Millis) throws -> AppendResult {
        let server = ConversationService.serverSender
        try ConversationService.checkBroadcast(to: standing(of: server, in: conversation).conversation)
        let prior = try priorEvent(sender: server, clientMsgID: clientMsgID)
        if let retry = try MessagePolicy.retry(prior, sameRequest: { $0.kind == .message && $0.conversationID == conversation }) {
            return retry
        }
        let event = try append(
            Event(
                conversationID: conversation, seq: 0, kind: .message, senderID: server, clientMsgID: clientMsgID,
                text: text, createdAt: now, messageType: .system))
        return AppendResult(event: event, duplicate: false)
    }

    /// Deletes (as a server DeleteMessage each) up to `limit` of the sender's
    /// messages that are not deleted yet and whose client_msg_id sorts after
    /// `after`; returns how many and the last key, to continue from.
    public func deleteMessages(sender: UserID, after: String, limit: Int, now: Millis) throws -> (count: Int, last: String?) {
        let messages = try undeletedMessages(sender: sender, after: after, limit: limit)
        for message in messages {
            _ = try erase(message, by: ConversationService.serverSender, clientMsgID: nil, now: now)
        }
        return (messages.count, messages.last?.clientMsgID)
    }
}

extension Store {
    /// Appends a SYSTEM message from the server (sender 0) to a room or
    /// group; a retry with the same client_msg_id returns the first one.
    public func appendSystemMessage(conversation: ConversationID, text: String, clientMsgID: String, now: Millis) async throws -> AppendResult {
        try await transaction { tx in
            try tx.appendSystemMessage(conversation: conversation, text: text, clientMsgID: clientMsgID, now: now)
        }
    }

    /// Deletes (as a server DeleteMessage each) up to `limit` of the sender's
    /// messages whose client_msg_id sorts after `after`; returns how many and
    /// the last key, to continue from.
    public func deleteMessages(sender: UserID, after: String, limit: Int, now: Millis) async throws -> (count: Int, last: String?) {
        try await transaction { tx in try tx.deleteMessages(sender: sender, after: after, limit: limit, now: now) }
    }
}
