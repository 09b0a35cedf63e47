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
