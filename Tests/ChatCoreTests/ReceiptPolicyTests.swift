import ChatCore
import Testing

/// Delivery receipts (spec/PROTOCOL.md §6.3) as decisions, without a store
/// or a socket: the entry bounds, forward-only delivered positions implied
/// by reads, what a ConversationState carries, and push coalescing.
struct ReceiptPolicyTests {
    func member(read: Seq, delivered: Seq) -> Membership {
        Membership(role: .member, readSeq: read, mutedUntil: nil, deliveredSeq: delivered)
    }

    func failure(_ body: () throws -> Void) -> ChatFailure? {
        do {
            try body()
            return nil
        } catch {
            return error as? ChatFailure
        }
    }

    @Test func entriesAreOneToOneHundred() throws {
        #expect(failure { try ReceiptPolicy.checkEntries(0) }.map { [$0.kind == .invalidField, $0.field == "entries"] } == [true, true])
        try ReceiptPolicy.checkEntries(1)
        try ReceiptPolicy.checkEntries(100)
        #expect(failure { try ReceiptPolicy.checkEntries(101) }.map { [$0.kind == .tooLarge, $0.field == "entries"] } == [true, true])
    }

    @Test func deliveredMovesForwardOnlyNeverPastTheHead() throws {
        #expect(try ReceiptPolicy.advanceDelivered(to: 5, from: member(read: 2, delivered: 3), head: 9) == 5)
        #expect(try ReceiptPolicy.advanceDelivered(to: 3, from: member(read: 2, delivered: 3), head: 9) == nil)
        #expect(try ReceiptPolicy.advanceDelivered(to: 1, from: member(read: 2, delivered: 3), head: 9) == nil)
        #expect(try ReceiptPolicy.advanceDelivered(to: 9, from: member(read: 0, delivered: 0), head: 9) == 9)
        let beyond = failure { _ = try ReceiptPolicy.advanceDelivered(to: 10, from: member(read: 0, delivered: 0), head: 9) }
        #expect(beyond?.kind == .invalidField && beyond?.field == "seq")
    }

    @Test func aReadPositionImpliesDelivery() throws {
        // Read 7, delivered (as stored) 3: delivered counts as 7.
        let m = member(read: 7, delivered: 3)
        #expect(m.effectiveDeliveredSeq == 7)
        #expect(try ReceiptPolicy.advanceDelivered(to: 6, from: m, head: 9) == nil)
        #expect(try ReceiptPolicy.advanceDelivered(to: 8, from: m, head: 9) == 8)
        #expect(MemberPosition(userID: 1, deliveredSeq: 3, readSeq: 7).deliveredSeq == 7)
    }

    @Test func listsUpToTheConfiguredSizeThenCountsThenNothing() {
        #expect(ReceiptPolicy.detail(memberCount: 2, listMax: 32) == .list)
        #expect(ReceiptPolicy.detail(memberCount: 32, listMax: 32) == .list)
        #expect(ReceiptPolicy.detail(memberCount: 33, listMax: 32) == .counts)
        #expect(ReceiptPolicy.detail(memberCount: 1024, listMax: 32) == .counts)
        #expect(ReceiptPolicy.detail(memberCount: 1025, listMax: 32) == .none)
        #expect(ReceiptPolicy.detail(memberCount: 1, listMax: 0) == .counts)
    }

    @Test func countsAreOfTheOtherMembersReachingTheNewestMessage() {
        let positions = [
            MemberPosition(userID: 1, deliveredSeq: 9, readSeq: 9),  // the viewer: never counted
            MemberPosition(userID: 2, deliveredSeq: 9, readSeq: 4),
            MemberPosition(userID: 3, deliveredSeq: 8, readSeq: 8),
            MemberPosition(userID: 4, deliveredSeq: 12, readSeq: 12),
        ]
        func counts(_ through: Seq?) -> [Int] {
            let c = ReceiptPolicy.counts(positions, viewer: 1, through: through)
            return [c.delivered, c.read]
        }
        #expect(counts(9) == [2, 1])
        #expect(counts(8) == [3, 2])
        #expect(counts(nil) == [0, 0])
    }
}

/// DeliveredPush coalescing: event → action, time from the test.
struct DeliveredPushCoalescerTests {
    let a = DeliveredPushCoalescer.Key(conversation: 1, user: 10)
    let b = DeliveredPushCoalescer.Key(conversation: 1, user: 11)

    @Test func firstMovePushesAtOnceLaterOnesWaitForTheEndOfTheInterval() {
        var c = DeliveredPushCoalescer(intervalMs: 250)
        #expect(c.positionMoved(a, to: 5, now: 1000) == .pushNow(5))
        #expect(c.positionMoved(a, to: 6, now: 1010) == .schedule(at: 1250))
        #expect(c.positionMoved(a, to: 8, now: 1100) == .merged)
        #expect(c.positionMoved(a, to: 7, now: 1200) == .merged)  // out of order: the highest is kept
        // Another member is not held by a's interval.
        #expect(c.positionMoved(b, to: 3, now: 1100) == .pushNow(3))
        // The end of the interval: one push with the latest position, and a new interval.
        #expect(c.intervalEnded(a, at: 1250, now: 1250) == 8)
        #expect(c.positionMoved(a, to: 9, now: 1300) == .schedule(at: 1500))
        #expect(c.intervalEnded(a, at: 1500, now: 1500) == 9)
        // Nothing held: the timer of an interval with nothing pending pushes nothing.
        #expect(c.intervalEnded(a, at: 1750, now: 1750) == nil)
        // Quiet for an interval: the next move goes at once.
        #expect(c.positionMoved(a, to: 10, now: 1750) == .pushNow(10))
    }

    /// A client reporting every 10 ms for a second causes at most one push
    /// per 250 ms, and the last one carries the last position.
    @Test func aChattyReporterCausesAtMostOnePushPerInterval() {
        var c = DeliveredPushCoalescer(intervalMs: 250)
        var pushes: [(Millis, Seq)] = []
        var timer: Millis?
        for step in 0..<100 {
            let now = Millis(step * 10)
            if let at = timer, at <= now {
                timer = nil
                if let seq = c.intervalEnded(a, at: at, now: at) { pushes.append((at, seq)) }
            }
            switch c.positionMoved(a, to: Seq(step + 1), now: now) {
            case .pushNow(let seq): pushes.append((now, seq))
            case .schedule(let at): timer = at
            case .merged: break
            }
        }
        if let at = timer, let seq = c.intervalEnded(a, at: at, now: at) { pushes.append((at, seq)) }
        #expect(pushes.count <= 5)
        #expect(pushes.last?.1 == 100)
        for (earlier, later) in zip(pushes, pushes.dropFirst()) { #expect(later.0 - earlier.0 >= 250) }
    }

    /// On a loaded machine a timer fires late. A move after the end of its
    /// interval goes at once (with what the interval held); the late timer
    /// then must not push the next interval's held move right after it.
    @Test func aLateTimerDoesNotPushAgainRightAfterAMoveThatEndedItsInterval() {
        var c = DeliveredPushCoalescer(intervalMs: 250)
        #expect(c.positionMoved(a, to: 5, now: 1000) == .pushNow(5))
        #expect(c.positionMoved(a, to: 6, now: 1010) == .schedule(at: 1250))
        // The timer for 1250 has not fired yet at 1300: the move ends the
        // interval and carries what it held.
        #expect(c.positionMoved(a, to: 4, now: 1300) == .pushNow(6))
        #expect(c.positionMoved(a, to: 7, now: 1310) == .schedule(at: 1550))
        // The late timer of the old interval: nothing (7 waits for 1550).
        #expect(c.intervalEnded(a, at: 1250, now: 1320) == nil)
        #expect(c.positionMoved(a, to: 8, now: 1400) == .merged)
        #expect(c.intervalEnded(a, at: 1550, now: 1550) == 8)
        #expect(c.intervalEnded(a, at: 1550, now: 1560) == nil)  // once
    }

    @Test func endedIntervalsAreSweptSoMemoryStaysBounded() {
        var c = DeliveredPushCoalescer(intervalMs: 250)
        for user in 0..<5000 {
            _ = c.positionMoved(.init(conversation: 1, user: UserID(user)), to: 1, now: Millis(user) * 1000)
        }
        #expect(c.count <= 2048)
    }
}

/// Notification settings (spec/PROTOCOL.md §6.6): the request's bounds and
/// how an account event stores them.
struct NotificationPolicyTests {
    @Test func levelsAndMuteBounds() throws {
        let now: Millis = 1_700_000_000_000
        #expect(try NotificationPolicy.validate(level: .mentions, mutedUntil: 0, now: now) == NotificationSettings(level: .mentions))
        #expect(
            try NotificationPolicy.validate(level: .nothing, mutedUntil: now + NotificationPolicy.maxMuteMs, now: now)
                == NotificationSettings(level: .nothing, mutedUntil: now + NotificationPolicy.maxMuteMs))
        // A past time is accepted (not muted any more).
        #expect(try NotificationPolicy.validate(level: .all, mutedUntil: 5, now: now).mutedUntil == 5)
        #expect(ConversationPolicyTests.kind { _ = try NotificationPolicy.validate(level: nil, mutedUntil: 0, now: now) } == .invalidField)
        #expect(
            ConversationPolicyTests.kind {
                _ = try NotificationPolicy.validate(level: .all, mutedUntil: now + NotificationPolicy.maxMuteMs + 1, now: now)
            } == .invalidField)
        #expect(ConversationPolicyTests.kind { _ = try NotificationPolicy.validate(level: .all, mutedUntil: -1, now: now) } == .invalidField)
    }

    @Test func accountEventEncodingRoundTrips() {
        for settings in [NotificationSettings(), NotificationSettings(level: .mentions, mutedUntil: 1_700_000_000_000)] {
            #expect(NotificationSettings(encoded: settings.encoded) == settings)
        }
        #expect(NotificationSettings(encoded: "loud") == nil)
        #expect(NotificationSettings(encoded: "all x") == nil)
        #expect(NotificationSettings(encoded: "all 1 2") == nil)
    }
}
