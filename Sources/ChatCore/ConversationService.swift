import Synchronization

/// Rooms, groups and direct chats: membership, moderation, messages, read
/// state and sync. The permission table of spec/PROTOCOL.md §5 is decided by
/// `ConversationPolicy`, `ModerationPolicy` and `MessagePolicy`; every op
/// that writes runs them inside its one write transaction
/// (`StoreTransaction+Conversations`, `StoreTransaction+Messages`).
///
/// Visibility rule: a conversation is visible to its members, and public
/// rooms to everyone. Anything else answers not_found, so nobody learns that
/// it exists. Operations that need membership answer not_member to a
/// non-member who can see the conversation (a public room).
public final class ConversationService: Sendable {
    let store: any Store
    let clock: any WallClock
    private let limitsBox: Mutex<DomainLimits>
    /// Rooms and groups each user may create per window (charged before the write).
    private let creations: Mutex<RateLimiter>

    public init(store: any Store, clock: any WallClock, limits: DomainLimits) {
        self.store = store
        self.clock = clock
        limitsBox = Mutex(limits)
        creations = Mutex(RateLimiter(capacity: limits.conversationCreations, windowMs: limits.conversationCreationWindowMs))
    }

    public var limits: DomainLimits { limitsBox.withLock { $0 } }

    public func reconfigure(limits: DomainLimits) {
        limitsBox.withLock { $0 = limits }
        creations.withLock { $0.reconfigure(capacity: limits.conversationCreations, windowMs: limits.conversationCreationWindowMs) }
    }

    /// Spends one of the user's creations, or refuses (`rate_limited`).
    private func chargeCreation(_ session: Session) throws(ChatFailure) {
        let now = clock.nowMs()
        if case .limited(let retry) = creations.withLock({ $0.consume(String(session.userID), now: now) }) {
            throw ChatFailure.rateLimited(retryAfterMs: retry, "too many rooms and groups created; try again later")
        }
    }

    /// Most initial members a group can be created with.
    public static let maxInitialGroupMembers = 256
    public static let maxEmojiBytes = 32
    public static let maxMentions = 50
    public static let defaultSyncLimit = 200
    public static let maxSyncLimit = 1000
    public static let maxSyncConversations = 1000

    // MARK: Creating

    public func createRoom(_ session: Session, name: String, description: String, visibility: Visibility) async throws -> Conversation {
        let limits = self.limits
        let name = try Validate.roomName(name, limits: limits)
        try Validate.text(description, field: "description", max: limits.maxDescriptionBytes, multiline: true)
        try chargeCreation(session)
        return try await store.createConversation(
            NewConversation(
                kind: .room, name: name, nameKey: Validate.roomNameKey(name), description: description,
                visibility: visibility, creator: session.userID, members: [], now: clock.nowMs()))
    }

    /// Creates a private group. Users that do not exist, are disabled, or
    /// block (or are blocked by) the creator are skipped and reported.
    public func createGroup(
        _ session: Session, name: String, description: String, userIDs: [UserID], usernames: [String]
    ) async throws -> (Conversation, skipped: [String]) {
        let limits = self.limits
        let name = try Validate.roomName(name, limits: limits)
        try Validate.text(description, field: "description", max: limits.maxDescriptionBytes, multiline: true)
        guard userIDs.count + usernames.count <= Self.maxInitialGroupMembers else {
            throw ChatFailure(.tooLarge, "at most \(Self.maxInitialGroupMembers) initial members", field: "user_ids")
        }
        try chargeCreation(session)
        var members: [UserID] = []
        var skipped: [String] = []
        for id in userIDs {
            if let account = try await store.account(id: id),
                ConversationPolicy.isAddableAtCreation(account.snapshot, blocked: try await store.blocked(between: session.userID, and: id))
            {
                members.append(id)
            } else {
                skipped.append(String(id))
            }
        }
        for username in usernames {
            if username.utf8.count <= WireLimits.usernameMaxBytes,
                let account = try await store.account(usernameKey: Validate.usernameKey(username)),
                ConversationPolicy.isAddableAtCreation(
                    account.snapshot, blocked: try await store.blocked(between: session.userID, and: account.user.id))
            {
                members.append(account.user.id)
            } else {
                skipped.append(username)
            }
        }
        var seen = Set<UserID>()
        members = members.filter { $0 != session.userID && seen.insert($0).inserted }
        let conversation = try await store.createConversation(
            NewConversation(
                kind: .group, name: name, nameKey: nil, description: description, visibility: .private,
                creator: session.userID, members: members, now: clock.nowMs()))
        return (conversation, skipped)
    }

    /// The direct chat with another user, created on first use.
    public func openDirect(_ session: Session, userID: UserID, username: String) async throws -> Conversation {
        let (user, now) = (session.userID, clock.nowMs())
        return try await store.transaction { tx in try tx.openDirect(by: user, userID: userID, username: username, now: now) }
    }

    // MARK: Reading the list

    public func listPublicRooms(_ session: Session, after: ConversationID, limit: Int) async throws -> PageResult<Conversation> {
        try await store.listRooms(
            visibility: .public, page: Page(after: after, limit: pageLimit(limit)), viewer: session.userID)
    }

    public func listConversations(
        _ session: Session, before: (Millis, ConversationID)?, kind: ConversationKind?, limit: Int
    ) async throws -> PageResult<ConversationState> {
        try await store.conversationStates(
            memberOf: session.userID, before: before, kind: kind, limit: pageLimit(limit),
            receiptsListMax: limits.receiptsMemberListMax)
    }

    public func get(_ session: Session, conversation id: ConversationID) async throws -> Conversation {
        try await visible(id, viewer: session.userID)
    }

    // MARK: Membership

    public func join(_ session: Session, room id: ConversationID) async throws -> Conversation {
        // A member stays as they are: that answer needs no write.
        let room = try await visible(id, viewer: session.userID)
        if room.myRole != nil { return room }
        let (user, now) = (session.userID, clock.nowMs())
        try await store.transaction { tx in try tx.join(conversation: id, user: user, now: now) }
        return try await visible(id, viewer: session.userID)
    }

    /// Adds a user given by id or username. The caller's right to add members
    /// is checked first, so the call tells nobody else whether a user exists.
    public func invite(_ session: Session, conversation id: ConversationID, userID: UserID, username: String) async throws -> Conversation {
        let (actor, now) = (session.userID, clock.nowMs())
        try await store.transaction { tx in
            try tx.invite(conversation: id, by: actor, userID: userID, username: username, now: now)
        }
        return try await visible(id, viewer: session.userID)
    }

    public func leave(_ session: Session, conversation id: ConversationID) async throws {
        let (user, now) = (session.userID, clock.nowMs())
        try await store.transaction { tx in try tx.leave(conversation: id, user: user, now: now) }
    }

    public func members(_ session: Session, conversation id: ConversationID, after: UserID, limit: Int) async throws -> PageResult<Member> {
        _ = try await member(id, viewer: session.userID, .listMembers)
        let limit = Validate.pageLimit(limit, default: WireLimits.defaultMemberPageLimit, max: WireLimits.maxMemberPageLimit)
        return try await store.members(conversation: id, page: Page(after: after, limit: limit))
    }

    /// The caller's role; throws not_found / not_member as the visibility rule says.
    public func requireMember(_ session: Session, conversation id: ConversationID) async throws -> MemberRole {
        try await member(id, viewer: session.userID, .listMembers)
    }

    // MARK: Moderation

    public enum Moderation: Sendable, Equatable {
        case kick
        case ban
        case unban
        /// 0 lifts the mute.
        case mute(durationMs: Millis)
        case setRole(MemberRole)
        case transferOwnership
    }

    public func moderate(
        _ session: Session, conversation id: ConversationID, userID: UserID, username: String, _ action: Moderation
    ) async throws {
        let (actor, now) = (session.userID, clock.nowMs())
        try await store.transaction { tx in
            try tx.moderate(conversation: id, by: actor, userID: userID, username: username, action, now: now)
        }
    }

    public func update(_ session: Session, conversation id: ConversationID, name: String?, description: String?) async throws -> Conversation {
        let (actor, now, limits) = (session.userID, clock.nowMs(), self.limits)
        try await store.transaction { tx in
            try tx.update(conversation: id, by: actor, name: name, description: description, now: now) { name, description in
                let newName = try name.map { try Validate.roomName($0, limits: limits) }
                if let description {
                    try Validate.text(description, field: "description", max: limits.maxDescriptionBytes, multiline: true)
                }
                return newName
            }
        }
        return try await visible(id, viewer: session.userID)
    }

    /// Deletes a room or group: its owner, or a server admin (any conversation).
    public func delete(_ session: Session, conversation id: ConversationID) async throws {
        // The server role is read fresh: a demotion applies at once.
        let isServerAdmin = try await store.account(id: session.userID)?.user.role == .admin
        let found = try await store.conversation(id: id, viewer: session.userID)
        try ConversationPolicy.authorize(.deleteConversation, Standing(viewing: found), serverAdmin: isServerAdmin)
        guard let conversation = found else { throw ConversationPolicy.noSuchConversation }
        let now = clock.nowMs()
        let members = try await store.deleteConversation(id, now: now)
        try await store.audit(
            AuditEntry(
                at: now, action: .conversationDeleted, actor: "user:\(session.userID)", userID: session.userID, address: "",
                detail: "conversation=\(id) kind=\(conversation.kind.rawValue) name=\(conversation.name) members=\(members.count)"))
    }

    // MARK: Messages

    public struct Outgoing: Sendable {
        public var clientMsgID: String
        public var text: String
        public var type: MessageType
        public var attachment: Attachment?
        public var replyTo: Seq?

        public init(clientMsgID: String, text: String, type: MessageType = .text, attachment: Attachment? = nil, replyTo: Seq? = nil) {
            self.clientMsgID = clientMsgID
            self.text = text
            self.type = type
            self.attachment = attachment
            self.replyTo = replyTo
        }
    }

    /// Sends to a conversation, or (toUser set) to the direct chat with a user,
    /// creating it on the first message.
    public func send(_ session: Session, conversation id: ConversationID, toUser: UserID, _ message: Outgoing) async throws -> AppendResult {
        let limits = self.limits
        try Validate.clientMsgID(message.clientMsgID)
        switch message.type {
        case .text:
            try Validate.messageText(message.text, limits: limits)
            guard message.attachment == nil else {
                throw ChatFailure.invalid("attachment", "text messages carry no attachment")
            }
        case .image, .file:
            try Validate.text(message.text, field: "text", max: limits.maxMessageBytes, multiline: true)
            guard let attachment = message.attachment else {
                throw ChatFailure.invalid("attachment", "image and file messages need an attachment")
            }
            try Validate.attachment(attachment)
        case .system:
            throw ChatFailure(.forbidden, "system messages are written by the server only")
        }
        // Membership, mutes, blocks and the visibility rule are checked inside
        // the write transaction: a send is one database operation.
        let target: ConversationID
        switch (id, toUser) {
        case (0, 0): throw ChatFailure.invalid("conversation_id", "give conversation_id or to_user_id")
        case (_, 0): target = id
        case (0, _): target = try await directChat(session, with: toUser)
        default: throw ChatFailure.invalid("to_user_id", "give conversation_id or to_user_id, not both")
        }
        return try await store.appendMessage(
            NewMessage(
                conversation: target, sender: session.userID, clientMsgID: message.clientMsgID, type: message.type,
                text: message.text, attachment: message.attachment, replyTo: message.replyTo,
                mentionKeys: Self.mentionedUsernames(in: message.text), now: clock.nowMs()))
    }

    /// SendMessage's destination by `to_user_id` (§5.9 check 5): the direct
    /// chat with that user when it exists, to which the send is then exactly
    /// one by `conversation_id` (a block is its check 7, after the duplicate
    /// check, so a retry after a block still gets the stored message; it
    /// used to get OpenDirect's `forbidden`); else one opened as OpenDirect
    /// opens it, with its checks and events.
    func directChat(_ session: Session, with peer: UserID) async throws -> ConversationID {
        let (user, now) = (session.userID, clock.nowMs())
        return try await store.transaction { tx in
            if peer != user, let existing = try tx.directConversation(between: user, and: peer) { return existing.id }
            return try tx.openDirect(by: user, userID: peer, username: "", now: now).id
        }
    }

    public func edit(_ session: Session, conversation id: ConversationID, seq: Seq, text: String, clientMsgID: String) async throws -> AppendResult {
        try Validate.clientMsgID(clientMsgID)
        try Validate.messageText(text, limits: limits)
        // Visibility, membership, blocks and mutes are checked in the write.
        return try await store.editMessage(
            conversation: id, seq: seq, editor: session.userID, text: text, clientMsgID: clientMsgID,
            mentionKeys: Self.mentionedUsernames(in: text), now: clock.nowMs())
    }

    public func deleteMessage(_ session: Session, conversation id: ConversationID, seq: Seq, clientMsgID: String) async throws -> AppendResult {
        try Validate.clientMsgID(clientMsgID)
        // A server admin's right is read in the write: a demotion applies at once.
        return try await store.deleteMessage(
            conversation: id, seq: seq, by: session.userID, asModerator: false, clientMsgID: clientMsgID, now: clock.nowMs())
    }

    public func react(_ session: Session, conversation id: ConversationID, seq: Seq, emoji: String, add: Bool) async throws -> AppendResult? {
        try Validate.emoji(emoji)
        return try await store.react(conversation: id, seq: seq, user: session.userID, emoji: emoji, add: add, now: clock.nowMs())
    }

    public func markRead(_ session: Session, conversation id: ConversationID, seq: Seq) async throws -> (Seq, Bool) {
        return try await store.markRead(conversation: id, user: session.userID, seq: seq)
    }

    /// SetNotifications (§6.6). `level` nil: not a known level.
    public func setNotifications(
        _ session: Session, conversation id: ConversationID, level: NotifyLevel?, mutedUntil: Millis
    ) async throws -> NotificationSettings {
        let (user, now) = (session.userID, clock.nowMs())
        return try await store.transaction { tx in
            try tx.setNotifications(conversation: id, user: user, level: level, mutedUntil: mutedUntil, now: now)
        }
    }

    /// MarkDelivered (§6.3): one outcome per entry, in order.
    public func markDelivered(_ session: Session, _ entries: [DeliveredEntry]) async throws -> [DeliveredOutcome] {
        try ReceiptPolicy.checkEntries(entries.count)
        return try await store.markDelivered(entries, user: session.userID)
    }

    public func history(_ session: Session, conversation id: ConversationID, anchor: HistoryAnchor, limit: Int) async throws -> HistoryPage {
        // The store applies the visibility rule in the same read.
        let limit = Validate.pageLimit(limit, default: WireLimits.defaultPageLimit, max: limits.maxHistoryLimit)
        return try await store.history(conversation: id, anchor: anchor, limit: limit, viewer: session.userID)
    }

    public func sync(_ session: Session, accountSeq: Seq, limit: Int, skipConversations: Bool) async throws -> SyncResult {
        let limit = Validate.pageLimit(limit, default: Self.defaultSyncLimit, max: Self.maxSyncLimit)
        return try await store.sync(
            user: session.userID, after: accountSeq, limit: limit, includeConversations: !skipConversations,
            maxConversations: Self.maxSyncConversations, receiptsListMax: limits.receiptsMemberListMax)
    }

    // MARK: Retention

    /// Longest retention a conversation may be given (100 years).
    public static let maxRetentionDays = 36_500
    /// Events one purge transaction removes at most.
    public static let purgeBatch = 2000

    /// Removes what is older than each conversation's retention (§6.5).
    public func purgeExpired() async throws -> PurgeReport {
        try await store.purgeExpired(defaultDays: limits.defaultRetentionDays, now: clock.nowMs(), batch: Self.purgeBatch)
    }

    /// An operator sets a conversation's own retention: days (0: forever), or nil for the server default.
    public func setRetention(conversation id: ConversationID, days: Int?) async throws -> Conversation {
        if let days, !(0...Self.maxRetentionDays).contains(days) {
            throw ChatFailure.invalid("days", "days must be 0 (forever) to \(Self.maxRetentionDays)")
        }
        return try await store.setRetention(conversation: id, days: days)
    }

    public static let defaultSearchLimit = 20
    public static let maxSearchLimit = 100

    /// Full-text search of message text in the caller's conversations, or
    /// in one of them (spec/PROTOCOL.md §13.6).
    public func search(
        _ session: Session, query: String, conversation id: ConversationID, order: SearchOrder, cursor: String, limit: Int
    ) async throws -> (hits: [SearchHit], next: SearchCursor?) {
        let parsed = try SearchQuery(query)
        let start = try SearchCursor(cursor, order: order)
        var limit = Validate.pageLimit(limit, default: Self.defaultSearchLimit, max: Self.maxSearchLimit)
        if case .offset(let n) = start { limit = min(limit, SearchCursor.maxRankOffset - n) }
        if id != 0 { _ = try await member(id, viewer: session.userID, .history) }
        guard limit > 0 else { return ([], nil) }
        var (hits, next) = try await store.searchMessages(
            SearchRequest(
                viewer: session.userID, query: parsed, conversation: id == 0 ? nil : id, order: order, cursor: start,
                limit: limit))
        if case .offset(let n)? = next, n >= SearchCursor.maxRankOffset { next = nil }
        return (hits, next)
    }

    // MARK: Helpers

    /// Lowercased usernames written as @name (start of text or after a
    /// character that cannot be part of a username), at most `maxMentions`.
    public static func mentionedUsernames(in text: String) -> [String] {
        let bytes = Array(text.utf8)
        var found: [String] = []
        var i = 0
        while i < bytes.count, found.count < maxMentions {
            if bytes[i] == UInt8(ascii: "@"), i == 0 || !Validate.isUsernameByte(bytes[i - 1]) {
                var j = i + 1
                while j < bytes.count, Validate.isUsernameByte(bytes[j]) { j += 1 }
                // Trailing dots end sentences, not usernames.
                var end = j
                while end > i + 1, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
                let length = end - i - 1
                if length >= WireLimits.usernameMinBytes && length <= WireLimits.usernameMaxBytes {
                    let key = Validate.usernameKey(String(decoding: bytes[(i + 1)..<end], as: UTF8.self))
                    if !found.contains(key) { found.append(key) }
                }
                i = j
            } else {
                i += 1
            }
        }
        return found
    }

    private func pageLimit(_ limit: Int) -> Int {
        Validate.pageLimit(limit, default: WireLimits.defaultPageLimit, max: WireLimits.maxPageLimit)
    }

    /// The conversation, if the visibility rule lets `viewer` see it.
    private func visible(_ id: ConversationID, viewer: UserID) async throws -> Conversation {
        let found = try await store.conversation(id: id, viewer: viewer)
        try ConversationPolicy.authorize(.getConversation, Standing(viewing: found))
        guard let conversation = found else { throw ConversationPolicy.noSuchConversation }
        return conversation
    }

    /// The caller's role, for a read only members may make.
    private func member(_ id: ConversationID, viewer: UserID, _ action: ConversationPolicy.Action) async throws -> MemberRole {
        try ConversationPolicy.member(action, Standing(viewing: try await store.conversation(id: id, viewer: viewer))).role
    }
}

extension Standing {
    /// The viewer's standing as far as a `Conversation` read for them shows
    /// it (their role; no mute or read position): enough for the visibility
    /// rule and the role checks of reads.
    init(viewing conversation: Conversation?) {
        self.init(
            conversation: conversation.map {
                ConversationSnapshot(id: $0.id, kind: $0.kind, visibility: $0.visibility, headSeq: $0.headSeq)
            },
            membership: conversation?.myRole.map { Membership(role: $0, readSeq: 0, mutedUntil: nil) }, account: nil)
    }
}

extension UserAccount {
    /// The account as the rules see it.
    public var snapshot: AccountSnapshot {
        AccountSnapshot(id: user.id, username: user.username, disabled: disabled, serverRole: user.role)
    }
}
