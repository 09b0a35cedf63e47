/// What an operator reads and records over the control socket (chatctl,
/// spec/PROTOCOL.md §11) besides the actions of the other services: users,
/// devices, conversations and their members, the audit log and the
/// server's counts. The control side goes through the services, never to
/// the store itself, as the client side does; operators see everything
/// (no visibility rule: they are not users).
public final class AdminService: Sendable {
    let store: any Store

    public init(store: any Store) {
        self.store = store
    }

    // MARK: Users and devices

    public func account(id: UserID) async throws -> UserAccount? { try await store.account(id: id) }

    public func account(usernameKey: String) async throws -> UserAccount? { try await store.account(usernameKey: usernameKey) }

    public func listUsers(_ filter: UserFilter) async throws -> PageResult<UserAccount> { try await store.listUsers(filter) }

    public func devices(user: UserID?, includeRevoked: Bool, limit: Int) async throws -> [Device] {
        try await store.devices(user: user, includeRevoked: includeRevoked, limit: limit)
    }

    public func device(user: UserID, deviceID: String) async throws -> Device? {
        try await store.device(user: user, deviceID: deviceID)
    }

    // MARK: Conversations

    public func conversation(id: ConversationID) async throws -> Conversation? { try await store.conversation(id: id, viewer: nil) }

    public func room(nameKey: String) async throws -> Conversation? { try await store.room(nameKey: nameKey, viewer: nil) }

    /// Every room and group (never direct chats), by id.
    public func listRooms(page: Page) async throws -> PageResult<Conversation> {
        try await store.listRooms(visibility: nil, page: page, viewer: nil)
    }

    /// The user's conversations, newest activity first.
    public func conversations(of user: UserID, limit: Int) async throws -> PageResult<Conversation> {
        try await store.listConversations(memberOf: user, before: nil, kind: nil, limit: limit)
    }

    public func members(conversation: ConversationID, page: Page) async throws -> PageResult<Member> {
        try await store.members(conversation: conversation, page: page)
    }

    // MARK: Audit and counts

    public func audit(_ entry: AuditEntry) async throws { try await store.audit(entry) }

    public func auditRecords(_ filter: AuditFilter) async throws -> PageResult<AuditRecord> { try await store.auditRecords(filter) }

    public func counts() async throws -> StoreCounts { try await store.counts() }
}
