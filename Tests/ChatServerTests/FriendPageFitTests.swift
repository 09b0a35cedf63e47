import ChatCore
import Testing

@testable import ChatServer

/// ListFriends answers are cut to fit one frame (spec §7.2): the longest
/// list loses entries from its end, says it has more, and at least one
/// entry is always left.
struct FriendPageFitTests {
    func entries(_ n: Int, name: String) -> PageResult<FriendEntry> {
        let users = (0..<n).map {
            FriendEntry(
                user: User(
                    id: Int64($0 + 1), username: "\(name)\($0)", displayName: String(repeating: "d", count: 60), avatarURL: "",
                    statusText: String(repeating: "s", count: 200), role: .user, createdAt: 0),
                since: 1, lastSeenAt: 0)
        }
        return PageResult(items: users, hasMore: false)
    }

    @Test func theLongestListIsCutFirstAndSaysItHasMore() {
        var pages: [FriendList: (page: PageResult<FriendEntry>, from: FriendCursor)] = [
            .friends: (entries(30, name: "f"), .start), .incoming: (entries(3, name: "i"), .start), .outgoing: (entries(0, name: "o"), .start),
        ]
        ClientRouter.fit(&pages, within: 4096)
        let friends = pages[.friends]?.page
        #expect((friends?.items.count ?? 0) < 30 && friends?.hasMore == true)
        #expect(friends?.items.first?.user.username == "f0")  // cut from the end
        #expect(pages[.incoming]?.page.items.count == 3 && pages[.incoming]?.page.hasMore == false)
        #expect(pages[.outgoing]?.page.items.isEmpty == true && pages[.outgoing]?.page.hasMore == false)

        // A page that fits is left alone.
        var small: [FriendList: (page: PageResult<FriendEntry>, from: FriendCursor)] = [.friends: (entries(3, name: "f"), .start)]
        ClientRouter.fit(&small, within: 1 << 20)
        #expect(small[.friends]?.page.items.count == 3 && small[.friends]?.page.hasMore == false)

        // A frame too small for any: one entry stays, so paging always advances.
        var tiny: [FriendList: (page: PageResult<FriendEntry>, from: FriendCursor)] = [
            .incoming: (entries(5, name: "i"), .start), .outgoing: (entries(5, name: "o"), .start),
        ]
        ClientRouter.fit(&tiny, within: 10)
        #expect((tiny[.incoming]?.page.items.count ?? 0) + (tiny[.outgoing]?.page.items.count ?? 0) == 1)
        #expect(tiny[.incoming]?.page.hasMore == true && tiny[.outgoing]?.page.hasMore == true)
    }

    /// ListBlocked pages too (§10 says so; before, only ListFriends was cut).
    @Test func aBlockedPageIsCutFromItsEndAndSaysItHasMore() {
        var page = PageResult(items: entries(30, name: "b").items.map(\.user), hasMore: false)
        ClientRouter.fit(&page, within: 4096)
        #expect(page.items.count > 1 && page.items.count < 30 && page.hasMore)
        #expect(page.items.map(\.username) == (0..<page.items.count).map { "b\($0)" })
        let sizes = page.items.map { ((try? ProtoMap.user($0).serializedBytes() as [UInt8])?.count ?? 0) + 8 }
        #expect(sizes.reduce(ClientRouter.framingReserve, +) <= 4096)

        var fits = PageResult(items: entries(3, name: "b").items.map(\.user), hasMore: false)
        ClientRouter.fit(&fits, within: 1 << 20)
        #expect(fits.items.count == 3 && !fits.hasMore)

        var tiny = PageResult(items: entries(5, name: "b").items.map(\.user), hasMore: false)
        ClientRouter.fit(&tiny, within: 10)
        #expect(tiny.items.count == 1 && tiny.hasMore)
    }
}
