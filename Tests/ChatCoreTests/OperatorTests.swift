import ChatCore
import Testing

struct OperatorRuleTests {
    typealias S = ConversationService

    func kind(
        _ action: S.OperatorAction, kind: ConversationKind = .room, role: MemberRole? = nil, banned: Bool = false,
        disabled: Bool = false
    ) -> ChatFailure.Kind? {
        do {
            try S.checkOperator(action, kind: kind, targetRole: role, targetBanned: banned, targetDisabled: disabled)
            return nil
        } catch {
            return error.kind
        }
    }

    @Test func memberActions() {
        #expect(kind(.add) == nil)
        #expect(kind(.add, role: .member) == .conflict)
        #expect(kind(.add, banned: true) == .forbidden)
        #expect(kind(.add, disabled: true) == .notFound)
        #expect(kind(.remove) == .notFound)
        #expect(kind(.remove, role: .owner) == nil)
        #expect(kind(.ban) == nil)
        #expect(kind(.ban, role: .owner) == nil)
        #expect(kind(.ban, banned: true) == .conflict)
        #expect(kind(.unban) == .notFound)
        #expect(kind(.unban, banned: true) == nil)
        for action in [S.OperatorAction.add, .remove, .ban, .unban, .setRole(.admin)] {
            #expect(kind(action, kind: .direct, role: .member) == .forbidden)
        }
    }

    @Test func roomKinds() throws {
        #expect(try S.operatorRoomKind(kind: "", visibility: "") == (.room, .public))
        #expect(try S.operatorRoomKind(kind: "room", visibility: "private") == (.room, .private))
        #expect(try S.operatorRoomKind(kind: "group", visibility: "") == (.group, .private))
        #expect(try S.operatorRoomKind(kind: "group", visibility: "private") == (.group, .private))
        #expect(throws: ChatFailure.self) { try S.operatorRoomKind(kind: "group", visibility: "public") }
        #expect(throws: ChatFailure.self) { try S.operatorRoomKind(kind: "direct", visibility: "") }
        #expect(throws: ChatFailure.self) { try S.operatorRoomKind(kind: "room", visibility: "secret") }
    }

    @Test func roles() {
        #expect(kind(.setRole(.admin)) == .notFound)
        #expect(kind(.setRole(.admin), role: .member) == nil)
        #expect(kind(.setRole(.admin), role: .admin) == .conflict)
        #expect(kind(.setRole(.owner), role: .admin) == nil)
        #expect(kind(.setRole(.owner), role: .owner) == .conflict)
        // The owner is replaced, never just demoted.
        #expect(kind(.setRole(.member), role: .owner) == .forbidden)
    }
}

struct RateWindowTests {
    @Test func ratesOverWholeSeconds() {
        var w = RateWindow()
        #expect(w.rate(window: 10, nowMs: 50_000) == 0)
        for s in 40..<50 { w.record(20, atMs: Int64(s) * 1000 + 500) }
        w.record(1000, atMs: 50_100)  // the current second is not counted yet
        #expect(w.rate(window: 10, nowMs: 50_200) == 20)
        #expect(w.rate(window: 5, nowMs: 50_200) == 20)
        #expect(w.rate(window: 20, nowMs: 50_200) == 10)
        #expect(w.rate(window: 10, nowMs: 51_000) == 118)  // 9 × 20 + 1000, over 10 s
        // Old seconds fall out, and a slot reused after a lap starts again.
        #expect(w.rate(window: 10, nowMs: 200_000) == 0)
        w.record(5, atMs: 40_000 + Int64(RateWindow.capacity) * 1000)
        #expect(w.rate(window: 1, nowMs: 41_000 + Int64(RateWindow.capacity) * 1000) == 5)
        #expect(w.total == 20 * 10 + 1000 + 5)
    }
}
