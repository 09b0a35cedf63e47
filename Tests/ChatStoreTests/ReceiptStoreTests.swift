import ChatCore
import ChatStore
import Testing

/// Delivery receipts (spec/PROTOCOL.md §6.3) through the services, on both
/// store backends: delivered positions move forward only, never below the
/// read position, one outcome per MarkDelivered entry, and Sync and
/// ListConversations carry the members' positions (small conversations)
/// or counts (larger ones).
struct ReceiptStoreTests {
    func session(_ f: Fixture, _ name: String) async throws -> Session {
        try await f.accounts().register(
            username: name, password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context
        ).session
    }

    func send(_ rooms: ConversationService, _ s: Session, _ c: ConversationID, _ id: String) async throws -> Seq {
        try await rooms.send(s, conversation: c, toUser: 0, .init(clientMsgID: id, text: id)).event.seq
    }

    @Test(arguments: StoreBackend.allCases) func deliveredPositionsMoveForwardOnlyAndFollowReads(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let rooms = f.rooms()
        let alice = try await session(f, "alice")
        let bob = try await session(f, "bob")
        let carol = try await session(f, "carol")
        let (group, _) = try await rooms.createGroup(alice, name: "g", description: "", userIDs: [bob.userID, carol.userID], usernames: [])
        let entry = try #require(try await f.store.membership(conversation: group.id, user: bob.userID))
        let start = entry.effectiveDeliveredSeq
        #expect(start == entry.readSeq)
        let m1 = try await send(rooms, alice, group.id, "m1")
        let m2 = try await send(rooms, alice, group.id, "m2")

        // Forward: bob stored up to m2; a later, lower report changes nothing.
        var out = try await rooms.markDelivered(bob, [DeliveredEntry(conversation: group.id, seq: m2)])
        #expect(out == [DeliveredOutcome(conversation: group.id, deliveredSeq: m2, moved: true)])
        out = try await rooms.markDelivered(bob, [DeliveredEntry(conversation: group.id, seq: m1)])
        #expect(out == [DeliveredOutcome(conversation: group.id, deliveredSeq: m2, moved: false)])

        // A read position implies delivery: carol reads m2 without reporting it.
        _ = try await rooms.markRead(carol, conversation: group.id, seq: m2)
        #expect(try await f.store.membership(conversation: group.id, user: carol.userID)?.deliveredSeq == m2)
        out = try await rooms.markDelivered(carol, [DeliveredEntry(conversation: group.id, seq: m1)])
        #expect(out == [DeliveredOutcome(conversation: group.id, deliveredSeq: m2, moved: false)])

        // ListMembers shows both positions.
        let members = try await rooms.members(bob, conversation: group.id, after: 0, limit: 0).items
        let byUser = Dictionary(uniqueKeysWithValues: members.map { ($0.user.id, $0) })
        #expect(byUser[bob.userID]?.deliveredSeq == m2 && byUser[bob.userID]?.readSeq == start)
        #expect(byUser[carol.userID]?.deliveredSeq == m2 && byUser[carol.userID]?.readSeq == m2)
        #expect(byUser[alice.userID]?.deliveredSeq == start)
    }

    @Test(arguments: StoreBackend.allCases) func eachEntryAnswersOnItsOwn(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let rooms = f.rooms()
        let alice = try await session(f, "alice")
        let bob = try await session(f, "bob")
        let direct = try await rooms.openDirect(alice, userID: bob.userID, username: "")
        let publicRoom = try await rooms.createRoom(bob, name: "open", description: "", visibility: .public)
        let privateRoom = try await rooms.createRoom(bob, name: "closed", description: "", visibility: .private)
        let m = try await send(rooms, bob, direct.id, "hi")
        let out = try await rooms.markDelivered(alice, [
            DeliveredEntry(conversation: direct.id, seq: m + 1),  // beyond the head
            DeliveredEntry(conversation: publicRoom.id, seq: 1),  // visible, not a member
            DeliveredEntry(conversation: privateRoom.id, seq: 1),  // not visible
            DeliveredEntry(conversation: 0, seq: 1),
            DeliveredEntry(conversation: direct.id, seq: m),  // applies despite the failures before it
        ])
        #expect(out.map { $0.failure?.kind } == [.invalidField, .notMember, .notFound, .notFound, nil])
        #expect(out.map(\.deliveredSeq) == [0, 0, 0, 0, m])
        #expect(out.last?.moved == true)
        #expect(try await f.store.membership(conversation: direct.id, user: alice.userID)?.deliveredSeq == m)
        // The request's own bounds.
        #expect(await failureKind { _ = try await rooms.markDelivered(alice, []) } == .invalidField)
        let many = Array(repeating: DeliveredEntry(conversation: direct.id, seq: m), count: ReceiptPolicy.maxEntries + 1)
        #expect(await failureKind { _ = try await rooms.markDelivered(alice, many) } == .tooLarge)
        let most = Array(repeating: DeliveredEntry(conversation: direct.id, seq: m), count: ReceiptPolicy.maxEntries)
        #expect(try await rooms.markDelivered(alice, most).count == ReceiptPolicy.maxEntries)
    }

    @Test(arguments: StoreBackend.allCases) func syncListsPositionsForSmallConversationsAndCountsAbove(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        var limits = DomainLimits()
        limits.receiptsMemberListMax = 2
        let rooms = ConversationService(store: f.store, clock: f.clock, limits: limits)
        let alice = try await session(f, "alice")
        let bob = try await session(f, "bob")
        let carol = try await session(f, "carol")
        let direct = try await rooms.openDirect(alice, userID: bob.userID, username: "")
        let (group, _) = try await rooms.createGroup(alice, name: "g", description: "", userIDs: [bob.userID, carol.userID], usernames: [])
        let d1 = try await send(rooms, alice, direct.id, "d1")
        let g1 = try await send(rooms, alice, group.id, "g1")
        _ = try await rooms.markDelivered(bob, [
            DeliveredEntry(conversation: direct.id, seq: d1), DeliveredEntry(conversation: group.id, seq: g1),
        ])
        _ = try await rooms.markRead(carol, conversation: group.id, seq: g1)

        let sync = try await rooms.sync(alice, accountSeq: 0, limit: 0, skipConversations: false)
        let byID = Dictionary(uniqueKeysWithValues: sync.conversations.map { ($0.conversation.id, $0) })
        // The direct chat (2 members): every member's positions, and the counts.
        let d = try #require(byID[direct.id])
        let start = try #require(d.memberPositions.first { $0.userID == alice.userID }).readSeq
        #expect(
            d.memberPositions == [
                MemberPosition(userID: alice.userID, deliveredSeq: start, readSeq: start),
                MemberPosition(userID: bob.userID, deliveredSeq: d1, readSeq: start),
            ].sorted { $0.userID < $1.userID })
        #expect(d.deliveredCount == 1 && d.readCount == 0)
        // The group (3 members > 2): counts only, of the other members.
        let g = try #require(byID[group.id])
        #expect(g.memberPositions.isEmpty)
        #expect(g.deliveredCount == 2 && g.readCount == 1)

        // ListConversations carries the same.
        let page = try await rooms.listConversations(alice, before: nil, kind: nil, limit: 0)
        #expect(page.items.map(\.memberPositions) == sync.conversations.map(\.memberPositions))
        #expect(page.items.map(\.deliveredCount) == sync.conversations.map(\.deliveredCount))
    }
}

/// Notification settings (spec/PROTOCOL.md §6.6) on both backends: stored
/// per member, announced to the user's devices by an account event only
/// when they change, reported in Sync and ListConversations.
struct NotificationSettingsStoreTests {
    @Test(arguments: StoreBackend.allCases) func settingsAreStoredAnnouncedAndReported(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let rooms = f.rooms()
        let alice = try await ReceiptStoreTests().session(f, "alice")
        let bob = try await ReceiptStoreTests().session(f, "bob")
        let direct = try await rooms.openDirect(alice, userID: bob.userID, username: "")
        let closed = try await rooms.createRoom(bob, name: "closed", description: "", visibility: .private)
        let until = f.clock.nowMs() + 3_600_000
        var state = try #require(try await rooms.sync(alice, accountSeq: 0, limit: 0, skipConversations: false).conversations.first)
        #expect(state.notifications == NotificationSettings())
        let head = try await rooms.sync(alice, accountSeq: 0, limit: 0, skipConversations: true).accountHeadSeq

        let set = try await rooms.setNotifications(alice, conversation: direct.id, level: .mentions, mutedUntil: until)
        #expect(set == NotificationSettings(level: .mentions, mutedUntil: until))
        var sync = try await rooms.sync(alice, accountSeq: head, limit: 0, skipConversations: false)
        #expect(sync.accountEvents.map(\.kind) == [.notificationsChanged])
        #expect(sync.accountEvents.first?.conversationID == direct.id)
        #expect(sync.accountEvents.first?.reason.flatMap(NotificationSettings.init(encoded:)) == set)
        state = try #require(sync.conversations.first { $0.conversation.id == direct.id })
        #expect(state.notifications == set)
        // Bob's settings are his own.
        let bobState = try await rooms.listConversations(bob, before: nil, kind: .direct, limit: 0).items.first
        #expect(bobState?.notifications == NotificationSettings())

        // The same again: nothing appended.
        _ = try await rooms.setNotifications(alice, conversation: direct.id, level: .mentions, mutedUntil: until)
        sync = try await rooms.sync(alice, accountSeq: head, limit: 0, skipConversations: true)
        #expect(sync.accountEvents.count == 1)
        // Back to the default, unmuted.
        _ = try await rooms.setNotifications(alice, conversation: direct.id, level: .all, mutedUntil: 0)
        let listed = try await rooms.listConversations(alice, before: nil, kind: nil, limit: 0).items.first { $0.conversation.id == direct.id }
        #expect(listed?.notifications == NotificationSettings())

        #expect(await failureKind { _ = try await rooms.setNotifications(alice, conversation: closed.id, level: .nothing, mutedUntil: 0) } == .notFound)
        #expect(await failureKind { _ = try await rooms.setNotifications(alice, conversation: direct.id, level: nil, mutedUntil: 0) } == .invalidField)
    }
}
