import ChatCore
import Testing

/// ListFriends and ListBlocked pages (spec/PROTOCOL.md §7.2, §7.3) on each
/// backend: every entry exactly once, in the list's order, whatever the page size.
struct FriendPageTests {
    @Test(arguments: StoreBackend.allCases) func pagesCoverEveryListInItsOrder(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let friends = FriendService(store: f.store, clock: f.clock)
        let me = try await f.session("myself")
        // Friends, named so that case-blind order differs from case-sensitive and id order.
        var others: [String: Session] = [:]
        for name in ["Zed", "amy", "Bob", "carl", "Dora", "in1", "in2", "in3", "out1", "out2", "out3", "blk1", "blk2", "blk3"] {
            others[name] = try await f.session(name)
        }
        for name in ["Zed", "amy", "Bob", "carl", "Dora"] {
            let other = try #require(others[name])
            _ = try await friends.request(other, userID: me.userID, username: "")
            try await friends.accept(me, userID: other.userID, username: "")
            f.clock.advance(byMs: 1)
        }
        // Requests: two made in the same millisecond (ties go by user id), the rest later.
        for name in ["in2", "in1", "in3"] {
            _ = try await friends.request(try #require(others[name]), userID: me.userID, username: "")
            if name != "in2" { f.clock.advance(byMs: 1) }
        }
        for name in ["out3", "out1", "out2"] {
            _ = try await friends.request(me, userID: try #require(others[name]).userID, username: "")
            f.clock.advance(byMs: 1)
        }
        for name in ["blk3", "blk1", "blk2"] {
            try await friends.block(me, userID: try #require(others[name]).userID, username: "")
        }

        let id = { (name: String) in others[name]?.userID ?? 0 }
        let expected: [FriendList: [String]] = [
            .friends: ["amy", "Bob", "carl", "Dora", "Zed"],
            .incoming: id("in1") < id("in2") ? ["in1", "in2", "in3"] : ["in2", "in1", "in3"],
            .outgoing: ["out3", "out1", "out2"],
        ]
        for list in FriendList.allCases {
            for limit in 1...4 {
                var seen: [String] = []
                var cursor = FriendCursor.start
                var pages = 0
                while true {
                    let page = try await friends.page(me, list, after: cursor, limit: limit)
                    #expect(page.items.count <= limit)
                    seen += page.items.map(\.user.username)
                    pages += 1
                    guard page.hasMore, let last = page.items.last else { break }
                    // The cursor goes over the wire as a string and comes back.
                    cursor = try FriendCursor(wire: FriendCursor(after: last, in: list).wire, for: list)
                }
                #expect(seen == expected[list], "\(list) limit \(limit)")
                // has_more is exact: no empty last page.
                #expect(pages == (expected[list, default: []].count + limit - 1) / limit)
            }
        }
        // Friend entries carry when the friendship started; requests when they were made.
        let first = try await friends.page(me, .friends, after: .start, limit: 0)
        #expect(first.items.count == 5 && !first.hasMore)
        #expect(try #require(first.items.first { $0.user.username == "Zed" }).since < first.items.first { $0.user.username == "Dora" }?.since ?? 0)

        // Blocked users: by id, paged by after_id.
        var blocked: [UserID] = []
        var after: UserID = 0
        while true {
            let page = try await friends.blocked(me, after: after, limit: 2)
            blocked += page.items.map(\.id)
            guard page.hasMore, let last = page.items.last else { break }
            after = last.id
        }
        #expect(blocked == ["blk1", "blk2", "blk3"].map(id).sorted())
    }

    @Test func cursorsAreReadOnlyAsWritten() throws {
        let entry = FriendEntry(user: User(id: 42, username: "Amy.B-1", displayName: "", avatarURL: "", statusText: "", role: .user, createdAt: 0), since: 1_700_000_000_123, lastSeenAt: 0)
        #expect(FriendCursor(after: entry, in: .friends).wire == "amy.b-1")
        #expect(FriendCursor(after: entry, in: .incoming).wire == "1700000000123-42")
        #expect(try FriendCursor(wire: "", for: .outgoing) == .start)
        #expect(try FriendCursor(wire: "1700000000123-42", for: .outgoing) == .afterRequest(at: 1_700_000_000_123, user: 42))
        for (wire, list) in [
            ("Amy", FriendList.friends), ("a b", .friends), (String(repeating: "a", count: 33), .friends), ("amy", .incoming),
            ("1-2-3", .incoming), ("-1-2", .outgoing), ("99999999999999999999-1", .incoming), ("1-", .incoming), ("١-2", .incoming),
        ] {
            #expect(throws: ChatFailure.self, "\(wire)") { try FriendCursor(wire: wire, for: list) }
        }
    }
}
