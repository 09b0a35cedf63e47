import ChatCore
import Testing

@testable import ChatServer

/// What the fan-out hub's membership index takes from a set of committed
/// account events: each member's last change.
struct MembershipChangesTests {
    func event(_ user: UserID, _ kind: AccountEventKind, _ conversation: ConversationID) -> AccountEvent {
        AccountEvent(userID: user, kind: kind, conversationID: conversation, createdAt: 0)
    }

    func pairs(_ list: [(ConversationID, UserID)]) -> [[Int64]] { list.map { [$0.0, $0.1] } }

    @Test func oneWriteAddsAndRemovesWhatItSays() {
        let changes = MembershipChanges([
            event(1, .addedToConversation, 10), event(2, .removedFromConversation, 10),
            event(1, .friendRequestReceived, 10),
        ])
        #expect(pairs(changes.added) == [[10, 1]])
        #expect(pairs(changes.removed) == [[10, 2]])
    }

    /// Another node's transaction, merged: user 1 left room 10 and joined it
    /// again; user 2 joined room 11 and was removed. Before, applied as all
    /// additions then all removals, user 1 fell out of room 10's index.
    @Test func aMembersLastChangeWins() {
        let changes = MembershipChanges([
            event(1, .removedFromConversation, 10), event(1, .addedToConversation, 11),
            event(1, .addedToConversation, 10), event(2, .addedToConversation, 11),
            event(2, .removedFromConversation, 11),
        ])
        #expect(pairs(changes.added) == [[10, 1], [11, 1]])
        #expect(pairs(changes.removed) == [[11, 2]])
    }
}

/// When the fan-out's membership index changes around a write's events
/// (`MembershipOrder`): who receives each event.
struct MembershipOrderTests {
    /// Walks `changes` over `members` as FanoutHub does; each event's seq
    /// and the members it went to.
    func recipients(_ changes: CommittedChanges, members: inout [ConversationID: Set<UserID>]) -> [Seq: Set<UserID>] {
        var got: [Seq: Set<UserID>] = [:]
        var index = members
        MembershipOrder.walk(
            changes,
            insert: { c, user in index[c, default: []].insert(user) },
            push: { event in got[event.seq] = index[event.conversationID] ?? [] },
            remove: { c, user in index[c]?.remove(user) },
            deleted: { c in index[c] = nil })
        members = index
        return got
    }

    func event(_ seq: Seq, _ kind: EventKind, subject: UserID? = nil, by sender: UserID = 1) -> Event {
        Event(conversationID: 10, seq: seq, kind: kind, senderID: sender, subjectUserID: subject, createdAt: 0)
    }

    func account(_ user: UserID, _ kind: AccountEventKind) -> AccountEvent {
        AccountEvent(userID: user, kind: kind, conversationID: 10, createdAt: 0)
    }

    /// Another node's batch: user 3 kicked at seq 5, then a message at seq 6,
    /// one set of changes. Before, user 3 was removed after every event and
    /// received the message sent after its removal.
    @Test func aMemberRemovedInAMergedSetMissesWhatCameAfter() {
        var changes = CommittedChanges()
        changes.events = [event(5, .memberKicked, subject: 3), event(6, .message)]
        changes.accountEvents = [account(3, .removedFromConversation)]
        changes.announced = true
        var members: [ConversationID: Set<UserID>] = [10: [1, 2, 3]]
        let got = recipients(changes, members: &members)
        #expect(got[5] == [1, 2, 3], "the removed member hears of its removal")
        #expect(got[6] == [1, 2])
        #expect(members[10] == [1, 2])
    }

    /// Events fetched for a gap come without their account events: the
    /// removal event alone still removes its subject before what follows.
    @Test func aRemovalEventWithoutItsAccountEventStillRemoves() {
        var changes = CommittedChanges()
        changes.events = [event(5, .memberBanned, subject: 3), event(6, .message), event(7, .memberLeft, subject: 2, by: 2)]
        var members: [ConversationID: Set<UserID>] = [10: [1, 2, 3]]
        let got = recipients(changes, members: &members)
        #expect(got[6] == [1, 2] && got[7] == [1, 2])
        #expect(members[10] == [1])
    }

    /// Left and joined again in one set: away between the two, a member
    /// after them.
    @Test func aLeaveAndARejoinKeepTheirOrder() {
        var changes = CommittedChanges()
        changes.events = [event(5, .memberLeft, subject: 3, by: 3), event(6, .message), event(7, .memberJoined, subject: 3, by: 3), event(8, .message)]
        changes.accountEvents = [account(3, .removedFromConversation), account(3, .addedToConversation)]
        var members: [ConversationID: Set<UserID>] = [10: [1, 3]]
        let got = recipients(changes, members: &members)
        #expect(got[5] == [1, 3] && got[6] == [1] && got[7] == [1, 3] && got[8] == [1, 3])
        #expect(members[10] == [1, 3])
    }

    /// One write creating a group with its members: every member receives
    /// ROOM_CREATED, as before (members the account events add come first).
    @Test func aNewGroupsMembersReceiveItsFirstEvents() {
        var changes = CommittedChanges()
        changes.events = [event(1, .roomCreated), event(2, .memberAdded, subject: 2)]
        changes.accountEvents = [account(1, .addedToConversation), account(2, .addedToConversation)]
        var members: [ConversationID: Set<UserID>] = [:]
        let got = recipients(changes, members: &members)
        #expect(got[1] == [1, 2] && got[2] == [1, 2])
    }

    @Test func aDeletedConversationLeavesTheIndex() {
        var changes = CommittedChanges()
        changes.events = [event(9, .message)]
        changes.deletedConversations = [(10, [1, 2])]
        var members: [ConversationID: Set<UserID>] = [10: [1, 2]]
        let got = recipients(changes, members: &members)
        #expect(got[9] == [1, 2])
        #expect(members[10] == nil)
    }
}
