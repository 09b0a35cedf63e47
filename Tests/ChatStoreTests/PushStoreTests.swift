import ChatCore
import ChatStore
import Testing

/// Push targets (spec/PROTOCOL.md §4.8) through PushTargetService, on both
/// store backends: one target per device, replaced; PUSH_TARGET_CHANGED
/// to the user's devices; gone with a revoked device; what a notification
/// reads when it is sent (signed-in devices only, membership, settings,
/// counts, the sender); the audit rows.
struct PushStoreTests {
    func session(_ f: Fixture, _ name: String, device: String = "") async throws -> Session {
        var input = DeviceInput()
        input.deviceID = device
        return try await f.accounts().register(
            username: name, password: "password1", email: "", displayName: "", device: input, context: f.context
        ).session
    }

    func service(_ f: Fixture, gateway: String = "") -> PushTargetService {
        var rules = PushRules()
        rules.gatewayURL = gateway
        return PushTargetService(store: f.store, clock: f.clock, rules: rules)
    }

    func pushEvents(_ f: Fixture, _ s: Session) async throws -> [String] {
        try await f.rooms().sync(s, accountSeq: 0, limit: 100, skipConversations: true).accountEvents
            .filter { $0.kind == .pushTargetChanged }.map { "\($0.deviceID ?? "") \($0.reason ?? "")" }
    }

    @Test(arguments: StoreBackend.allCases) func oneTargetPerDeviceToldToTheUsersDevices(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let push = service(f, gateway: "https://gw.example.org/_matrix/push/v1/notify")
        let alice = try await session(f, "alice", device: "phone")
        #expect(try await push.set(alice, kind: .unifiedPush, endpoint: "https://up.example.org/a", pushkey: "", appID: "", platform: "", address: "") == false)
        // The same again changes nothing and says nothing.
        _ = try await push.set(alice, kind: .unifiedPush, endpoint: "https://up.example.org/a", pushkey: "", appID: "", platform: "", address: "")
        f.clock.advance(byMs: 1000)
        _ = try await push.set(alice, kind: .gateway, endpoint: "", pushkey: "PK1", appID: "org.example.chat", platform: "apns", address: "")
        var targets = try await push.adminList(user: alice.userID)
        #expect(targets.count == 1 && targets[0].kind == .gateway && targets[0].pushkey == "PK1" && targets[0].deviceID == "phone")
        #expect(try await f.store.devices(user: alice.userID, includeRevoked: false, limit: 10).map(\.push) == [.gateway])
        try await push.remove(alice, address: "")
        try await push.remove(alice, address: "")  // nothing to remove: no error, no event
        targets = try await push.adminList(user: nil)
        #expect(targets.isEmpty)
        #expect(try await f.store.devices(user: alice.userID, includeRevoked: false, limit: 10).map(\.push) == [nil])
        #expect(try await pushEvents(f, alice) == ["phone unified_push", "phone gateway", "phone removed"])
        let audit = try await f.store.auditEntries(user: alice.userID, limit: 50).map(\.action)
        #expect(audit.filter { $0 == .pushTargetSet }.count == 2 && audit.contains(.pushTargetRemoved))
        // The audit row names where, never the endpoint's secret path.
        let detail = try await f.store.auditEntries(user: alice.userID, limit: 50).filter { $0.action == .pushTargetSet }.map(\.detail)
        #expect(detail.allSatisfy { !$0.contains("/a") })
    }

    @Test(arguments: StoreBackend.allCases) func revokedDevicesLoseTheirTargetAndGoneRemovesOnlyTheSameTarget(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let push = service(f)
        let accounts = f.accounts()
        let alice = try await session(f, "alice", device: "phone")
        _ = try await push.set(alice, kind: .unifiedPush, endpoint: "https://up.example.org/1", pushkey: "", appID: "", platform: "", address: "")
        let first = try #require(try await push.adminList(user: alice.userID).first)
        _ = try await push.set(alice, kind: .unifiedPush, endpoint: "https://up.example.org/2", pushkey: "", appID: "", platform: "", address: "")
        // An answer about the old endpoint does not remove the new one.
        try await push.gone(first, why: "410")
        let second = try #require(try await push.adminList(user: alice.userID).first)
        #expect(second.endpoint == "https://up.example.org/2")
        try await push.gone(second, why: "410")
        #expect(try await push.adminList(user: alice.userID).isEmpty)
        #expect(try await pushEvents(f, alice).last == "phone gone")

        _ = try await push.set(alice, kind: .unifiedPush, endpoint: "https://up.example.org/3", pushkey: "", appID: "", platform: "", address: "")
        let other = try await accounts.login(
            username: "alice", password: "password1", device: DeviceInput(deviceID: "laptop"),
            context: f.context
        ).session
        try await accounts.revokeDevice(other, deviceID: "phone", context: f.context)
        #expect(try await push.adminList(user: alice.userID).isEmpty)
        #expect(try await push.adminRemove(user: alice.userID, deviceID: "laptop", actor: "test") == false)
    }

    @Test(arguments: StoreBackend.allCases) func aNotificationReadsWhatIsTrueWhenItIsSent(_ backend: StoreBackend) async throws {
        let f = try await Fixture(backend)
        let push = service(f)
        let rooms = f.rooms()
        let alice = try await session(f, "alice", device: "phone")
        let bob = try await session(f, "bob")
        _ = try await push.set(alice, kind: .unifiedPush, endpoint: "https://up.example.org/a", pushkey: "", appID: "", platform: "", address: "")
        let (group, _) = try await rooms.createGroup(bob, name: "g", description: "", userIDs: [alice.userID], usernames: [])
        var last: Seq = 0
        for text in ["one", "two @alice", "three"] {
            last = try await rooms.send(bob, conversation: group.id, toUser: 0, .init(clientMsgID: text, text: text)).event.seq
        }
        let note = PushQueue.Note(user: alice.userID, conversation: group.id, seq: last, sender: bob.userID, mentioned: false)
        var context = try #require(try await f.store.pushContexts([note], now: f.clock.nowMs(), withSender: true).first)
        #expect(context.isMember && context.unread == 3 && context.mentions == 1 && context.senderUsername == "bob")
        #expect(context.targets.map(\.endpoint) == ["https://up.example.org/a"] && context.settings == NotificationSettings())
        // The text as it is when sent: edited, then gone with a deletion
        // (the note captured "three" when the message was committed).
        #expect(context.note.text == "three")
        var captured = note
        captured.text = "three"
        _ = try await rooms.edit(bob, conversation: group.id, seq: last, text: "three, edited", clientMsgID: "e1")
        #expect(try await f.store.pushContexts([captured], now: f.clock.nowMs(), withSender: true).first?.note.text == "three, edited")
        _ = try await rooms.deleteMessage(bob, conversation: group.id, seq: last, clientMsgID: "d1")
        context = try #require(try await f.store.pushContexts([captured], now: f.clock.nowMs(), withSender: true).first)
        #expect(context.note.text == nil && context.unread == 2)
        last = try await rooms.send(bob, conversation: group.id, toUser: 0, .init(clientMsgID: "four", text: "four")).event.seq

        _ = try await rooms.markRead(alice, conversation: group.id, seq: last - 1)
        _ = try await rooms.setNotifications(alice, conversation: group.id, level: .mentions, mutedUntil: 0)
        context = try #require(try await f.store.pushContexts([note], now: f.clock.nowMs(), withSender: false).first)
        #expect(context.unread == 1 && context.mentions == 0 && context.settings.level == .mentions && context.senderUsername == nil)

        // A disabled account is not told (its tokens stay, but Resume refuses them).
        try await f.store.setDisabled(user: alice.userID, true)
        #expect(try await f.store.pushContexts([note], now: f.clock.nowMs(), withSender: false).first?.targets.isEmpty == true)
        try await f.store.setDisabled(user: alice.userID, false)
        #expect(try await f.store.pushContexts([note], now: f.clock.nowMs(), withSender: false).first?.targets.count == 1)
        // A signed-out device is not told: its token ended.
        _ = try await f.store.changePassword(user: alice.userID, hash: "x", keepTokens: false, except: nil)
        context = try #require(try await f.store.pushContexts([note], now: f.clock.nowMs(), withSender: false).first)
        #expect(context.targets.isEmpty)
        // Not a member (any more): said so.
        let outsider = PushQueue.Note(user: bob.userID, conversation: group.id + 1000, seq: 1, sender: alice.userID, mentioned: false)
        #expect(try await f.store.pushContexts([outsider], now: f.clock.nowMs(), withSender: false).first?.isMember == false)
    }
}
