import ChatClient
import ChatProtocol
import Foundation
import Testing

/// Delivery receipts against a real chatd (spec/PROTOCOL.md §6.3): two
/// devices of one user and three members; delivered positions move forward
/// only and never below the read position; the other members hear of a
/// move through DeliveredPush, coalesced; Sync and ListConversations carry
/// every member's positions.
struct ReceiptTests {
    /// DeliveredPushes about `user` in `conversation`, in arrival order.
    static func delivered(_ pushes: [ChatPush], user: UInt64, in conversation: UInt64) -> [UInt64] {
        pushes.compactMap {
            if case .delivered(let d) = $0, d.userID == user, d.conversationID == conversation { d.deliveredSeq } else { nil }
        }
    }

    @Test func deliveredPositionsAcrossTwoDevicesAndThreeMembers() async throws {
        try await withServer { server in
            let (phone, aliceAuth) = try await server.user("alice", password: "password1", device: "phone")
            let laptop = try await server.connect()
            _ = try await laptop.login(username: "alice", password: "password1", device: device("laptop"))
            let (bob, bobAuth) = try await server.user("bob", password: "password1")
            let (carol, carolAuth) = try await server.user("carol", password: "password1")
            let laptopPushes = PushCollector(laptop)
            let phonePushes = PushCollector(phone)
            let bobPushes = PushCollector(bob)
            let carolPushes = PushCollector(carol)
            let alice = aliceAuth.user.id
            let group = try await bob.createGroup(name: "receipts", usernames: ["alice", "carol"]).conversation
            var seqs: [UInt64] = []
            for i in 1...5 { seqs.append(try await bob.send(room: group.id, text: "m\(i)").event.seq) }
            let (m1, m3, m5) = (seqs[0], seqs[2], seqs[4])

            // The phone stores the first three and says so; bob and carol hear of it.
            var results = try await phone.markDelivered([(group.id, m3)])
            #expect(results.count == 1 && results[0].errorCode == 0 && results[0].deliveredSeq == m3)
            #expect(await bobPushes.wait { Self.delivered($0, user: alice, in: group.id).contains(m3) })
            #expect(await carolPushes.wait { Self.delivered($0, user: alice, in: group.id).contains(m3) })

            // The laptop, behind, reports less: the position stays (forward only).
            results = try await laptop.markDelivered([(group.id, m1)])
            #expect(results[0].deliveredSeq == m3)
            // The laptop, ahead, reports m5: the user's position is the highest of the devices.
            results = try await laptop.markDelivered([(group.id, m5)])
            #expect(results[0].deliveredSeq == m5)
            #expect(await bobPushes.wait { Self.delivered($0, user: alice, in: group.id).last == m5 })
            #expect(try await phone.markDelivered([(group.id, m3)])[0].deliveredSeq == m5)

            // A read position implies delivery: carol reads m5 without reporting delivery.
            _ = try await carol.markRead(group.id, seq: m5)
            // Alice reads m3: her delivered position stays at m5.
            _ = try await phone.markRead(group.id, seq: m3)

            // Bob (the sender) sees every member's positions in Sync and ListConversations.
            let state = try #require(try await bob.sync().conversations.first { $0.conversation.id == group.id })
            let positions = Dictionary(uniqueKeysWithValues: state.memberPositions.map { ($0.userID, $0) })
            #expect(state.memberPositions.map(\.userID) == [alice, bobAuth.user.id, carolAuth.user.id].sorted())
            #expect(positions[alice]?.deliveredSeq == m5 && positions[alice]?.readSeq == m3)
            #expect(positions[carolAuth.user.id]?.deliveredSeq == m5 && positions[carolAuth.user.id]?.readSeq == m5)
            #expect(state.deliveredCount == 2 && state.readCount == 1)  // of the last message, m5
            let listed = try await bob.conversations().states.first { $0.conversation.id == group.id }
            #expect(listed?.memberPositions == state.memberPositions)
            var members = Chatd_V1_ListMembersRequest()
            members.conversationID = group.id
            let list = try await bob.call(.listMembers, members, as: Chatd_V1_ListMembersResponse.self)
            #expect(list.members.first { $0.user.id == alice }?.deliveredSeq == m5)

            // Nobody hears their own delivered position: neither of alice's devices got a DeliveredPush of alice.
            #expect(Self.delivered(await laptopPushes.pushes, user: alice, in: group.id).isEmpty)
            #expect(Self.delivered(await phonePushes.pushes, user: alice, in: group.id).isEmpty)
            // The pushes bob saw only ever rise (one node, coalesced in order).
            let seen = Self.delivered(await bobPushes.pushes, user: alice, in: group.id)
            #expect(seen == seen.sorted())
        }
    }

    /// A client that reports every message at once (what it should not do)
    /// still causes at most one DeliveredPush per 250 ms to the others, and
    /// the last one carries the last position.
    @Test func deliveredPushesAreCoalesced() async throws {
        try await withServer { server in
            let (alice, aliceAuth) = try await server.user("alice", password: "password1")
            let (bob, _) = try await server.user("bob", password: "password1")
            let bobPushes = PushCollector(bob)
            let direct = try await bob.openDirect(userID: aliceAuth.user.id)
            var sent: UInt64 = 0
            for i in 1...10 { sent = try await bob.send(room: direct.id, text: "n\(i)").event.seq }
            let last = sent
            let start = ContinuousClock.now
            // One MarkDelivered per message, as fast as responses come back
            // (10: the burst a connection may send at once).
            for seq in (last - 9)...last { _ = try await alice.markDelivered([(direct.id, seq)]) }
            let elapsed = ContinuousClock.now - start
            #expect(await bobPushes.wait { Self.delivered($0, user: aliceAuth.user.id, in: direct.id).last == last })
            let pushes = Self.delivered(await bobPushes.pushes, user: aliceAuth.user.id, in: direct.id)
            let intervals = Int(elapsed / .milliseconds(250)) + 2
            #expect(pushes.count <= intervals, "\(pushes.count) pushes in \(elapsed)")
            // Coalescing shows when the 10 reports came faster than one per interval.
            if elapsed < .milliseconds(250 * 7) { #expect(pushes.count < 10, "\(pushes.count) pushes in \(elapsed)") }
            #expect(pushes == pushes.sorted())
        }
    }

    /// A connection may send 10 MarkDelivered at once, then 5 a second;
    /// past that it gets rate_limited with the time to wait, and then it
    /// is served again. Another connection has its own budget.
    @Test func reportsPerConnectionAreRateLimited() async throws {
        try await withServer { server in
            let (alice, aliceAuth) = try await server.user("alice", password: "password1")
            let (bob, _) = try await server.user("bob", password: "password1")
            let direct = try await bob.openDirect(userID: aliceAuth.user.id)
            let m = try await bob.send(room: direct.id, text: "hi").event.seq
            // 25 at once (pipelined: one after another, a loaded machine can
            // take longer per answer than the budget takes to refill).
            let errors = await withTaskGroup(of: ChatClientError?.self) { group in
                for _ in 1...25 {
                    group.addTask {
                        do {
                            _ = try await alice.markDelivered([(direct.id, m)])
                            return nil
                        } catch {
                            return error as? ChatClientError
                        }
                    }
                }
                var out: [ChatClientError] = []
                for await error in group { if let error { out.append(error) } }
                return out
            }
            #expect(errors.count >= 10, "\(errors.count) of 25 refused")
            let limited = errors.first
            guard case .server(let code, _, let retry, _) = limited else {
                Issue.record("25 MarkDelivered at once were all served")
                return
            }
            #expect(code == UInt32(ErrorCode.rateLimited.rawValue) && retry > 0 && retry <= 1000)
            #expect(try await bob.markDelivered([(direct.id, m)]).first?.deliveredSeq == m)
            try await Task.sleep(for: .milliseconds(Int(retry) + 50))
            #expect(try await alice.markDelivered([(direct.id, m)]).first?.deliveredSeq == m)
        }
    }

    @Test func entriesAnswerOneByOneAndTheRequestIsBounded() async throws {
        try await withServer { server in
            let (alice, aliceAuth) = try await server.user("alice", password: "password1")
            let (bob, _) = try await server.user("bob", password: "password1")
            let hello = try await server.connect(hello: false).hello()
            #expect(hello.limits.receiptsMemberListMax == 32)
            let direct = try await bob.openDirect(userID: aliceAuth.user.id)
            let m = try await bob.send(room: direct.id, text: "hi").event.seq
            let open = try await bob.createRoom(name: "open-room")
            let closed = try await bob.createRoom(name: "closed-room", visibility: .private)
            let results = try await alice.markDelivered([
                (direct.id, m + 1), (open.id, 1), (closed.id, 1), (direct.id, m),
            ])
            #expect(results.map(\.errorCode) == [ErrorCode.invalidField, .notMember, .notFound].map { UInt32($0.rawValue) } + [0])
            #expect(results.map(\.conversationID) == [direct.id, open.id, closed.id, direct.id])
            #expect(results.last?.deliveredSeq == m)
            await expectError(.invalidField) { try await alice.markDelivered([]) }
            await expectError(.tooLarge) { try await alice.markDelivered(Array(repeating: (direct.id, m), count: 101)) }
            #expect(try await alice.markDelivered(Array(repeating: (direct.id, m), count: 100)).count == 100)
        }
    }

    /// The client library's batching: one request per interval, the highest seq per conversation.
    @Test func deliveryBatchCoalescesAcknowledgements() {
        var batch = DeliveryBatch()
        #expect(batch.take(now: 0) == nil)
        batch.stored(7, through: 3)
        batch.stored(7, through: 5)
        batch.stored(9, through: 1)
        let first = batch.take(now: 1000)
        #expect(first?.map(\.conversation) == [7, 9] && first?.map(\.seq) == [5, 1])
        batch.stored(7, through: 6)
        #expect(batch.take(now: 1100) == nil)  // within the interval
        #expect(batch.nextAt(now: 1100) == 1250)
        batch.stored(7, through: 4)  // lower than reported: nothing new
        let second = batch.take(now: 1250)
        #expect(second?.map(\.conversation) == [7] && second?.map(\.seq) == [6])
        batch.stored(7, through: 6)
        #expect(batch.isEmpty)
    }

    /// A MarkDelivered refused as a whole (rate_limited, a lost connection)
    /// changed nothing: its entries go out again. Before `failed`, they were
    /// counted as reported, and those positions were never sent.
    @Test func aRefusedDeliveryReportIsSentAgain() {
        var batch = DeliveryBatch()
        batch.stored(7, through: 5)
        batch.stored(9, through: 2)
        let refused = batch.take(now: 0) ?? []
        batch.stored(9, through: 3)  // a newer position meanwhile wins
        batch.failed(refused)
        let again = batch.take(now: 250)
        #expect(again?.map(\.conversation) == [7, 9] && again?.map(\.seq) == [5, 3])
        batch.stored(7, through: 5)
        #expect(batch.isEmpty, "once sent, the same position is not sent again")
        // A report that fails after a later one went out is not sent again.
        batch.stored(7, through: 6)
        let older = batch.take(now: 500) ?? []
        batch.stored(7, through: 8)
        _ = batch.take(now: 750)
        batch.failed(older)
        #expect(batch.isEmpty)
    }
}

/// Notification settings against a real chatd (spec/PROTOCOL.md §6.6): set
/// on one device, the other learns them from an account event; Sync and
/// ListConversations report them.
struct NotificationSettingsTests {
    @Test func settingsReachTheOtherDeviceAndAreReported() async throws {
        try await withServer { server in
            let (phone, _) = try await server.user("alice", password: "password1", device: "phone")
            let laptop = try await server.connect()
            _ = try await laptop.login(username: "alice", password: "password1", device: device("laptop"))
            let laptopPushes = PushCollector(laptop)
            let (bob, _) = try await server.user("bob", password: "password1")
            let group = try await bob.createGroup(name: "noisy", usernames: ["alice"]).conversation
            let until = Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000

            let set = try await phone.setNotifications(group.id, level: .notifyMentions, mutedUntilMs: until)
            #expect(set.conversationID == group.id && set.level == .notifyMentions && set.mutedUntilMs == until)
            #expect(await laptopPushes.wait { pushes in
                pushes.contains {
                    if case .accountEvent(let a) = $0 {
                        a.kind == .notificationsChanged && a.conversationID == group.id && a.notifyLevel == .notifyMentions
                            && a.notificationsMutedUntilMs == until && a.reason.isEmpty
                    } else { false }
                }
            })
            let state = try await laptop.sync().conversations.first { $0.conversation.id == group.id }
            #expect(state?.notifyLevel == .notifyMentions && state?.notificationsMutedUntilMs == until)
            let listed = try await laptop.conversations().states.first { $0.conversation.id == group.id }
            #expect(listed?.notifyLevel == .notifyMentions)
            // Bob's are his own: the default.
            #expect(try await bob.conversations().states.first { $0.conversation.id == group.id }?.notifyLevel == .notifyAll)

            await expectError(.invalidField) { try await phone.setNotifications(group.id, level: .unspecified) }
            await expectError(.invalidField) {
                try await phone.setNotifications(group.id, level: .notifyNone, mutedUntilMs: until + 400 * 86_400_000)
            }
            await expectError(.notFound) { try await phone.setNotifications(999_999, level: .notifyNone) }
            // Membership is checked first (§6.6), then the fields.
            await expectError(.notFound) { try await phone.setNotifications(999_999, level: .unspecified) }
        }
    }
}
