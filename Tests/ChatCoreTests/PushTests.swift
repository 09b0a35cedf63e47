import ChatCore
import Foundation
import Synchronization
import Testing

/// Push notifications (spec/PROTOCOL.md §4.8) as decisions: what a device
/// may register, how an answer is read, what the bodies say, and the
/// queue's coalescing, retries and bound.
struct PushTests {
    let device = Device(
        rowID: 7, userID: 3, deviceID: "phone", name: "", platform: "", publicKey: nil, createdAt: 0, lastSeenAt: 0, lastAddress: "",
        revokedAt: nil, tokenExpiresAt: nil)

    func rules(gateway: String = "", http: Bool = false, local: Bool = false) -> PushRules {
        var r = PushRules()
        (r.gatewayURL, r.allowHTTP, r.allowPrivateAddresses) = (gateway, http, local)
        return r
    }

    func refusal(_ kind: PushKind?, endpoint: String = "", pushkey: String = "", appID: String = "", platform: String = "", rules: PushRules)
        -> String?
    {
        do {
            _ = try PushPolicy.target(
                kind: kind, endpoint: endpoint, pushkey: pushkey, appID: appID, platform: platform, rules: rules, device: device.rowID, user: device.userID, deviceID: device.deviceID,
                now: 5)
            return nil
        } catch {
            return error.field
        }
    }

    @Test func unifiedPushEndpointsAreHTTPSPublicURLs() throws {
        let target = try PushPolicy.target(
            kind: .unifiedPush, endpoint: "https://ntfy.example.org/upAbC?x=1", pushkey: "", appID: "", platform: "", rules: rules(),
            device: device.rowID, user: device.userID, deviceID: device.deviceID, now: 5)
        #expect(target == PushTarget(device: 7, userID: 3, deviceID: "phone", kind: .unifiedPush, endpoint: "https://ntfy.example.org/upAbC?x=1", createdAt: 5))
        #expect(target.redacted == "unified_push https://ntfy.example.org/…")
        for bad in [
            "", "ntfy.example.org/up", "http://ntfy.example.org/up", "ftp://ntfy.example.org/up", "https://user:pw@ntfy.example.org/",
            "https://127.0.0.1/up", "https://10.1.2.3/", "https://192.168.0.9/", "https://172.20.0.1/", "https://169.254.169.254/latest",
            "https://localhost:8080/", "https://a.localhost/", "https://localhost./", "https://127.0.0.1./", "https://[::1]/", "https://[fe80::1]/", "https://[fd00::5]/",
            "https://[::ffff:127.0.0.1]/", "https://0.0.0.0/", "https://100.64.0.1/", "https://ex ample.org/",
            // The forms the C library reads as 127.0.0.1, 10.0.0.1 and 192.168.1.1 when it connects.
            "https://0177.0.0.1/", "https://0x7f.0.0.1/", "https://127.1/", "https://2130706433/", "https://012.0.0.1/",
            "https://192.0250.1.1/", "https://0x7f000001/",
            // IPv6 addresses carrying a private IPv4 address: compatible, NAT64, 6to4.
            "https://[::127.0.0.1]/", "https://[64:ff9b::a00:1]/", "https://[2002:c0a8:101::1]/",
            "https://example.org/" + String(repeating: "a", count: 1024),
        ] {
            #expect(refusal(.unifiedPush, endpoint: bad, rules: rules()) == "endpoint", "\(bad)")
        }
        #expect(refusal(.unifiedPush, endpoint: "http://127.0.0.1:9/up", rules: rules(http: true, local: true)) == nil)
        #expect(refusal(.unifiedPush, endpoint: "http://127.0.0.1:9/up", rules: rules(http: true)) == "endpoint")
        #expect(refusal(.unifiedPush, endpoint: "https://[2001:db8::1]/up", rules: rules()) == nil)
        #expect(refusal(.unifiedPush, endpoint: "https://8.8.8.8/up", rules: rules()) == nil)
        #expect(refusal(.unifiedPush, endpoint: "https://[64:ff9b::808:808]/up", rules: rules()) == nil)
        #expect(refusal(.unifiedPush, endpoint: "https://[2002:808:808::1]/up", rules: rules()) == nil)
        #expect(refusal(.unifiedPush, endpoint: "https://x.org/", pushkey: "k", rules: rules()) == "pushkey")
        #expect(refusal(nil, rules: rules()) == "kind")
        var off = rules()
        off.enabled = false
        #expect(refusal(.unifiedPush, endpoint: "https://x.org/", rules: off) == "kind")
    }

    /// At send time, unless private addresses are allowed: a host that is,
    /// or whose name resolves to, a private address gets nothing; a failed
    /// lookup is retried; literals are not looked up.
    @Test func endpointsThatResolveInsideAreRefusedAtSendTime() async {
        let table: [String: [String]] = [
            "ntfy.example.org": ["93.184.216.34", "2606:2800:220:1::1"], "evil.example.org": ["93.184.216.34", "10.0.0.7"],
            "six.example.org": ["fd00::1"], "empty.example.org": [],
        ]
        let looked = Mutex<[String]>([])
        func refusal(_ endpoint: String, allow: Bool = false, http: Bool = false) async -> PushOutcome? {
            await PushPolicy.refusal(endpoint: endpoint, rules: rules(http: http, local: allow)) { host in
                looked.withLock { $0.append(host) }
                return table[host]
            }
        }
        #expect(await refusal("https://ntfy.example.org/up") == nil)
        #expect(await refusal("https://evil.example.org/up") == .failed)
        #expect(await refusal("https://six.example.org/up") == .failed)
        #expect(await refusal("https://unknown.example.org/up") == .retry)
        #expect(await refusal("https://empty.example.org/up") == .retry)
        #expect(await refusal("https://8.8.8.8/up") == nil)
        // Registered while allowed, then the rule was tightened.
        #expect(await refusal("http://127.0.0.1:9/up") == .failed)
        #expect(await refusal("https://[fe80::1]/up") == .failed)
        #expect(await refusal("https://localhost/up") == .failed)
        #expect(await refusal("https://0177.0.0.1/up") == .failed)
        // An http endpoint registered while push.allow_http was on.
        #expect(await refusal("http://8.8.8.8/up") == .failed)
        #expect(await refusal("http://8.8.8.8/up", http: true) == nil)
        #expect(looked.withLock { $0 } == ["ntfy.example.org", "evil.example.org", "six.example.org", "unknown.example.org", "empty.example.org"])
        #expect(await refusal("https://evil.example.org/up", allow: true) == nil)
        #expect(await refusal("http://127.0.0.1:9/up", allow: true, http: true) == nil)
    }

    @Test func gatewayTargetsNeedAGatewayAndWellFormedFields() throws {
        let gw = rules(gateway: "http://127.0.0.1:5000/_matrix/push/v1/notify")
        #expect(refusal(.gateway, pushkey: "abc", appID: "org.example.chat", platform: "apns", rules: rules()) == "kind")
        let target = try PushPolicy.target(
            kind: .gateway, endpoint: "", pushkey: "abc", appID: "org.example.chat", platform: "fcm", rules: gw, device: device.rowID, user: device.userID,
            deviceID: device.deviceID, now: 5)
        #expect(target.kind == .gateway && target.pushkey == "abc" && target.platform == "fcm" && target.endpoint.isEmpty)
        #expect(refusal(.gateway, pushkey: "", appID: "a", platform: "apns", rules: gw) == "pushkey")
        #expect(refusal(.gateway, pushkey: "a b", appID: "a", platform: "apns", rules: gw) == "pushkey")
        #expect(refusal(.gateway, pushkey: String(repeating: "k", count: 513), appID: "a", platform: "apns", rules: gw) == "pushkey")
        #expect(refusal(.gateway, pushkey: "k", appID: "", platform: "apns", rules: gw) == "app_id")
        #expect(refusal(.gateway, pushkey: "k", appID: "a/b", platform: "apns", rules: gw) == "app_id")
        #expect(refusal(.gateway, pushkey: "k", appID: "a", platform: "wns", rules: gw) == "platform")
        #expect(refusal(.gateway, endpoint: "https://x.org", pushkey: "k", appID: "a", platform: "apns", rules: gw) == "endpoint")
    }

    @Test func answersAreReadAsTheIssueSays() {
        #expect(PushPolicy.outcome(status: 200) == .delivered)
        #expect(PushPolicy.outcome(status: 201) == .delivered)
        #expect(PushPolicy.outcome(status: 200, rejected: true) == .gone)
        #expect(PushPolicy.outcome(status: 404) == .gone)
        #expect(PushPolicy.outcome(status: 410) == .gone)
        // The gateway's own 404/410 removes nothing: only its rejection does.
        #expect(PushPolicy.outcome(status: 404, gateway: true) == .failed)
        #expect(PushPolicy.outcome(status: 410, gateway: true) == .failed)
        #expect(PushPolicy.outcome(status: 202, rejected: true, gateway: true) == .gone)
        #expect(PushPolicy.outcome(status: 503) == .retry)
        #expect(PushPolicy.outcome(status: 500) == .retry)
        #expect(PushPolicy.outcome(status: 429) == .retry)
        #expect(PushPolicy.outcome(status: nil) == .retry)
        #expect(PushPolicy.outcome(status: 400) == .failed)
        #expect(PushPolicy.outcome(status: 413) == .failed)
    }

    @Test func settingsDecideWhoIsNotified() {
        #expect(PushPolicy.notifies(NotificationSettings(), mentioned: false, now: 10))
        #expect(!PushPolicy.notifies(NotificationSettings(level: .mentions), mentioned: false, now: 10))
        #expect(PushPolicy.notifies(NotificationSettings(level: .mentions), mentioned: true, now: 10))
        #expect(!PushPolicy.notifies(NotificationSettings(level: .nothing), mentioned: true, now: 10))
        #expect(!PushPolicy.notifies(NotificationSettings(level: .all, mutedUntil: 11), mentioned: true, now: 10))
        #expect(PushPolicy.notifies(NotificationSettings(level: .all, mutedUntil: 10), mentioned: false, now: 10))
    }

    func note(_ user: UserID, _ conversation: ConversationID, _ seq: Seq, mentioned: Bool = false) -> PushQueue.Note {
        PushQueue.Note(user: user, conversation: conversation, seq: seq, sender: 99, mentioned: mentioned)
    }

    @Test func bodiesAreContentFreeByDefault() throws {
        let context = PushContext(
            note: PushQueue.Note(user: 3, conversation: 12, seq: 345, sender: 99, mentioned: true, text: "secret"),
            targets: [], isMember: true, settings: NotificationSettings(), unread: 3, mentions: 1, senderUsername: "alice")
        #expect(String(decoding: PushPayload.unified(context, includeContent: false), as: UTF8.self)
            == #"{"conversation_id":12,"mentions":1,"seq":345,"type":"chatd.message","unread":3}"#)
        #expect(String(decoding: PushPayload.unified(context, includeContent: true), as: UTF8.self)
            == #"{"conversation_id":12,"mentions":1,"sender":"alice","seq":345,"text":"secret","type":"chatd.message","unread":3}"#)
        let target = PushTarget(
            device: 7, userID: 3, deviceID: "phone", kind: .gateway, pushkey: "PK", appID: "org.example.chat", platform: "apns",
            createdAt: 1_700_000_000_000)
        let gateway = String(decoding: PushPayload.gateway(context, devices: [target], includeContent: false), as: UTF8.self)
        #expect(gateway == #"{"notification":{"counts":{"unread":3},"devices":[{"app_id":"org.example.chat","data":{"format":"event_id_only","mentions":1,"platform":"apns"},"pushkey":"PK","pushkey_ts":1700000000}],"event_id":"12:345","prio":"high","room_id":"12"}}"#)
        #expect(!gateway.contains("secret") && !gateway.contains("alice"))
        let full = String(decoding: PushPayload.gateway(context, devices: [target], includeContent: true), as: UTF8.self)
        #expect(full.contains(#""content":{"body":"secret","msgtype":"m.text"}"#) && full.contains(#""sender":"alice""#))
        #expect(PushPayload.rejected(Array(#"{"rejected":["PK","x"]}"#.utf8)) == ["PK", "x"])
        #expect(PushPayload.rejected(Array("not json".utf8)).isEmpty)
        let long = String(repeating: "é", count: 2000)
        #expect(PushPayload.cut(long).utf8.count <= PushPolicy.maxTextBytes)
        #expect(PushPayload.cut("short") == "short")
        // Escapes count: 1,000 control characters would be 6,000 bytes of JSON.
        let control = String(repeating: "\u{1}\"", count: 1000)
        let cutControl = PushPayload.cut(control)
        #expect(cutControl.hasSuffix("…") && cutControl.count < 300)
        var bodyContext = context
        bodyContext.note.text = cutControl
        let body = PushPayload.unified(bodyContext, includeContent: true)
        let withoutText = PushPayload.unified(context, includeContent: false)
        #expect(body.count - withoutText.count <= PushPolicy.maxTextBytes + 64)
    }

    @Test func aNewerMessageReplacesTheOlderNoteOfItsConversation() {
        var q = PushQueue(capacity: 10, maxAttempts: 3)
        #expect(q.add(note(1, 10, 1, mentioned: true)) == .queued)
        #expect(q.add(note(1, 10, 2)) == .merged)
        #expect(q.add(note(1, 11, 1)) == .queued)
        #expect(q.notes == 2)
        let first = q.take(max: 10, now: 0)
        // One request per user at a time: conversation 11 waits.
        #expect(first.map(\.note) == [PushQueue.Note(user: 1, conversation: 10, seq: 2, sender: 99, mentioned: true)])
        #expect(q.take(max: 10, now: 0).isEmpty)
        // A message arriving while one is in flight is sent after it, with the latest counts.
        #expect(q.add(note(1, 10, 3)) == .queued)
        #expect(q.finished(first[0], failedDevices: [], now: 0) == .done)
        #expect(q.take(max: 10, now: 0).map(\.note.conversation) == [11])
        #expect(q.notes == 2 && q.inFlight == 1)
    }

    @Test func failuresAreRetriedWithBackoffToTheFailedDevicesOnly() {
        var q = PushQueue(capacity: 10, maxAttempts: 3)
        _ = q.add(note(1, 10, 1))
        let send = q.take(max: 1, now: 0)[0]
        #expect(q.finished(send, failedDevices: [5], now: 100) == .retryAt(1100))
        #expect(q.take(max: 1, now: 1099).isEmpty)
        #expect(q.nextDueAt == 1100)
        let retry = q.take(max: 1, now: 1100)
        #expect(retry.map(\.devices) == [[5]] && retry.map(\.attempt) == [2])
        #expect(q.finished(retry[0], failedDevices: [5], now: 1100) == .retryAt(3100))
        let last = q.take(max: 1, now: 3100)[0]
        #expect(q.finished(last, failedDevices: [5], now: 3100) == .gaveUp)
        #expect(q.take(max: 1, now: 10_000).isEmpty && q.nextDueAt == nil)
        #expect(q.notes == 0 && q.users == 0)
        #expect(PushQueue.backoffMs(attempt: 1) == 1000 && PushQueue.backoffMs(attempt: 4) == 8000 && PushQueue.backoffMs(attempt: 30) == 300_000)
    }

    @Test func aNoteWhoseContextCouldNotBeReadIsRetriedToEveryDevice() {
        var q = PushQueue(capacity: 10, maxAttempts: 2)
        _ = q.add(note(1, 10, 1))
        let send = q.take(max: 1, now: 0)[0]
        #expect(q.failedBeforeSending(send, now: 0) == .retryAt(1000))
        let retry = q.take(max: 1, now: 1000)
        #expect(retry.map(\.devices) == [nil] && retry.map(\.attempt) == [2])
        #expect(q.failedBeforeSending(retry[0], now: 1000) == .gaveUp)
        #expect(q.notes == 0 && q.users == 0)
    }

    @Test func aNewerNoteReplacesAWaitingRetryAndGoesToEveryDevice() {
        var q = PushQueue(capacity: 10, maxAttempts: 5)
        _ = q.add(note(1, 10, 1))
        let send = q.take(max: 1, now: 0)[0]
        _ = q.finished(send, failedDevices: [5], now: 0)
        _ = q.add(note(1, 10, 2, mentioned: false))
        #expect(q.take(max: 1, now: 500).isEmpty)  // still waits for the retry time
        let next = q.take(max: 1, now: 1000)
        #expect(next.map(\.note.seq) == [2] && next.map(\.devices) == [nil] && next.map(\.attempt) == [1])
        #expect(q.notes == 1)
    }

    /// A batch of committed messages becomes one note per conversation and
    /// member, as the queue would merge them one by one.
    @Test func aBatchOfMessagesGivesEachMemberTheLatestFromSomeoneElse() {
        func message(_ conversation: ConversationID, _ seq: Seq, by sender: UserID, mentions: [UserID] = []) -> Event {
            Event(conversationID: conversation, seq: seq, kind: .message, senderID: sender, text: "m\(seq)", createdAt: 1, mentions: mentions)
        }
        let batch = [
            message(1, 10, by: 2, mentions: [3]), message(1, 11, by: 3, mentions: [3]), message(2, 4, by: 5),
            message(1, 12, by: 2), message(2, 5, by: 5, mentions: [5]),
        ]
        var asked: [ConversationID] = []
        let notes = PushQueue.notes(for: batch, includeContent: true) { conversation in
            asked.append(conversation)
            return conversation == 1 ? [2, 3, 4] : [4, 5]
        }
        #expect(asked == [1, 2], "each conversation's recipients are asked once, in order")
        let summary = notes.map { [$0.user, $0.conversation, $0.seq, $0.sender, $0.mentioned ? 1 : 0] }
        #expect(
            summary == [
                // 2 sent the latest (12): 2 hears of 3's 11; 3 of 12, mentioned by 2 in 10 (not by itself in 11).
                [2, 1, 11, 3, 0], [3, 1, 12, 2, 1], [4, 1, 12, 2, 0],
                // Only 5 wrote in conversation 2: 5 hears of nothing, and 5's self-mention is no mention.
                [4, 2, 5, 5, 0],
            ])
        #expect(notes.first { $0.user == 4 && $0.conversation == 1 }?.text == "m12")
        #expect(PushQueue.notes(for: batch, includeContent: false) { _ in [4] }.allSatisfy { $0.text == nil })

        // Merging one note per message gives the same as the batch.
        var one = PushQueue(capacity: 100, maxAttempts: 3)
        var merged = PushQueue(capacity: 100, maxAttempts: 3)
        for e in batch {
            for note in PushQueue.notes(for: [e], includeContent: true, recipients: { $0 == 1 ? [2, 3, 4] : [4, 5] }) { _ = one.add(note) }
        }
        for note in notes { _ = merged.add(note) }
        // (Users are taken in the order they first had a note.)
        let byUser = { (sends: [PushQueue.Send]) in sends.sorted { $0.note.user < $1.note.user } }
        #expect(byUser(one.take(max: 10, now: 0)) == byUser(merged.take(max: 10, now: 0)))
    }

    @Test func aUsersNextNotificationWaitsForTheInterval() {
        var q = PushQueue(capacity: 10, maxAttempts: 3, minIntervalMs: 5000)
        // User 1's interval: 5 s and its spread (up to 1.25 s).
        let i = 5000 + PushQueue.spreadMs(user: 1, minIntervalMs: 5000)
        _ = q.add(note(1, 10, 1))
        // The first after a quiet spell goes at once.
        let first = q.take(max: 10, now: 0)
        #expect(first.map(\.note.seq) == [1])
        _ = q.add(note(1, 10, 2))
        _ = q.add(note(1, 10, 3, mentioned: true))
        _ = q.add(note(1, 11, 1))
        #expect(q.finished(first[0], failedDevices: [], now: 200) == .done)
        #expect(q.take(max: 10, now: i - 1).isEmpty && q.nextDueAt == i)
        // What arrived meanwhile goes at the interval's end, the latest counts of each conversation.
        let second = q.take(max: 10, now: i)
        #expect(second.map(\.note) == [PushQueue.Note(user: 1, conversation: 10, seq: 3, sender: 99, mentioned: true)])
        _ = q.finished(second[0], failedDevices: [], now: i + 100)
        #expect(q.take(max: 10, now: 2 * i - 1).isEmpty && q.nextDueAt == 2 * i)
        // Another user is not held back.
        _ = q.add(note(2, 10, 4))
        #expect(q.take(max: 10, now: 2 * i - 1).map(\.note.user) == [2])
        let third = q.take(max: 10, now: 2 * i)
        #expect(third.map(\.note.conversation) == [11])
        _ = q.finished(third[0], failedDevices: [], now: 2 * i + 50)
        // A note added within the interval of the last send waits for its end ...
        _ = q.add(note(1, 10, 5))
        #expect(q.take(max: 10, now: 3 * i - 1).isEmpty && q.nextDueAt == 3 * i)
        let fourth = q.take(max: 10, now: 3 * i)
        _ = q.finished(fourth[0], failedDevices: [], now: 3 * i + 10)
        // ... one added after it goes at once.
        #expect(q.take(max: 10, now: 5 * i).isEmpty)
        _ = q.add(note(1, 12, 1))
        #expect(q.take(max: 10, now: 5 * i + 1).map(\.note.conversation) == [12])
    }

    /// Each user's interval is longer by its own spread (0 to a quarter
    /// interval), so a room's members, notified together once, drift apart.
    @Test func intervalsAreSpreadPerUser() {
        let spreads = (1...1000).map { PushQueue.spreadMs(user: UserID($0), minIntervalMs: 5000) }
        #expect(spreads.allSatisfy { $0 >= 0 && $0 < 1250 })
        #expect(Set(spreads.map { $0 / 125 }).count == 10, "spreads cover the quarter interval")
        #expect(PushQueue.spreadMs(user: 7, minIntervalMs: 0) == 0)
        var q = PushQueue(capacity: 1000, maxAttempts: 3, minIntervalMs: 5000)
        for user in 1...100 { _ = q.add(note(UserID(user), 10, 1)) }
        for send in q.take(max: 1000, now: 0) { _ = q.finished(send, failedDevices: [], now: 0) }
        for user in 1...100 { _ = q.add(note(UserID(user), 10, 2)) }
        // Due one by one at each user's own time, not all at 5 s.
        #expect(q.take(max: 1000, now: 1).isEmpty)
        var dueTimes: [Millis] = []
        while let due = q.nextDueAt {
            dueTimes += q.take(max: 1000, now: due).map { _ in due }
        }
        #expect(dueTimes.count == 100 && Set(dueTimes).count > 50, "\(Set(dueTimes).count) distinct times")
    }

    /// Users waiting for their interval are set aside until the earliest of
    /// them is due: takes before that do not look at them, and none is lost.
    @Test func waitingUsersAreTakenOnceDueAndInOrder() {
        var q = PushQueue(capacity: 1000, maxAttempts: 3, minIntervalMs: 5000)
        for user in 1...300 { _ = q.add(note(UserID(user), 10, 1)) }
        var sent = q.take(max: 1000, now: Millis(0))
        #expect(sent.count == 300)
        for (i, send) in sent.enumerated() { _ = q.finished(send, failedDevices: [], now: Millis(i)) }
        for user in 1...300 { _ = q.add(note(UserID(user), 10, 2)) }
        let due = (1...300).map { 5000 + PushQueue.spreadMs(user: UserID($0), minIntervalMs: 5000) }
        for now in stride(from: Millis(1), to: due.min() ?? 0, by: 250) {
            #expect(q.take(max: 1000, now: now).isEmpty && q.nextDueAt == due.min())
        }
        // Sent at 0, each is due at 5 s and its spread; up to the free slots per take, each once.
        let end = (due.max() ?? 0)
        sent = q.take(max: 100, now: end)
        sent += q.take(max: 1000, now: end + 1)
        #expect(sent.map(\.note.user).sorted() == (1...300).map { UserID($0) } && sent.allSatisfy { $0.note.seq == 2 })
        #expect(q.take(max: 1000, now: end + 2).isEmpty && q.nextDueAt == nil)
    }

    /// A retry goes only to the devices that missed the last send: it keeps its backoff.
    @Test func aRetryIsNotHeldBackByTheInterval() {
        var q = PushQueue(capacity: 10, maxAttempts: 3, minIntervalMs: 5000)
        _ = q.add(note(1, 10, 1))
        let send = q.take(max: 1, now: 0)[0]
        #expect(q.finished(send, failedDevices: [5], now: 100) == .retryAt(1100))
        #expect(q.take(max: 1, now: 1100).map(\.devices) == [[5]])
    }

    /// The issue's burst: 10,000 offline users at once, a queue of 1,000.
    @Test func theQueueBoundHoldsUnderABurst() {
        var q = PushQueue(capacity: 1000, maxAttempts: 3)
        var queued = 0
        for user in 1...10_000 where q.add(note(UserID(user), 1, 1)) == .queued { queued += 1 }
        #expect(queued == 1000 && q.dropped == 9000 && q.notes == 1000)
        // Retries stay counted: failing every send frees no room.
        var sends = q.take(max: 10_000, now: 0)
        #expect(sends.count == 1000)
        for s in sends { _ = q.finished(s, failedDevices: [1], now: 0) }
        #expect(q.add(note(20_000, 1, 1)) == .dropped && q.notes == 1000)
        sends = q.take(max: 10_000, now: 1000)
        for s in sends { _ = q.finished(s, failedDevices: [], now: 1000) }
        #expect(q.notes == 0 && q.users == 0)
        #expect(q.add(note(20_000, 1, 1)) == .queued)
    }
}
