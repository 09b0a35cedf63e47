import ChatCore
import Testing

/// spec/PROTOCOL.md §7.2 and §7.3 as tables, without a database.
struct FriendPolicyTests {
    typealias Relation = FriendPolicy.Relation

    static func kind(_ body: () throws -> Void) -> ChatFailure.Kind? { ConversationPolicyTests.kind(body) }

    static let active = AccountSnapshot(id: 2)
    static let disabled = AccountSnapshot(id: 2, disabled: true)

    static func request(
        to target: UserID = 2, caller: AccountSnapshot? = AccountSnapshot(id: 1), target account: AccountSnapshot? = active,
        blocked: Bool = false, _ relation: Relation = Relation()
    ) throws -> FriendPolicy.RequestOutcome {
        try FriendPolicy.request(
            from: 1, to: target, callerAccount: caller, targetAccount: account, blocked: blocked, relation: relation)
    }

    /// FriendRequest: its checks in order, then request or befriend.
    @Test func requests() throws {
        #expect(try Self.request() == .request)
        #expect(try Self.request(Relation(incoming: .pending)) == .befriend)
        #expect(Self.kind { _ = try Self.request(to: 1) } == .invalidField)
        #expect(Self.kind { _ = try Self.request(caller: AccountSnapshot(id: 1, disabled: true)) } == .accountDisabled)
        #expect(Self.kind { _ = try Self.request(target: Self.disabled) } == .notFound)
        #expect(Self.kind { _ = try Self.request(target: nil) } == .notFound)
        #expect(Self.kind { _ = try Self.request(blocked: true) } == .forbidden)
        #expect(Self.kind { _ = try Self.request(Relation(outgoing: .accepted, incoming: .accepted)) } == .conflict)
        #expect(Self.kind { _ = try Self.request(Relation(outgoing: .pending)) } == .conflict)
        // In order: the caller before the target, the target before a block, a block before the relation.
        #expect(Self.kind { _ = try Self.request(to: 1, caller: nil, target: nil, blocked: true) } == .invalidField)
        #expect(Self.kind { _ = try Self.request(target: Self.disabled, blocked: true) } == .notFound)
        #expect(Self.kind { _ = try Self.request(blocked: true, Relation(outgoing: .accepted)) } == .forbidden)
    }

    /// Accept, Decline, Cancel and Remove need the request or friendship they end.
    @Test func endingRelations() {
        #expect(Self.kind { try FriendPolicy.checkAccept(Relation(incoming: .pending)) } == nil)
        #expect(Self.kind { try FriendPolicy.checkAccept(Relation(outgoing: .pending)) } == .notFound)
        #expect(Self.kind { try FriendPolicy.checkAccept(Relation()) } == .notFound)
        #expect(Self.kind { try FriendPolicy.checkEndRequest(exists: true) } == nil)
        #expect(Self.kind { try FriendPolicy.checkEndRequest(exists: false) } == .notFound)
        for link in FriendPolicy.Link.allCases {
            let friends = link == .accepted
            #expect(Self.kind { try FriendPolicy.checkRemove(Relation(outgoing: link)) } == (friends ? nil : .notFound))
            #expect(Self.kind { try FriendPolicy.checkRemove(Relation(incoming: link)) } == (friends ? nil : .notFound))
        }
        #expect(Self.kind { try FriendPolicy.checkRemove(Relation()) } == .notFound)
    }

    /// Block: not oneself; any existing user; a second block changes nothing. Unblock: only one's own block.
    @Test func blocks() throws {
        #expect(try FriendPolicy.block(2, by: 1, targetExists: true, alreadyBlocked: false))
        #expect(try !FriendPolicy.block(2, by: 1, targetExists: true, alreadyBlocked: true))
        #expect(Self.kind { _ = try FriendPolicy.block(1, by: 1, targetExists: true, alreadyBlocked: false) } == .invalidField)
        #expect(Self.kind { _ = try FriendPolicy.block(2, by: 1, targetExists: false, alreadyBlocked: false) } == .notFound)
        #expect(Self.kind { try FriendPolicy.checkUnblock(blocked: true) } == nil)
        #expect(Self.kind { try FriendPolicy.checkUnblock(blocked: false) } == .notFound)
    }
}
