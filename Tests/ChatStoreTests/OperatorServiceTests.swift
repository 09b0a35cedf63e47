import ChatCore
import ChatStore
import Testing

struct OperatorServiceTests {
    @Test(arguments: StoreBackend.allCases) func anOwnerlessRoomGetsAnOwnerThroughTheOperator(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = f.accounts()
        let rooms = f.rooms()
        let alice = try await accounts.adminAddUser(
            username: "alice", password: "password1", displayName: "", email: "", role: .user, actor: "test")
        let room = try await rooms.operatorCreate(
            kind: .room, name: "lobby", description: "", visibility: .public, owner: nil)
        #expect(room.memberCount == 0 && room.createdBy == nil)
        try await rooms.operatorAct(.add, conversation: room.id, user: alice.user.id)
        try await rooms.operatorAct(.setRole(.owner), conversation: room.id, user: alice.user.id)
        #expect(try await f.store.membership(conversation: room.id, user: alice.user.id)?.role == .owner)
        let page = try await f.store.history(
            conversation: room.id, anchor: .after(0), limit: 10, viewer: alice.user.id)
        #expect(page.events.map(\.kind) == [.roomCreated, .memberAdded, .roleChanged])
        #expect(page.events.allSatisfy { $0.senderID == S.serverSender })
        let group = try await rooms.operatorCreate(
            kind: .group, name: "ops", description: "", visibility: .public, owner: alice.user.id)
        #expect(group.visibility == .private && group.memberCount == 1)
        #expect(try await f.store.membership(conversation: group.id, user: alice.user.id)?.role == .owner)
        // Banning the owner hands ownership over as leaving does.
        try await rooms.operatorAct(.ban, conversation: group.id, user: alice.user.id)
        #expect(try await f.store.isBanned(conversation: group.id, user: alice.user.id))
        #expect(await failureKind { try await rooms.operatorAct(.add, conversation: group.id, user: alice.user.id) } == .forbidden)
        #expect(try await rooms.operatorDelete(room.id) == [alice.user.id])
        #expect(await failureKind { try await rooms.operatorAct(.add, conversation: room.id, user: alice.user.id) } == .notFound)
    }

    typealias S = ConversationService
}

struct AuditQueryTests {
    @Test func filterValidation() throws {
        #expect(throws: ChatFailure.self) { try AuditFilter.validated(user: nil, action: "nope", sinceMs: 0, untilMs: 0, beforeID: 0, limit: 0) }
        #expect(throws: ChatFailure.self) { try AuditFilter.validated(user: nil, action: "", sinceMs: 10, untilMs: 10, beforeID: 0, limit: 0) }
        #expect(throws: ChatFailure.self) { try AuditFilter.validated(user: nil, action: "", sinceMs: -1, untilMs: 0, beforeID: 0, limit: 0) }
        let f = try AuditFilter.validated(user: 3, action: "login_failed", sinceMs: 0, untilMs: 5, beforeID: 0, limit: 5000)
        #expect(f == AuditFilter(user: 3, action: .loginFailed, since: nil, until: 5, beforeID: nil, limit: 1000))
        #expect(try AuditFilter.validated(user: nil, action: "", sinceMs: 0, untilMs: 0, beforeID: 0, limit: 0).limit == 100)
    }

    @Test(arguments: StoreBackend.allCases) func filtersAndPages(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        for (i, action) in [AuditEntry.Action.loginFailed, .loginSucceeded, .loginFailed, .logout, .loginFailed].enumerated() {
            try await f.store.audit(
                AuditEntry(at: Int64(i) * 1000, action: action, actor: "anonymous", userID: i % 2 == 0 ? 7 : nil, address: "a", detail: ""))
        }
        var page = try await f.store.auditRecords(AuditFilter(action: .loginFailed, limit: 2))
        #expect(page.items.map(\.at) == [4000, 2000] && page.hasMore)
        page = try await f.store.auditRecords(AuditFilter(action: .loginFailed, beforeID: page.items.last?.id, limit: 2))
        #expect(page.items.map(\.at) == [0] && !page.hasMore)
        page = try await f.store.auditRecords(AuditFilter(since: 1000, until: 4000))
        #expect(page.items.map(\.at) == [3000, 2000, 1000])
        page = try await f.store.auditRecords(AuditFilter(user: 7))
        #expect(page.items.map(\.at) == [4000, 2000, 0])
    }
}

struct UserDeletionTests {
    func add(_ accounts: AccountService, _ name: String) async throws -> UserAccount {
        try await accounts.adminAddUser(username: name, password: "password1", displayName: "", email: "\(name)@x.org", role: .user, actor: "t")
    }

    func session(_ a: UserAccount) -> Session { Session(user: a.user, deviceRowID: 0, deviceID: "", tokenExpiresAt: .max) }

    @Test(arguments: StoreBackend.allCases) func deletingKeepsSeqsGapFreeAndFreesTheUsername(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = f.accounts()
        let rooms = f.rooms()
        let alice = try await add(accounts, "alice")
        let bob = try await add(accounts, "bob")
        let group = try await rooms.createGroup(session(alice), name: "g", description: "", userIDs: [bob.user.id], usernames: []).0
        let direct = try await rooms.openDirect(session(alice), userID: bob.user.id, username: "")
        for i in 0..<3 {
            _ = try await rooms.send(session(alice), conversation: group.id, toUser: 0, .init(clientMsgID: "a\(i)", text: "hi \(i)"))
        }
        _ = try await rooms.send(session(bob), conversation: group.id, toUser: 0, .init(clientMsgID: "b", text: "yo"))
        _ = try await rooms.send(session(alice), conversation: direct.id, toUser: 0, .init(clientMsgID: "d", text: "psst"))
        _ = try await f.store.requestFriend(from: alice.user.id, to: bob.user.id, now: 1)

        let deletion = try await accounts.adminDeleteUser(alice, anonymise: false, actor: "t")
        #expect(deletion.previousUsername == "alice" && deletion.messagesDeleted == 4)
        #expect(f.sessions.ended.withLock { $0.last?.1 } == .accountDisabled)

        let page = try await f.store.history(conversation: group.id, anchor: .after(0), limit: 50, viewer: bob.user.id)
        #expect(page.events.map(\.seq) == Array(1...Int64(page.events.count)), "no gaps")
        let messages = page.events.filter { $0.kind == .message }
        #expect(messages.filter(\.deleted).count == 3 && messages.first { !$0.deleted }?.text == "yo")
        #expect(page.events.filter { $0.kind == .messageDeleted }.allSatisfy { $0.senderID == 0 && $0.subjectUserID == alice.user.id })
        // Alice left the group (bob inherits it); the direct chat keeps her, emptied.
        #expect(page.events.suffix(2).map(\.kind) == [.memberLeft, .roleChanged])
        #expect(try await f.store.membership(conversation: group.id, user: bob.user.id)?.role == .owner)
        #expect(try await f.store.membership(conversation: direct.id, user: alice.user.id) != nil)
        #expect(try await f.store.friendPage(user: bob.user.id, .incoming, after: .start, limit: 100).items.isEmpty)

        let tomb = try #require(try await f.store.account(id: alice.user.id))
        #expect(tomb.user.username == "#deleted-\(alice.user.id)" && tomb.user.displayName == "Deleted user")
        #expect(tomb.disabled && tomb.email.isEmpty && AccountService.isTombstone(tomb))
        #expect(try await f.store.devices(user: alice.user.id, includeRevoked: true, limit: 10).isEmpty)
        #expect(await failureKind { _ = try await accounts.adminDeleteUser(tomb, anonymise: false, actor: "t") } == .conflict)
        // The username is free again: a new account, a new id.
        #expect(try await add(accounts, "alice").user.id != alice.user.id)
    }

    @Test(arguments: StoreBackend.allCases) func anonymisingKeepsTheMessages(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = f.accounts()
        let rooms = f.rooms()
        let carol = try await add(accounts, "carol")
        let room = try await rooms.createRoom(session(carol), name: "r", description: "", visibility: .public)
        _ = try await rooms.send(session(carol), conversation: room.id, toUser: 0, .init(clientMsgID: "c", text: "kept"))
        #expect(try await accounts.adminDeleteUser(carol, anonymise: true, actor: "t").messagesDeleted == 0)
        let admin = try await add(accounts, "admin")
        _ = try await rooms.join(session(admin), room: room.id)
        let page = try await f.store.history(conversation: room.id, anchor: .after(0), limit: 50, viewer: admin.user.id)
        #expect(page.events.first { $0.kind == .message }?.text == "kept")
    }
}
