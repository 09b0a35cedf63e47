import ChatClient
import ChatProtocol
import Foundation
import Synchronization
import Testing

/// Collects delivered events (thread-safe).
final class Delivered: Sendable {
    let events = Mutex<[Chatd_V1_Event]>([])
    let account = Mutex<[Chatd_V1_AccountEvent]>([])
    /// Per (conversation, seq): the seq the event's content is current as of.
    let asOf = Mutex<[[UInt64]: UInt64]>([:])
    func add(_ e: Chatd_V1_Event) { events.withLock { $0.append(e) } }
    func add(_ e: Chatd_V1_Event, _ current: UInt64) {
        add(e)
        asOf.withLock { $0[[e.conversationID, e.seq]] = current }
    }
    func addAccount(_ e: Chatd_V1_AccountEvent) { account.withLock { $0.append(e) } }
    var all: [Chatd_V1_Event] { events.withLock { $0 } }
    func seqs(_ conversation: UInt64) -> [UInt64] { all.filter { $0.conversationID == conversation }.map(\.seq) }
}

/// Feeds a connection's pushes to a ConversationSync in the background.
func follow(_ connection: ChatConnection, _ sync: ConversationSync) -> Task<Void, Never> {
    Task {
        for await push in connection.pushes { try? await sync.handle(push) }
    }
}

@Suite(.timeLimit(.minutes(2)))
struct ConversationTests {
    @Test func offlineMemberCatchesUpExactlyOnceInOrder() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice", password: "password1")
            let (bob, bobAuth) = try await server.user("bob", password: "password1")
            _ = try await server.user("carol", password: "password1")
            let room = try await alice.createRoom(name: "catchup")
            _ = try await bob.joinRoom(room.id)

            // Bob is up to date, then goes away.
            let delivered = Delivered()
            let bobSync = ConversationSync(connection: bob, deliver: delivered.add, deliverAccount: delivered.addAccount)
            try await bobSync.catchUp()
            let seenBefore = await bobSync.lastSeq[room.id] ?? 0
            let accountBefore = await bobSync.accountSeq
            await bob.close()

            // A day of activity: messages, edits, deletes, reactions, membership.
            var sent: [UInt64] = []
            for i in 0..<60 { sent.append(try await alice.send(room: room.id, text: "m\(i) @bob", clientMsgID: "c-\(i)").event.seq) }
            _ = try await alice.edit(room.id, seq: sent[3], text: "edited")
            _ = try await alice.deleteMessage(room.id, seq: sent[4])
            _ = try await alice.react(room.id, seq: sent[5], emoji: "👍")
            _ = try await alice.react(room.id, seq: sent[5], emoji: "👍", add: false)
            _ = try await alice.invite(room.id, username: "carol")
            try await alice.moderate(.kick, conversation: room.id, username: "carol")
            let group = try await alice.createGroup(name: "new group", usernames: ["bob"]).conversation
            _ = try await alice.send(room: group.id, text: "welcome", clientMsgID: "g-1")

            // Bob comes back with his token and catches up.
            let bob2 = try await server.connect()
            _ = try await bob2.resume(token: bobAuth.token)
            let sync2 = ConversationSync(
                connection: bob2, lastSeq: await bobSync.lastSeq, accountSeq: accountBefore,
                deliver: delivered.add, deliverAccount: delivered.addAccount)
            let pushes = follow(bob2, sync2)
            // A push arriving during the catch-up must not duplicate anything.
            async let more = alice.send(room: room.id, text: "during catch-up", clientMsgID: "c-live")
            try await sync2.catchUp()
            _ = try await more
            try await Task.sleep(for: .milliseconds(200))
            try await sync2.catchUp()

            let head = try await alice.history(room: room.id).headSeq
            let expected = Array((seenBefore + 1)...head)
            let got = delivered.seqs(room.id).filter { $0 > seenBefore }
            #expect(got == expected, "every event once, in order")
            #expect(delivered.seqs(group.id) == [1, 2, 3])  // created, bob added, welcome
            let account = delivered.account.withLock { $0 }
            #expect(account.contains { $0.kind == .addedToConversation && $0.conversationID == group.id })
            #expect(account.map(\.seq) == Array((account.first?.seq ?? 1)...(account.last?.seq ?? 0)))
            let kinds = Set(delivered.all.filter { $0.conversationID == room.id }.map(\.kind))
            #expect(kinds.isSuperset(of: [.message, .messageEdited, .messageDeleted, .reactionAdded, .reactionRemoved, .memberAdded, .memberKicked]))
            // Messages read by History come as of their page's head (§6.4
            // step 1): the edit and the reactions delivered after them are
            // already in them, so a client applying those again would count
            // them twice.
            let asOf = delivered.asOf.withLock { $0 }
            for e in delivered.all where e.conversationID == room.id && e.seq > seenBefore {
                #expect((asOf[[room.id, e.seq]] ?? 0) >= e.seq)
                if [.messageEdited, .reactionAdded, .reactionRemoved].contains(e.kind) {
                    #expect((asOf[[room.id, e.targetSeq]] ?? 0) >= e.seq, "\(e.kind) at \(e.seq) is in its target as read")
                }
            }
            pushes.cancel()
        }
    }

    @Test func seqGapOnThePushStreamIsFilled() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice", password: "password1")
            let (bob, bobAuth) = try await server.user("bob", password: "password1")
            let room = try await alice.createRoom(name: "gaps")
            _ = try await bob.joinRoom(room.id)
            _ = try await alice.send(room: room.id, text: "one")
            let delivered = Delivered()
            let sync = ConversationSync(connection: bob, deliver: delivered.add)
            try await sync.catchUp()
            let last = await sync.lastSeq[room.id] ?? 0
            await bob.close()
            for i in 0..<3 { _ = try await alice.send(room: room.id, text: "missed \(i)") }

            // Back online, listening to pushes only: the next push reveals a gap.
            let bob2 = try await server.connect()
            _ = try await bob2.resume(token: bobAuth.token)
            let sync2 = ConversationSync(connection: bob2, lastSeq: await sync.lastSeq, deliver: delivered.add)
            let task = follow(bob2, sync2)
            let live = try await alice.send(room: room.id, text: "live").event.seq
            let deadline = ContinuousClock.now + .seconds(5)
            while await (sync2.lastSeq[room.id] ?? 0) < live && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(delivered.seqs(room.id).filter { $0 > last } == Array((last + 1)...live))
            task.cancel()
        }
    }

    @Test func editsDeletesAndReactionsAreIdempotentAndChecked() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice", password: "password1")
            let (bob, _) = try await server.user("bob", password: "password1")
            let room = try await alice.createRoom(name: "idem")
            _ = try await bob.joinRoom(room.id)
            let other = try await alice.createRoom(name: "other")
            let msg = try await alice.send(room: room.id, text: "hello").event.seq
            let bobMsg = try await bob.send(room: room.id, text: "bob's").event.seq

            let e1 = try await alice.edit(room.id, seq: msg, text: "hello!", clientMsgID: "edit-1")
            let e2 = try await alice.edit(room.id, seq: msg, text: "hello!", clientMsgID: "edit-1")
            #expect(e2.duplicate && e2.event.seq == e1.event.seq)
            await expectError(.forbidden) { try await alice.edit(room.id, seq: bobMsg, text: "not mine") }
            await expectError(.notFound) { try await alice.edit(other.id, seq: msg, text: "wrong conversation") }
            await expectError(.tooLarge) { try await alice.edit(room.id, seq: msg, text: String(repeating: "x", count: 8193)) }

            let r1 = try await bob.react(room.id, seq: msg, emoji: "🎉")
            let r2 = try await bob.react(room.id, seq: msg, emoji: "🎉")
            #expect(r2.duplicate && r2.event.seq == r1.event.seq)
            _ = try await alice.react(room.id, seq: msg, emoji: "🎉")
            await expectError(.invalidField) { try await alice.react(room.id, seq: msg, emoji: "two words") }
            // At most 20 distinct reactions per user per message (N and N+1).
            for i in 1..<20 { _ = try await bob.react(room.id, seq: msg, emoji: "e\(i)") }
            await expectError(.tooLarge) { try await bob.react(room.id, seq: msg, emoji: "one-too-many") }
            for i in 1..<20 { _ = try await bob.react(room.id, seq: msg, emoji: "e\(i)", add: false) }
            let history = try await alice.history(room: room.id)
            let reactions = history.events.first { $0.seq == msg }?.reactions ?? []
            #expect(reactions.count == 1 && reactions.first?.count == 2 && reactions.first?.mine == true)
            #expect(history.events.first { $0.seq == msg }?.text == "hello!")
            #expect(history.events.first { $0.seq == msg }?.editedAtMs ?? 0 > 0)

            // An edit recomputes mentions.
            let (_, bobID) = (0, try await bob.me().user.id)
            _ = try await alice.edit(room.id, seq: msg, text: "hello @bob")
            #expect(try await alice.history(room: room.id).events.first { $0.seq == msg }?.mentions == [bobID])
            // Bob edits his message; a later delete removes the edited text too.
            _ = try await bob.edit(room.id, seq: bobMsg, text: "bob's, edited")

            // Members may not delete others' messages; the owner may.
            await expectError(.forbidden) { try await bob.deleteMessage(room.id, seq: msg) }
            let d1 = try await alice.deleteMessage(room.id, seq: bobMsg, clientMsgID: "del-1")
            let d2 = try await alice.deleteMessage(room.id, seq: bobMsg, clientMsgID: "del-1")
            #expect(d2.duplicate && d2.event.seq == d1.event.seq)
            let afterDelete = try await bob.history(room: room.id).events
            let tomb = afterDelete.first { $0.seq == bobMsg }
            #expect(tomb?.deleted == true && tomb?.text == "")
            #expect(afterDelete.filter { $0.kind == .messageEdited && $0.targetSeq == bobMsg }.allSatisfy { $0.text.isEmpty })
            await expectError(.notFound) { try await bob.react(room.id, seq: bobMsg, emoji: "👍") }
            // A deleted message's content is gone from the last-message preview too.
            let state = try await bob.sync().conversations.first { $0.conversation.id == room.id }
            #expect(state?.lastMessage.seq == bobMsg && state?.lastMessage.deleted == true)

            // Replies and mentions.
            let reply = try await bob.send(room: room.id, text: "re: @alice and @nobody", replyTo: msg)
            #expect(reply.event.replyToSeq == msg)
            #expect(reply.event.mentions.count == 1)
            await expectError(.invalidField) { try await bob.send(room: room.id, text: "x", replyTo: 9999) }
            await expectError(.forbidden) { try await bob.send(room: room.id, text: "x", type: .system) }
            let file = try await uploadPNG(bob)
            var attachment = Chatd_V1_Attachment()
            attachment.fileID = file.fileID
            attachment.name = "cat.png"
            attachment.mimeType = "text/html"  // ignored: the stored file's type is used
            attachment.size = 1234
            let image = try await bob.send(room: room.id, text: "", type: .image, attachment: attachment)
            #expect(image.event.messageType == .image && image.event.attachment.name == "cat.png")
            #expect(image.event.attachment.mimeType == "image/png" && image.event.attachment.size == file.size)
            await expectError(.invalidField) { try await bob.send(room: room.id, text: "no file", type: .image) }
        }
    }

    @Test func readPositionsAndCountsAcrossTwoDevices() async throws {
        try await withServer { server in
            let (phone, _) = try await server.user("alice", password: "password1", device: "phone")
            let laptop = try await server.connect()
            _ = try await laptop.login(username: "alice", password: "password1", device: device("laptop"))
            let laptopPushes = PushCollector(laptop)
            let (bob, bobAuth) = try await server.user("bob", password: "password1")
            let bobPushes = PushCollector(bob)
            let room = try await bob.createRoom(name: "reads")
            _ = try await bob.send(room: room.id, text: "before alice joined: never unread for her")
            _ = try await phone.joinRoom(room.id)
            _ = try await bob.send(room: room.id, text: "one")
            let mention = try await bob.send(room: room.id, text: "hey @alice").event.seq
            let last = try await bob.send(room: room.id, text: "three").event.seq
            _ = try await phone.send(room: room.id, text: "my own message does not count")

            var state = try await laptop.sync().conversations.first { $0.conversation.id == room.id }
            #expect(state?.unreadCount == 3 && state?.mentionCount == 1 && state?.readSeq == 2)
            // The conversation list carries the same state, newest activity first.
            let list = try await laptop.conversations()
            #expect(list.conversations.first?.id == room.id)
            #expect(list.states.first?.unreadCount == 3 && list.states.first?.lastMessage.text == "my own message does not count")

            #expect(try await phone.markRead(room.id, seq: mention) == mention)
            state = try await laptop.sync().conversations.first { $0.conversation.id == room.id }
            #expect(state?.unreadCount == 1 && state?.mentionCount == 0 && state?.readSeq == mention)
            // The other device and the other member are told.
            #expect(await laptopPushes.wait { pushes in
                pushes.contains { if case .read(let r) = $0 { r.readSeq == mention } else { false } }
            })
            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .read(let r) = $0 { r.readSeq == mention && r.userID != bobAuth.user.id } else { false } }
            })
            // Never backwards; never beyond the head.
            #expect(try await laptop.markRead(room.id, seq: 1) == mention)
            await expectError(.invalidField) { try await laptop.markRead(room.id, seq: 10_000) }
            _ = try await laptop.markRead(room.id, seq: last)
            state = try await phone.sync().conversations.first { $0.conversation.id == room.id }
            #expect(state?.unreadCount == 0)
            await expectError(.invalidField) { try await phone.sync(accountSeq: 99_999) }
        }
    }

    @Test func directChatsAndBlocking() async throws {
        try await withServer { server in
            let (alice, aliceAuth) = try await server.user("alice", password: "password1")
            let (bob, bobAuth) = try await server.user("bob", password: "password1")
            let bobPushes = PushCollector(bob)
            // First message creates the direct chat; opening it again finds the same one.
            let first = try await alice.send(toUser: bobAuth.user.id, text: "hi bob")
            let direct = try await bob.openDirect(username: "alice")
            #expect(direct.id == first.event.conversationID)
            #expect(direct.kind == .direct && direct.peerUserID == aliceAuth.user.id)
            #expect(try await alice.openDirect(userID: bobAuth.user.id).id == direct.id)
            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .event(let e) = $0 { e.text == "hi bob" } else { false } }
            })
            await expectError(.invalidField) { try await alice.openDirect(userID: aliceAuth.user.id) }
            await expectError(.forbidden) { try await alice.leave(direct.id) }
            await expectError(.forbidden) { try await alice.invite(direct.id, username: "bob") }

            // Bob blocks Alice: no direct messages, no friend requests.
            try await bob.friendOp(.block, username: "alice")
            await expectError(.forbidden) { try await alice.send(room: direct.id, text: "still there?") }
            await expectError(.forbidden) { try await alice.send(toUser: bobAuth.user.id, text: "hello?") }
            await expectError(.forbidden) { try await alice.friendOp(.friendRequest, username: "bob") }
            // Shared rooms still deliver (clients hide blocked senders using their block list).
            let room = try await alice.createRoom(name: "shared")
            _ = try await bob.joinRoom(room.id)
            _ = try await alice.send(room: room.id, text: "in the room")
            let blocked = try await bob.call(.listBlocked, Chatd_V1_Empty(), as: Chatd_V1_ListBlockedResponse.self)
            #expect(blocked.users.map(\.username) == ["alice"])
            try await bob.friendOp(.unblock, username: "alice")
            _ = try await alice.send(room: direct.id, text: "unblocked")
            await expectError(.notFound) { try await bob.friendOp(.unblock, username: "alice") }
        }
    }

    @Test func friendsLifecycle() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice", password: "password1")
            let (bob, _) = try await server.user("bob", password: "password1")
            let (carol, _) = try await server.user("carol", password: "password1")
            let bobPushes = PushCollector(bob)

            try await alice.friendOp(.friendRequest, username: "bob")
            await expectError(.conflict) { try await alice.friendOp(.friendRequest, username: "bob") }
            await expectError(.invalidField) { try await alice.friendOp(.friendRequest, username: "alice") }
            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .accountEvent(let e) = $0 { e.kind == .friendRequestReceived } else { false } }
            })
            #expect(try await bob.friends().incomingRequests.map(\.username) == ["alice"])
            #expect(try await alice.friends().outgoingRequests.map(\.username) == ["bob"])
            try await bob.friendOp(.acceptFriend, username: "alice")
            let aliceFriends = try await alice.friends()
            #expect(aliceFriends.friends.map(\.user.username) == ["bob"])
            #expect(aliceFriends.friends.first?.presence == .online)
            await expectError(.conflict) { try await bob.friendOp(.friendRequest, username: "alice") }

            // Decline and cancel.
            try await carol.friendOp(.friendRequest, username: "alice")
            try await alice.friendOp(.declineFriend, username: "carol")
            await expectError(.notFound) { try await alice.friendOp(.acceptFriend, username: "carol") }
            try await carol.friendOp(.friendRequest, username: "bob")
            try await carol.friendOp(.cancelFriendRequest, username: "bob")
            #expect(try await bob.friends().incomingRequests.isEmpty)
            // Asking someone who already asked you makes you friends.
            try await carol.friendOp(.friendRequest, username: "bob")
            try await bob.friendOp(.friendRequest, username: "carol")
            #expect(Set(try await bob.friends().friends.map(\.user.username)) == ["alice", "carol"])
            // Pages: one list at a time, from the cursor the last page gave.
            let firstPage = try await bob.friends(.friends, limit: 1)
            #expect(firstPage.friends.map(\.user.username) == ["alice"] && firstPage.friendsHasMore && !firstPage.incomingHasMore)
            let secondPage = try await bob.friends(.friends, cursor: firstPage.friendsCursor, limit: 1)
            #expect(secondPage.friends.map(\.user.username) == ["carol"] && !secondPage.friendsHasMore && secondPage.friendsCursor.isEmpty)
            #expect(try await bob.allFriends().friends.count == 2)
            await expectError(.invalidField) { try await bob.friends(.all, cursor: firstPage.friendsCursor) }
            await expectError(.invalidField) { try await bob.friends(.incoming, cursor: firstPage.friendsCursor) }
            await expectError(.invalidField) { try await bob.friends(.UNRECOGNIZED(9)) }
            try await bob.friendOp(.removeFriend, username: "carol")
            #expect(try await carol.friends().friends.isEmpty)
            await expectError(.notFound) { try await bob.friendOp(.removeFriend, username: "carol") }

            // Search: username or display-name prefix, disabled users excluded.
            _ = try await server.user("alicia", password: "password1")
            #expect(Set(try await bob.searchUsers("ali").users.map(\.username)) == ["alice", "alicia"])
            let alicia = try await server.daemon.store.account(usernameKey: "alicia")
            try await server.daemon.accounts.adminSetDisabled(user: alicia?.user.id ?? 0, disabled: true, actor: "test")
            #expect(try await bob.searchUsers("ALI").users.map(\.username) == ["alice"])
            var profile = Chatd_V1_UpdateProfileRequest()
            profile.displayName = "Émile Zola"
            _ = try await carol.call(.updateProfile, profile, as: Chatd_V1_UpdateProfileResponse.self)
            #expect(try await bob.searchUsers("émi").users.map(\.username) == ["carol"])
            await expectError(.invalidField) { try await bob.searchUsers("   ") }
        }
    }

    /// Each change of the away flag is a push to every contact's
    /// connections: 10 at once, then 1 a second (§7.5); setting the flag
    /// to what it is costs nothing and always succeeds.
    @Test func awayFlagChangesAreRateLimited() async throws {
        try await withServer { server in
            let (bob, _) = try await server.user("bob", password: "password1")
            let (alice, aliceAuth) = try await server.user("alice", password: "password1")
            try await alice.friendOp(.friendRequest, username: "bob")
            try await bob.friendOp(.acceptFriend, username: "alice")
            let watch = PushCollector(bob)
            let aliceID = aliceAuth.user.id
            // Changes until the first refusal: 10, plus one per second they
            // took (a loaded machine answers slowly).
            let start = ContinuousClock.now
            var accepted = 0
            var refusal: ChatClientError?
            while refusal == nil && accepted < 40 {
                do {
                    try await alice.setAway(accepted % 2 == 0)
                    accepted += 1
                } catch let error as ChatClientError {
                    refusal = error
                }
            }
            let seconds = Double((ContinuousClock.now - start).components.seconds)
            let changes = accepted
            #expect(refusal?.code == .rateLimited)
            #expect(changes >= 10 && Double(changes) <= 11 + seconds, "\(changes) changes in \(seconds) s")
            try await alice.setAway(changes % 2 == 1)  // no change: never refused
            #expect(await watch.wait {
                $0.filter { if case .presence(let p) = $0 { p.userID == aliceID } else { false } }.count == changes
            })
            try await Task.sleep(for: .milliseconds(1100))
            try await alice.setAway(changes % 2 == 0)
        }
    }

    @Test func presenceWithTwoDevices() async throws {
        try await withServer { server in
            let (bob, _) = try await server.user("bob", password: "password1")
            let (a1, aliceAuth) = try await server.user("alice", password: "password1", device: "one")
            try await a1.friendOp(.friendRequest, username: "bob")
            try await bob.friendOp(.acceptFriend, username: "alice")
            let watch = PushCollector(bob)
            let aliceID = aliceAuth.user.id
            @Sendable func presences(_ pushes: [ChatPush]) -> [Chatd_V1_Presence] {
                pushes.compactMap { if case .presence(let p) = $0, p.userID == aliceID { p.presence } else { nil } }
            }

            let a2 = try await server.connect()
            _ = try await a2.login(username: "alice", password: "password1", device: device("two"))
            try await a2.setAway(true)
            #expect(await watch.wait { presences($0) == [.away] })
            try await a2.setAway(false)
            #expect(await watch.wait { presences($0) == [.away, .online] })
            await a1.close()
            try await Task.sleep(for: .milliseconds(200))
            #expect(await presences(watch.pushes) == [.away, .online], "still online on the other device")
            await a2.close()
            #expect(await watch.wait { presences($0) == [.away, .online, .offline] })
            let friend = try await bob.friends().friends.first
            #expect(friend?.presence == .offline && (friend?.lastSeenAtMs ?? 0) > 0)
            // Coming back: online once, whatever the number of devices.
            let a3 = try await server.connect()
            _ = try await a3.resume(token: aliceAuth.token)
            #expect(await watch.wait { presences($0) == [.away, .online, .offline, .online] })
        }
    }

    @Test func typingIsPushedToOtherMembersAndLimited() async throws {
        try await withServer { server in
            let (alice, aliceAuth) = try await server.user("alice", password: "password1")
            let (bob, _) = try await server.user("bob", password: "password1")
            let (outsider, _) = try await server.user("eve", password: "password1")
            let room = try await alice.createRoom(name: "typing")
            _ = try await bob.joinRoom(room.id)
            let bobPushes = PushCollector(bob)
            let alicePushes = PushCollector(alice)
            try await alice.typing(room.id, true)
            #expect(await bobPushes.wait { pushes in
                pushes.contains {
                    if case .typing(let t) = $0 { t.userID == aliceAuth.user.id && t.typing && t.expiresInMs == 6000 } else { false }
                }
            })
            try await alice.typing(room.id, false)
            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .typing(let t) = $0 { !t.typing } else { false } }
            })
            await expectError(.notFound) { try await outsider.typing(room.id, true) }
            // Burst of 5, then rate limited. A loaded machine may take long
            // enough between requests for a token to come back: allow a few.
            var accepted = 2
            var limited = false
            while !limited && accepted < 12 {
                do {
                    try await alice.typing(room.id, true)
                    accepted += 1
                } catch let error as ChatClientError {
                    #expect(error.code == .rateLimited)
                    limited = true
                }
            }
            #expect(limited && accepted >= 5, "\(accepted) typing notices accepted")
            try await Task.sleep(for: .milliseconds(100))
            #expect(await alicePushes.pushes.allSatisfy { if case .typing = $0 { false } else { true } }, "typer is not told")
        }
    }

    @Test func defaultRoomsAreJoinedByNewUsers() async throws {
        try await withServer({ $0.setting("rooms.default", .strings(["general", "Random"])) }) { server in
            let (c, _) = try await server.user("newbie", password: "password1")
            let mine = try await c.conversations()
            #expect(Set(mine.conversations.map(\.name)) == ["general", "Random"])
            let state = try await c.sync()
            #expect(state.accountEvents.filter { $0.kind == .addedToConversation }.count == 2)
        }
    }
}

@Suite(.timeLimit(.minutes(2)))
struct ConversationSyncEdgeTests {
    /// A member kicked while behind is told of its own removal, though the
    /// history it missed is closed to it now: apart (`closed`), without
    /// moving past the events it missed (§6.4: stop), which a later fill
    /// fetches if History opens again.
    @Test func removalPushIsToldApartWhenHistoryIsClosed() async throws {
        try await withServer { server in
            let (owner, _) = try await server.user("owner", password: "password1")
            let (bob, bobAuth) = try await server.user("bob", password: "password1")
            let group = try await owner.createGroup(name: "g", usernames: ["bob"]).conversation
            let delivered = Delivered()
            let sync = ConversationSync(connection: bob, deliver: delivered.add)
            try await sync.catchUp()
            let seen = await sync.lastSeq[group.id] ?? 0
            await bob.close()
            _ = try await owner.send(room: group.id, text: "while bob is away")
            // Bob is back, listening to pushes only, when he is kicked.
            let bob2 = try await server.connect()
            _ = try await bob2.resume(token: bobAuth.token)
            let closed = Delivered()
            let sync2 = ConversationSync(
                connection: bob2, lastSeq: [group.id: seen], deliver: delivered.add, closed: closed.add)
            let task = follow(bob2, sync2)
            try await owner.moderate(.kick, conversation: group.id, username: "bob")
            let deadline = ContinuousClock.now + .seconds(5)
            while !closed.all.contains(where: { $0.kind == .memberKicked }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(closed.all.contains { $0.kind == .memberKicked && $0.subjectUserID == bobAuth.user.id })
            #expect(!delivered.all.contains { $0.kind == .memberKicked })
            #expect(await sync2.lastSeq[group.id] == seen, "what bob missed is still to be fetched")
            task.cancel()
        }
    }
}

extension ConversationSyncEdgeTests {
    /// An application that stops reading its pushes does not make the
    /// client library buffer without bound: past `maxBufferedPushes` the
    /// connection closes (the client reconnects and catches up).
    @Test func aPushStreamNobodyReadsClosesTheConnectionWhenFull() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice", password: "password1")
            let (_, bobAuth) = try await server.user("bob", password: "password1")
            let room = try await alice.createRoom(name: "busy")
            let bob = try await ChatConnection.connect(
                host: "127.0.0.1", port: server.port, requestTimeout: .seconds(20), maxBufferedPushes: 5)
            try await bob.hello()
            _ = try await bob.resume(token: bobAuth.token)
            _ = try await bob.joinRoom(room.id)
            for i in 0..<20 { _ = try await alice.send(room: room.id, text: "m\(i)") }
            let closed = Task { await bob.closed() }
            let deadline = ContinuousClock.now + .seconds(5)
            while bob.isActive && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!bob.isActive, "the connection closed once 5 pushes waited")
            closed.cancel()
            var count = 0
            for await _ in bob.pushes { count += 1 }
            #expect(count == 5)
        }
    }
}
