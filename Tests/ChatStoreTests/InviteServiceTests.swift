import ChatCore
import ChatStore
import Synchronization
import Testing

extension Fixture {
    func invites() -> InviteService { InviteService(store: store, clock: clock, crypto: crypto) }

    func session(_ name: String) async throws -> Session {
        try await accounts().register(
            username: name, password: "password1", email: "", displayName: "", device: DeviceInput(), context: context
        ).session
    }
}

/// Invite links (spec/PROTOCOL.md §5.14) through InviteService on each
/// backend: the rules, the join they make, and the counting of uses.
struct InviteServiceTests {
    @Test(arguments: StoreBackend.allCases) func redeemingJoinsAPrivateGroupAsJoinRoomWould(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let changes = Mutex<[CommittedChanges]>([])
        f.store.setEventObserver { batch in changes.withLock { $0 += batch } }
        let (owner, guest) = (try await f.session("owner"), try await f.session("guest"))
        let (group, _) = try await f.rooms().createGroup(owner, name: "secret", description: "", userIDs: [], usernames: [])
        let (link, token) = try await f.invites().create(owner, conversation: group.id, expiresInMs: 0, maxUses: 0)
        #expect(token.count == 32)
        #expect(link.conversationID == group.id && link.createdBy == owner.userID && link.uses == 0)
        changes.withLock { $0 = [] }

        let joined = try await f.invites().redeem(guest, token: token)
        #expect(joined.id == group.id && joined.myRole == .member && joined.memberCount == 2)
        let published = changes.withLock { $0 }
        let event = try #require(published.flatMap(\.events).last)
        #expect(event.kind == .memberJoined && event.senderID == guest.userID && event.subjectUserID == guest.userID)
        #expect(published.flatMap(\.accountEvents).contains { $0.userID == guest.userID && $0.kind == .addedToConversation })
        #expect(try await f.invites().list(owner, conversation: group.id).map(\.uses) == [1])

        // Audited without the token.
        let audit = try await f.store.auditEntries(user: nil, limit: 100)
        #expect(Set(audit.map(\.action)).isSuperset(of: [.inviteCreated, .inviteRedeemed]))
        let hex = token.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(!audit.contains { $0.detail.contains(hex) })

        // A member redeeming again changes nothing and spends no use.
        _ = try await f.invites().redeem(guest, token: token)
        #expect(try await f.invites().list(owner, conversation: group.id).map(\.uses) == [1])
    }

    @Test(arguments: StoreBackend.allCases) func onlyOwnersAndAdminsManageLinks(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let (owner, admin, member, outsider) = (
            try await f.session("owner"), try await f.session("admin"), try await f.session("member"), try await f.session("outsider")
        )
        let rooms = f.rooms()
        let room = try await rooms.createRoom(owner, name: "pub", description: "", visibility: .public)
        let (group, _) = try await rooms.createGroup(owner, name: "g", description: "", userIDs: [admin.userID, member.userID], usernames: [])
        _ = try await rooms.invite(owner, conversation: room.id, userID: admin.userID, username: "")
        _ = try await rooms.invite(owner, conversation: room.id, userID: member.userID, username: "")
        for id in [room.id, group.id] {
            try await rooms.moderate(owner, conversation: id, userID: admin.userID, username: "", .setRole(.admin))
        }
        let invites = f.invites()
        for id in [room.id, group.id] {
            let (link, _) = try await invites.create(admin, conversation: id, expiresInMs: 0, maxUses: 3)
            #expect(try await invites.list(owner, conversation: id).map(\.id) == [link.id])
            #expect(await failureKind { _ = try await invites.create(member, conversation: id, expiresInMs: 0, maxUses: 0) } == .forbidden)
            #expect(await failureKind { _ = try await invites.list(member, conversation: id) } == .forbidden)
            #expect(await failureKind { try await invites.revoke(member, conversation: id, invite: link.id) } == .forbidden)
            try await invites.revoke(owner, conversation: id, invite: link.id)
            try await invites.revoke(admin, conversation: id, invite: link.id)  // again: no change
            #expect(try await invites.list(owner, conversation: id).isEmpty)
        }
        // Outsiders: not_member on a public room, not_found on a private group.
        #expect(await failureKind { _ = try await invites.create(outsider, conversation: room.id, expiresInMs: 0, maxUses: 0) } == .notMember)
        #expect(await failureKind { _ = try await invites.list(outsider, conversation: group.id) } == .notFound)
        #expect(await failureKind { try await invites.revoke(outsider, conversation: group.id, invite: 1) } == .notFound)
        // Direct chats have no links; an unknown link id is not_found.
        let direct = try await rooms.openDirect(owner, userID: member.userID, username: "")
        #expect(await failureKind { _ = try await invites.create(owner, conversation: direct.id, expiresInMs: 0, maxUses: 0) } == .forbidden)
        #expect(await failureKind { try await invites.revoke(owner, conversation: room.id, invite: 999) } == .notFound)
    }

    @Test(arguments: StoreBackend.allCases) func expiredUsedUpRevokedAndUnknownTokensAreRefused(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let (owner, a, b) = (try await f.session("owner"), try await f.session("usera"), try await f.session("userb"))
        let room = try await f.rooms().createRoom(owner, name: "r", description: "", visibility: .private)
        let invites = f.invites()

        let (_, once) = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 1)
        _ = try await invites.redeem(a, token: once)
        #expect(await failureKind { _ = try await invites.redeem(b, token: once) } == .inviteUsedUp)
        // The member who took the last use retries (the answer was lost): a success, no change.
        #expect(try await invites.redeem(a, token: once).id == room.id)

        let (_, brief) = try await invites.create(owner, conversation: room.id, expiresInMs: 1000, maxUses: 0)
        f.clock.advance(byMs: 1000)
        #expect(await failureKind { _ = try await invites.redeem(b, token: brief) } == .inviteExpired)

        let (revokedLink, revoked) = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 0)
        try await invites.revoke(owner, conversation: room.id, invite: revokedLink.id)
        #expect(await failureKind { _ = try await invites.redeem(b, token: revoked) } == .inviteRevoked)
        // A member is a member whatever the link's state.
        #expect(try await invites.redeem(owner, token: revoked).id == room.id)
        #expect(try await invites.redeem(a, token: brief).id == room.id)

        #expect(await failureKind { _ = try await invites.redeem(b, token: Array(repeating: 9, count: 32)) } == .invalidToken)
        #expect(await failureKind { _ = try await invites.redeem(b, token: Array(repeating: 9, count: 31)) } == .invalidToken)
        // None of the dead links is listed.
        #expect(try await invites.list(owner, conversation: room.id).isEmpty)
        #expect(try await f.store.membership(conversation: room.id, user: b.userID) == nil)
    }

    @Test(arguments: StoreBackend.allCases) func aBannedUserIsRefusedAndSpendsNoUse(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let (owner, banned) = (try await f.session("owner"), try await f.session("banned"))
        let rooms = f.rooms()
        let (group, _) = try await rooms.createGroup(owner, name: "g", description: "", userIDs: [], usernames: [])
        try await rooms.moderate(owner, conversation: group.id, userID: banned.userID, username: "", .ban)
        let (_, token) = try await f.invites().create(owner, conversation: group.id, expiresInMs: 0, maxUses: 2)
        #expect(await failureKind { _ = try await f.invites().redeem(banned, token: token) } == .forbidden)
        #expect(try await f.invites().list(owner, conversation: group.id).map(\.uses) == [0])
    }

    @Test(arguments: StoreBackend.allCases) func concurrentRedemptionsCannotShareTheLastUse(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let owner = try await f.session("owner")
        var guests: [Session] = []
        for i in 0..<6 { guests.append(try await f.session("guest\(i)")) }
        let room = try await f.rooms().createRoom(owner, name: "race", description: "", visibility: .private)
        let invites = f.invites()
        let (_, token) = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 2)
        let outcomes = try await withThrowingTaskGroup(of: ChatFailure.Kind?.self) { group in
            for guest in guests {
                group.addTask { await failureKind { _ = try await invites.redeem(guest, token: token) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 2)
        #expect(outcomes.filter { $0 == .inviteUsedUp }.count == 4)
        let room2 = try #require(try await f.store.conversation(id: room.id, viewer: owner.userID))
        #expect(room2.memberCount == 3)
    }

    @Test(arguments: StoreBackend.allCases) func fieldsAreCheckedAndLinksBounded(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let owner = try await f.session("owner")
        let room = try await f.rooms().createRoom(owner, name: "r", description: "", visibility: .public)
        let invites = f.invites()
        #expect(await failureKind { _ = try await invites.create(owner, conversation: room.id, expiresInMs: -1, maxUses: 0) } == .invalidField)
        #expect(await failureKind {
            _ = try await invites.create(owner, conversation: room.id, expiresInMs: GrantPolicy.maxExpiresInMs + 1, maxUses: 0)
        } == .invalidField)
        #expect(await failureKind { _ = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 1_000_001) } == .invalidField)
        // 60 per hour per user, 100 usable per conversation.
        for _ in 0..<60 { _ = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 0) }
        #expect(await failureKind { _ = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 0) } == .rateLimited)
        f.clock.advance(byMs: GrantPolicy.inviteCreationWindowMs)
        for _ in 0..<40 { _ = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 0) }
        #expect(await failureKind { _ = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 0) } == .quotaExceeded)
        #expect(try await invites.list(owner, conversation: room.id).count == 100)
    }

    @Test(arguments: StoreBackend.allCases) func redemptionAttemptsAreThrottledPerUser(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let guesser = try await f.session("guesser")
        let invites = f.invites()
        for i in 0..<GrantPolicy.redemptionsPerUser {
            #expect(await failureKind { _ = try await invites.redeem(guesser, token: Array(repeating: UInt8(i), count: 32)) } == .invalidToken)
        }
        #expect(await failureKind { _ = try await invites.redeem(guesser, token: Array(repeating: 99, count: 32)) } == .rateLimited)
        f.clock.advance(byMs: GrantPolicy.redemptionWindowMs)
        #expect(await failureKind { _ = try await invites.redeem(guesser, token: Array(repeating: 99, count: 32)) } == .invalidToken)
    }
}

/// Registration tokens (spec/PROTOCOL.md §4.3): Register while registration is closed.
struct RegistrationTokenTests {
    func closed(_ f: Fixture) -> AccountService {
        var limits = DomainLimits()
        limits.registrationOpen = false
        return f.accounts(limits: limits)
    }

    func register(_ accounts: AccountService, _ f: Fixture, _ name: String, token: String) async throws -> AuthResult {
        try await accounts.register(
            username: name, password: "password1", email: "", displayName: "", device: DeviceInput(), registrationToken: token,
            context: f.context)
    }

    @Test(arguments: StoreBackend.allCases) func aTokenLetsItsUsesThroughAndIsCountedDown(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = closed(f)
        #expect(await failureKind { _ = try await register(accounts, f, "nobody", token: "") } == .registrationClosed)
        #expect(await failureKind { _ = try await register(accounts, f, "nobody", token: "zz") } == .invalidToken)
        #expect(await failureKind { _ = try await register(accounts, f, "nobody", token: String(repeating: "ab", count: 32)) } == .invalidToken)

        let (grant, token) = try await accounts.createRegistrationToken(maxUses: 2, expiresInMs: 0, actor: "admin:uid=0")
        #expect(token.count == 64 && grant.maxUses == 2)
        _ = try await register(accounts, f, "first", token: token)
        _ = try await register(accounts, f, "second", token: token.uppercased())
        #expect(await failureKind { _ = try await register(accounts, f, "third", token: token) } == .inviteUsedUp)
        #expect(try await accounts.registrationTokens(all: false).isEmpty)
        #expect(try await accounts.registrationTokens(all: true).map(\.uses) == [2])

        let audit = try await f.store.auditEntries(user: nil, limit: 100)
        #expect(audit.filter { $0.action == .registrationTokenUsed }.count == 2)
        #expect(audit.contains { $0.action == .adminRegistrationTokenCreate })
        #expect(!audit.contains { $0.detail.contains(token) })
    }

    @Test(arguments: StoreBackend.allCases) func revokedExpiredAndRefusedRegistrations(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = closed(f)
        let (revoked, revokedToken) = try await accounts.createRegistrationToken(maxUses: 0, expiresInMs: 0, actor: "t")
        #expect(revoked.maxUses == 1)
        _ = try await accounts.revokeRegistrationToken(id: revoked.id, actor: "t")
        #expect(await failureKind { _ = try await register(accounts, f, "late", token: revokedToken) } == .inviteRevoked)
        #expect(await failureKind { _ = try await accounts.revokeRegistrationToken(id: 12345, actor: "t") } == .notFound)

        let (_, brief) = try await accounts.createRegistrationToken(maxUses: 1, expiresInMs: 1000, actor: "t")
        f.clock.advance(byMs: 1000)
        #expect(await failureKind { _ = try await register(accounts, f, "late", token: brief) } == .inviteExpired)

        // A refused registration (a taken username) spends no use.
        _ = try await f.accounts().register(
            username: "taken", password: "password1", email: "", displayName: "", device: DeviceInput(), context: f.context)
        let (_, token) = try await accounts.createRegistrationToken(maxUses: 1, expiresInMs: 0, actor: "t")
        #expect(await failureKind { _ = try await register(accounts, f, "TAKEN", token: token) } == .conflict)
        _ = try await register(accounts, f, "fresh", token: token)

        // While registration is open the field is ignored.
        _ = try await register(f.accounts(), f, "openreg", token: "not a token")
        #expect(await failureKind { _ = try await accounts.createRegistrationToken(maxUses: 1_000_001, expiresInMs: 0, actor: "t") } == .invalidField)
    }

    @Test(arguments: StoreBackend.allCases) func concurrentRegistrationsCannotShareTheLastUse(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = closed(f)
        let (_, token) = try await accounts.createRegistrationToken(maxUses: 1, expiresInMs: 0, actor: "t")
        let outcomes = try await withThrowingTaskGroup(of: ChatFailure.Kind?.self) { group in
            for i in 0..<6 {
                group.addTask { await failureKind { _ = try await register(accounts, f, "racer\(i)", token: token) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 1)
        #expect(outcomes.filter { $0 == .inviteUsedUp }.count == 5)
        #expect(try await accounts.registrationTokens(all: true).map(\.uses) == [1])
    }

    /// Dead grants answer why for 30 days, then the retention purge deletes them.
    @Test(arguments: StoreBackend.allCases) func deadGrantsAreDeletedThirtyDaysOn(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let accounts = closed(f)
        let (owner, a, b) = (try await f.session("owner"), try await f.session("usera"), try await f.session("userb"))
        let room = try await f.rooms().createRoom(owner, name: "r", description: "", visibility: .private)
        let invites = f.invites()
        let day: Millis = 24 * 3600 * 1000

        let (_, usedUp) = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 1)
        _ = try await invites.redeem(a, token: usedUp)
        let (_, expiring) = try await invites.create(owner, conversation: room.id, expiresInMs: 2 * day, maxUses: 0)
        let (revokedLink, revoked) = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 0)
        let (_, live) = try await invites.create(owner, conversation: room.id, expiresInMs: 0, maxUses: 0)
        let (revokedToken, _) = try await accounts.createRegistrationToken(maxUses: 1, expiresInMs: 0, actor: "t")
        let (_, liveToken) = try await accounts.createRegistrationToken(maxUses: 1, expiresInMs: 0, actor: "t")
        f.clock.advance(byMs: 5 * day)
        try await invites.revoke(owner, conversation: room.id, invite: revokedLink.id)
        _ = try await accounts.revokeRegistrationToken(id: revokedToken.id, actor: "t")

        // Day 35: the used-up link (created on day 0) and the expired one (day 2) go; those revoked on day 5 stay.
        f.clock.advance(byMs: 30 * day)
        #expect(try await accounts.pruneGrants() == 2)
        #expect(await failureKind { _ = try await invites.redeem(b, token: usedUp) } == .invalidToken)
        #expect(await failureKind { _ = try await invites.redeem(b, token: expiring) } == .invalidToken)
        #expect(await failureKind { _ = try await invites.redeem(b, token: revoked) } == .inviteRevoked)
        #expect(try await accounts.registrationTokens(all: true).count == 2)

        f.clock.advance(byMs: 1)
        #expect(try await accounts.pruneGrants() == 2)
        #expect(await failureKind { _ = try await invites.redeem(b, token: revoked) } == .invalidToken)
        #expect(try await accounts.registrationTokens(all: true).count == 1)
        #expect(try await accounts.pruneGrants() == 0)
        // Grants that can still be used stay, however old.
        _ = try await invites.redeem(b, token: live)
        _ = try await register(accounts, f, "late", token: liveToken)
    }
}
