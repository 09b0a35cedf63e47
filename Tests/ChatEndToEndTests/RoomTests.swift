import ChatClient
import ChatProtocol
import Foundation
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(2)))
struct RoomTests {
    @Test func twoClientsChatWithPushes() async throws {
        try await withServer { server in
            let (alice, aliceAuth) = try await server.user("alice")
            let (bob, bobAuth) = try await server.user("bob")
            let bobPushes = PushCollector(bob)
            let alicePushes = PushCollector(alice)

            let room = try await alice.createRoom(name: "general", description: "talk")
            #expect(room.myRole == .owner)
            #expect(room.headSeq == 1)  // ROOM_CREATED
            let joined = try await bob.joinRoom(room.id)
            #expect(joined.myRole == .member)
            #expect(joined.memberCount == 2)

            let sent = try await alice.send(room: room.id, text: "hello bob", clientMsgID: "a-1")
            #expect(sent.event.seq == 3)
            #expect(!sent.duplicate)
            let reply = try await bob.send(room: room.id, text: "hi alice", clientMsgID: "b-1")
            #expect(reply.event.seq == 4)

            #expect(await bobPushes.wait { pushes in
                pushes.contains { if case .event(let e) = $0 { e.seq == 4 } else { false } }
            })
            let bobEvents = await bobPushes.events
            let messages = bobEvents.filter { $0.kind == .message }
            #expect(messages.map(\.text) == ["hello bob", "hi alice"])
            #expect(messages.first?.senderID == aliceAuth.user.id)
            // Pushes arrive in seq order.
            #expect(bobEvents.map(\.seq) == bobEvents.map(\.seq).sorted())
            #expect(bobEvents.contains { $0.kind == .memberJoined && $0.subjectUserID == bobAuth.user.id })

            // The sender's connections get the push too (clients dedupe by seq).
            #expect(await alicePushes.wait { pushes in
                pushes.contains { if case .event(let e) = $0 { e.seq == 4 } else { false } }
            })
        }
    }

    @Test func historyPaging() async throws {
        try await withServer { server in
            let (c, _) = try await server.user("pager")
            let room = try await c.createRoom(name: "paging")
            for i in 1...25 { _ = try await c.send(room: room.id, text: "m\(i)", clientMsgID: "p-\(i)") }
            // seq 1 is ROOM_CREATED, messages are seq 2...26.
            let newest = try await c.history(room: room.id, limit: 10)
            #expect(newest.events.map(\.seq) == Array(17...26))
            #expect(newest.hasMore_p)
            #expect(newest.headSeq == 26)
            let older = try await c.history(room: room.id, before: 17, limit: 10)
            #expect(older.events.map(\.seq) == Array(7...16))
            #expect(older.hasMore_p)
            let oldest = try await c.history(room: room.id, before: 7, limit: 10)
            #expect(oldest.events.map(\.seq) == Array(1...6))
            #expect(!oldest.hasMore_p)
            let after = try await c.history(room: room.id, after: 20, limit: 3)
            #expect(after.events.map(\.seq) == [21, 22, 23])
            #expect(after.hasMore_p)
            let tail = try await c.history(room: room.id, after: 23, limit: 10)
            #expect(tail.events.map(\.text) == ["m23", "m24", "m25"])
            #expect(!tail.hasMore_p)
            // The limit is capped at max_history_limit.
            let capped = try await c.history(room: room.id, after: 0, limit: 100_000)
            #expect(capped.events.count == 26)
            await expectError(.invalidField) { try await c.history(room: room.id, after: 1, before: 5) }
        }
    }

    @Test func retriedSendIsIdempotent() async throws {
        try await withServer { server in
            let (c, _) = try await server.user("retry")
            let room = try await c.createRoom(name: "retries")
            let first = try await c.send(room: room.id, text: "once", clientMsgID: "same-id")
            let again = try await c.send(room: room.id, text: "once", clientMsgID: "same-id")
            #expect(again.duplicate)
            #expect(again.event.seq == first.event.seq)
            #expect(again.event.createdAtMs == first.event.createdAtMs)
            let h = try await c.history(room: room.id)
            #expect(h.events.filter { $0.kind == .message }.count == 1)
            // The same id in another room is a conflict, not a silent duplicate.
            let other = try await c.createRoom(name: "elsewhere")
            await expectError(.conflict) { try await c.send(room: other.id, text: "x", clientMsgID: "same-id") }
        }
    }

    @Test func membershipRules() async throws {
        try await withServer { server in
            let (owner, _) = try await server.user("owner")
            let (member, memberAuth) = try await server.user("member")
            let (outsider, _) = try await server.user("outsider")

            let secret = try await owner.createRoom(name: "secret", visibility: .private)
            // A private room does not exist for non-members.
            var get = Chatd_V1_GetConversationRequest()
            get.conversationID = secret.id
            await expectError(.notFound) { try await outsider.call(.getConversation, get, as: Chatd_V1_ConversationResponse.self) }
            await expectError(.notFound) { try await outsider.joinRoom(secret.id) }
            await expectError(.notFound) { try await outsider.send(room: secret.id, text: "hi") }
            let publicList = try await outsider.call(.listPublicRooms, Chatd_V1_ListPublicRoomsRequest(), as: Chatd_V1_ListConversationsResponse.self)
            #expect(!publicList.conversations.contains { $0.id == secret.id })

            // Owner invites by username; the invitee sees it.
            var invite = Chatd_V1_InviteRequest()
            invite.conversationID = secret.id
            invite.username = "member"
            let invited = try await owner.call(.invite, invite, as: Chatd_V1_ConversationResponse.self)
            #expect(invited.conversation.memberCount == 2)
            await expectError(.conflict) { try await owner.call(.invite, invite, as: Chatd_V1_ConversationResponse.self) }
            let mine = try await member.call(.listConversations, Chatd_V1_ListConversationsRequest(), as: Chatd_V1_ListConversationsResponse.self)
            #expect(mine.conversations.map(\.id) == [secret.id])
            // A plain member may not invite.
            invite.username = "outsider"
            await expectError(.forbidden) { try await member.call(.invite, invite, as: Chatd_V1_ConversationResponse.self) }
            invite.username = "ghost"
            await expectError(.notFound) { try await owner.call(.invite, invite, as: Chatd_V1_ConversationResponse.self) }

            // Public room: non-members are not_member for member operations.
            let lobby = try await owner.createRoom(name: "lobby")
            await expectError(.notMember) { try await outsider.send(room: lobby.id, text: "hi") }
            await expectError(.notMember) { try await outsider.history(room: lobby.id) }
            var members = Chatd_V1_ListMembersRequest()
            members.conversationID = lobby.id
            await expectError(.notMember) { try await outsider.call(.listMembers, members, as: Chatd_V1_ListMembersResponse.self) }
            await expectError(.conflict) { try await outsider.createRoom(name: "LOBBY") }

            // Leaving: the owner hands over to the longest-standing member.
            var leave = Chatd_V1_LeaveRequest()
            leave.conversationID = secret.id
            _ = try await owner.call(.leave, leave, as: Chatd_V1_Empty.self)
            members.conversationID = secret.id
            let list = try await member.call(.listMembers, members, as: Chatd_V1_ListMembersResponse.self)
            #expect(list.members.count == 1)
            #expect(list.members.first?.user.id == memberAuth.user.id)
            #expect(list.members.first?.role == .owner)
            await expectError(.notFound) { try await owner.call(.leave, leave, as: Chatd_V1_Empty.self) }
            let events = try await member.history(room: secret.id).events.map(\.kind)
            #expect(events == [.roomCreated, .memberAdded, .memberLeft, .roleChanged])
        }
    }

    @Test func pipelinedRequestsAreMatchedById() async throws {
        try await withServer { server in
            _ = try await server.user("pipeliner", password: "password1")
            // The last of 200 queued sends is answered after the other 199:
            // over 20 s for a debug chatd on PostgreSQL in a loaded full run.
            let c = try await ChatConnection.connect(host: "127.0.0.1", port: server.port, requestTimeout: .seconds(180))
            try await c.hello()
            _ = try await c.login(username: "pipeliner", password: "password1")
            let room = try await c.createRoom(name: "pipe")
            let seqs = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for i in 0..<200 {
                    group.addTask { try await c.send(room: room.id, text: "n\(i)", clientMsgID: "pipe-\(i)").event.seq }
                }
                var out: [UInt64] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(Set(seqs).count == 200)
            #expect(seqs.sorted() == Array(2...201))
        }
    }

    @Test func creatingRoomsAndGroupsIsThrottledPerUser() async throws {
        try await withServer({ $0.setting("limits.conversations_created_per_user", .int(3)) }) { server in
            let (c, _) = try await server.user("maker")
            _ = try await c.createRoom(name: "one")
            _ = try await c.createGroup(name: "two", usernames: [])
            _ = try await c.createRoom(name: "three")
            do {
                _ = try await c.createGroup(name: "four", usernames: [])
                Issue.record("a fourth creation within the window was accepted")
            } catch let error as ChatClientError {
                #expect(error.code == .rateLimited)
                if case .server(_, _, let retry, _) = error { #expect(retry > 0) }
            }
            // Another user has their own allowance.
            let (other, _) = try await server.user("other")
            _ = try await other.createRoom(name: "theirs")
        }
    }

    /// A History page of large messages is cut to fit the frame limit, with
    /// has_more, and paging on from its edge loses nothing, both ways.
    @Test func historyPagesFitInOneFrame() async throws {
        try await withServer({
            $0.setting("server.max_frame_bytes", .int(32_768)).setting("limits.max_message_bytes", .int(8192))
        }) { server in
            let (c, _) = try await server.user("writer")
            let room = try await c.createRoom(name: "big").id
            var sent: [String] = []
            for i in 0..<20 {
                let text = String(repeating: Character(String(i % 10)), count: 8000)
                sent.append(try await c.send(room: room, text: text).event.clientMsgID)
            }
            // Backwards from the newest.
            var seen: [String] = []
            var page = try await c.history(room: room, limit: 200)
            #expect(page.events.count < 21 && page.hasMore_p)
            #expect((try page.serializedBytes() as [UInt8]).count + Frame.headerLength <= 32_768)
            seen = page.events.map(\.clientMsgID) + seen
            while page.hasMore_p, let first = page.events.first?.seq {
                page = try await c.history(room: room, before: first, limit: 200)
                seen = page.events.map(\.clientMsgID) + seen
            }
            #expect(seen.filter { !$0.isEmpty } == sent)
            // Forwards from the start.
            var forward: [String] = []
            var after: UInt64 = 0
            repeat {
                page = try await c.history(room: room, after: after, limit: 200)
                forward += page.events.map(\.clientMsgID)
                after = page.events.last?.seq ?? after
            } while page.hasMore_p
            #expect(forward.filter { !$0.isEmpty } == sent)
        }
    }
}
