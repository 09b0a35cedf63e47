import ChatClient
import ChatCore
import ChatWebPush
import ChatProtocol
import Crypto
@testable import ChatDaemon
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// Push notifications for offline devices against a real chatd (spec/
/// PROTOCOL.md §4.8): a UnifiedPush endpoint and a push gateway played by
/// an HTTP server on loopback. A notification goes only to a member with
/// no connected device; it is content-free by default; a burst is
/// coalesced; a 503 is retried; a 410 or a gateway's rejection removes the
/// target; muted and mentions-only conversations are respected.
struct PushNotificationTests {
    /// `minIntervalSeconds` 0: every note is sent as soon as the user has no request under way.
    func start(_ sink: PushSink, includeContent: Bool = false, minIntervalSeconds: Int64 = 0) async throws -> TestServer {
        try await TestServer.start {
            $0.setting("push.allow_http", .bool(true))
                .setting("push.vapid_subject", .string("mailto:ops@example.org"))
                .setting("push.allow_private_addresses", .bool(true))
                .setting("push.gateway_url", .string(sink.url("/_matrix/push/v1/notify")))
                .setting("push.include_content", .bool(includeContent))
                .setting("push.min_interval_seconds", .int(minIntervalSeconds))
        }
    }

    /// alice's phone registers `endpoint`, then disconnects; bob (a direct
    /// partner) sees her offline. Returns bob, the direct chat and alice's user id.
    func offlineAlice(_ server: TestServer, register: (ChatConnection) async throws -> Void)
        async throws -> (bob: ChatConnection, direct: UInt64, alice: UInt64, bobPushes: PushCollector)
    {
        let (phone, auth) = try await server.user("alice", password: "password1", device: "phone")
        let (bob, _) = try await server.user("bob", password: "password1")
        let bobPushes = PushCollector(bob)
        let direct = try await bob.openDirect(username: "alice").id
        try await register(phone)
        let alice = auth.user.id
        await phone.close()
        #expect(
            await bobPushes.wait {
                $0.contains { if case .presence(let p) = $0 { p.userID == alice && p.presence == .offline } else { false } }
            })
        return (bob, direct, alice, bobPushes)
    }

    /// What a note says is read again when it goes out: a retry waiting
    /// while the user comes back online, or reads the message, sends
    /// nothing (it used to go out anyway).
    @Test func aRetryForAUserBackOnlineOrCaughtUpIsNotSent() async throws {
        try await withSink { sink, server in
            let (bob, direct, _, _) = try await offlineAlice(server) { phone in
                _ = try await phone.setPushTarget(unifiedPush: sink.url("/up/alice"))
            }
            // The first try fails (503): the retry waits about a second.
            sink.respond("/up/alice", with: [503, 503])
            _ = try await bob.send(room: direct, text: "one").event
            #expect(await sink.wait(count: 1).count == 1)
            let alice = try await server.connect()
            _ = try await alice.login(username: "alice", password: "password1", device: device("phone"))
            try await Task.sleep(for: .milliseconds(2_000))
            #expect(sink.requests.count == 1, "the retry went out to a user online again")
            // Offline again; the next retry finds the message read meanwhile.
            await alice.close()
            try await Task.sleep(for: .milliseconds(300))
            let third = try await bob.send(room: direct, text: "three").event.seq
            #expect(await sink.wait(count: 2).count == 2)  // 503 again: a retry waits
            let again = try await server.connect()
            _ = try await again.login(username: "alice", password: "password1", device: device("phone"))
            var mark = Chatd_V1_MarkReadRequest()
            mark.conversationID = direct
            mark.seq = third
            _ = try await again.call(.markRead, mark, as: Chatd_V1_MarkReadResponse.self)
            await again.close()
            try await Task.sleep(for: .milliseconds(2_000))
            #expect(sink.requests.count == 2, "the retry went out for a message already read")
        }
    }

    /// Runs `body` with a sink and a chatd sending to it (`start`), both stopped after.
    func withSink(
        includeContent: Bool = false, minIntervalSeconds: Int64 = 0, _ body: (PushSink, TestServer) async throws -> Void
    ) async throws {
        let sink = try await PushSink.start()
        let server = try await start(sink, includeContent: includeContent, minIntervalSeconds: minIntervalSeconds)
        do {
            try await body(sink, server)
        } catch {
            await server.stop()
            await sink.stop()
            throw error
        }
        await server.stop()
        await sink.stop()
    }

    static func json(_ body: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    @Test func unifiedPushReachesOnlyOfflineMembersContentFree() async throws {
        try await withSink { sink, server in
            let (bob, direct, _, _) = try await offlineAlice(server) { phone in
                let content = try await phone.setPushTarget(unifiedPush: sink.url("/up/alice"))
                #expect(content == false)
                let list = try await phone.call(.listDevices, Chatd_V1_ListDevicesRequest(), as: Chatd_V1_ListDevicesResponse.self)
                #expect(list.devices.map(\.push) == [.pushUnified])
                // While connected, alice is not notified.
                let (carol, _) = try await server.user("carol", password: "password1")
                let group = try await carol.createGroup(name: "g", usernames: ["alice"]).conversation
                _ = try await carol.send(room: group.id, text: "while online")
                try await Task.sleep(for: .milliseconds(300))
                #expect(sink.requests.isEmpty)
            }
            let sent = try await bob.send(room: direct, text: "a secret text").event
            let got = await sink.wait(count: 1)
            #expect(got.count == 1 && got.map(\.path) == ["/up/alice"])
            let body = Self.json(got.first?.body ?? [])
            #expect(body["conversation_id"] as? Int == Int(direct) && body["seq"] as? Int == Int(sent.seq))
            #expect(body["unread"] as? Int == 1 && body["mentions"] as? Int == 0 && body["type"] as? String == "chatd.message")
            #expect(body["text"] == nil && body["sender"] == nil)
            let raw = String(decoding: got.first?.body ?? [], as: UTF8.self)
            #expect(!raw.contains("secret"))
            // Signed (VAPID) in clear bodies too.
            #expect(VAPIDSigner.read(got.first?.authorization ?? "")?.claims?["aud"] as? String == sink.url(""))

            // The sender is never notified of its own message; bob is online anyway.
            // A 503 is retried (after about a second) with the same note.
            sink.respond("/up/alice", with: [503])
            let second = try await bob.send(room: direct, text: "two").event
            let retried = await sink.wait(count: 3)
            #expect(retried.count == 3)
            #expect(retried.dropFirst().allSatisfy { Self.json($0.body)["seq"] as? Int == Int(second.seq) })
            if retried.count == 3 { #expect(retried[2].at - retried[1].at >= .milliseconds(900)) }

            // A burst while a request is slow: coalesced, the latest counts win.
            sink.delay(.milliseconds(300))
            // Pipelined, so that they arrive together even when each send is
            // slow (one after another, 20 sends on a loaded debug chatd on
            // PostgreSQL took longer than the sink's delay each, and nothing
            // was left to coalesce).
            let seqs = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for i in 1...20 {
                    group.addTask { try await bob.send(room: direct, text: "burst \(i)", clientMsgID: "burst-\(i)").event.seq }
                }
                var out: [UInt64] = []
                for try await seq in group { out.append(seq) }
                return out
            }
            let last = seqs.max() ?? 0
            _ = await sink.wait(seconds: testWaitSeconds) { Self.json($0.last?.body ?? [])["seq"] as? Int == Int(last) }
            let burst = sink.requests.dropFirst(3)
            #expect(burst.count >= 1 && burst.count < 20, "\(burst.count) notifications for 20 messages")
            #expect(Self.json(burst.last?.body ?? [])["seq"] as? Int == Int(last))
            #expect(Self.json(burst.last?.body ?? [])["unread"] as? Int == 22)
            sink.delay(.zero)

            // 410: the target is removed; nothing more is sent.
            sink.respond("/up/alice", with: [410])
            let before = sink.requests.count
            _ = try await bob.send(room: direct, text: "gone").event
            #expect(await sink.wait(count: before + 1).count == before + 1)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await bob.send(room: direct, text: "after gone").event
            try await Task.sleep(for: .milliseconds(500))
            #expect(sink.requests.count == before + 1)
            let phone = try await server.connect()
            _ = try await phone.login(username: "alice", password: "password1", device: device("phone"))
            let list = try await phone.call(.listDevices, Chatd_V1_ListDevicesRequest(), as: Chatd_V1_ListDevicesResponse.self)
            #expect(list.devices.map(\.push) == [.unspecified])
            let events = try await phone.sync().accountEvents.filter { $0.kind == .pushTargetChanged }.map(\.reason)
            #expect(events == ["unified_push", "gone"])
        }
    }

    /// A device that gives its Web Push keys gets bodies only it can read
    /// (RFC 8291, aes128gcm), content included; a bad key is refused.
    @Test func webPushKeysEncryptTheBody() async throws {
        try await withSink(includeContent: true) { sink, server in
            let key = P256.KeyAgreement.PrivateKey()
            let auth = Data((0..<16).map { _ in UInt8.random(in: 0...255) })
            let (bob, direct, _, _) = try await offlineAlice(server) { phone in
                func refusal(_ p256dh: Data, _ auth: Data) async -> String? {
                    do {
                        try await phone.setPushTarget(unifiedPush: sink.url("/up/alice"), webPush: (p256dh, auth))
                        return nil
                    } catch {
                        if case .server(_, _, _, let field) = error as? ChatClientError { return field }
                        return "\(error)"
                    }
                }
                #expect(await refusal(Data([4] + [UInt8](repeating: 1, count: 64)), auth) == "p256dh")
                #expect(await refusal(key.publicKey.x963Representation, auth.prefix(8)) == "auth")
                let content = try await phone.setPushTarget(unifiedPush: sink.url("/up/alice"), webPush: (key.publicKey.x963Representation, auth))
                #expect(content)
            }
            let sent = try await bob.send(room: direct, text: "a secret text").event
            let got = await sink.wait(count: 1)
            #expect(got.map(\.contentEncoding) == ["aes128gcm"] && got.map(\.contentType) == ["application/octet-stream"])
            let sealed = got.first?.body ?? []
            #expect(!String(decoding: sealed, as: UTF8.self).contains("secret"))
            let body = Self.json((try? WebPushEncryption.open(sealed, privateKey: key, auth: [UInt8](auth))) ?? [])
            #expect(body["seq"] as? Int == Int(sent.seq) && body["text"] as? String == "a secret text" && body["sender"] as? String == "bob")
            // Signed (VAPID) with the key Hello announces, for the endpoint's origin.
            let vapidKey = try await server.connect(hello: false).hello().pushVapidKey
            let (signedWith, claims) = try #require(VAPIDSigner.read(got.first?.authorization ?? ""))
            #expect(signedWith == [UInt8](vapidKey) && vapidKey.count == 65)
            #expect(claims?["aud"] as? String == sink.url("") && claims?["sub"] as? String == "mailto:ops@example.org")
        }
    }

    /// push.min_interval_seconds: the first message goes at once, a burst
    /// right after it becomes one notification at the interval's end (one
    /// per interval while the burst lasts, when sending it takes longer).
    @Test func aBurstWaitsForTheIntervalAndIsSentOnce() async throws {
        try await withSink(minIntervalSeconds: 1) { sink, server in
            let (bob, direct, _, _) = try await offlineAlice(server) { phone in
                _ = try await phone.setPushTarget(unifiedPush: sink.url("/up/alice"))
            }
            _ = try await bob.send(room: direct, text: "first").event
            #expect(await sink.wait(count: 1).count == 1)
            let started = ContinuousClock.now
            var last: UInt64 = 0
            for i in 1...10 { last = try await bob.send(room: direct, text: "burst \(i)").event.seq }
            let latest = await sink.wait(seconds: testWaitSeconds) { Self.json($0.last?.body ?? [])["seq"] as? Int == Int(last) }
            // Under load the sends, and the notifier (a thread at a lower
            // priority), can take seconds: each interval that ends before the
            // latest arrives may send one.
            let intervals = Int((ContinuousClock.now - started) / .seconds(1))
            try await Task.sleep(for: .milliseconds(300))
            let got = sink.requests
            #expect(latest && got.count >= 2 && got.count <= 2 + intervals, "\(got.count) notifications for 11 messages sent over \(intervals) s")
            // The spacing itself is PushTests' (here the sink sees arrivals, which
            // lag the requests' starts by up to 600 ms on a loaded machine).
            let body = Self.json(got.last?.body ?? [])
            #expect(body["seq"] as? Int == Int(last) && body["unread"] as? Int == 11)
        }
    }

    @Test func settingsAndTheGatewayAreRespected() async throws {
        try await withSink(includeContent: true) { sink, server in
            let (carol, _) = try await server.user("carol", password: "password1")
            var (muted, mentions): (UInt64, UInt64) = (0, 0)
            let (bob, direct, _, _) = try await offlineAlice(server) { phone in
                muted = try await carol.createGroup(name: "muted", usernames: ["alice"]).conversation.id
                mentions = try await carol.createGroup(name: "mentions", usernames: ["alice"]).conversation.id
                #expect(try await phone.setPushTarget(gatewayPushkey: "PK-alice", appID: "org.example.chat", platform: "apns"))
                try await phone.setNotifications(muted, level: .notifyAll, mutedUntilMs: Int64(Date().timeIntervalSince1970 * 1000) + 3_600_000)
                try await phone.setNotifications(mentions, level: .notifyMentions)
                // Refusals: unknown kind, a bad endpoint, an unknown platform.
                var bad = Chatd_V1_SetPushTargetRequest()
                await expectError(.invalidField) { try await phone.call(.setPushTarget, bad, as: Chatd_V1_SetPushTargetResponse.self) }
                bad.kind = .pushUnified
                bad.endpoint = "ftp://example.org/x"
                await expectError(.invalidField) { try await phone.call(.setPushTarget, bad, as: Chatd_V1_SetPushTargetResponse.self) }
                await expectError(.invalidField) {
                    try await phone.setPushTarget(gatewayPushkey: "PK", appID: "org.example.chat", platform: "wns")
                }
            }
            // Muted, and mentions-only without a mention: nothing.
            _ = try await carol.send(room: muted, text: "hello")
            _ = try await carol.send(room: mentions, text: "no mention here")
            try await Task.sleep(for: .milliseconds(500))
            #expect(sink.requests.isEmpty)
            // A mention in the mentions-only conversation: notified, with content (the operator's choice).
            let mention = try await carol.send(room: mentions, text: "hi @alice").event
            let got = await sink.wait(count: 1)
            #expect(got.map(\.path) == ["/_matrix/push/v1/notify"])
            #expect(got.map(\.authorization) == [""], "a gateway request carries no VAPID header")
            let n = Self.json(got.first?.body ?? [])["notification"] as? [String: Any] ?? [:]
            #expect(n["event_id"] as? String == "\(mentions):\(mention.seq)" && n["room_id"] as? String == "\(mentions)")
            #expect(n["sender"] as? String == "carol" && (n["content"] as? [String: Any])?["body"] as? String == "hi @alice")
            let devices = n["devices"] as? [[String: Any]] ?? []
            #expect(devices.map { $0["pushkey"] as? String } == ["PK-alice"] && devices.first?["app_id"] as? String == "org.example.chat")
            #expect((n["counts"] as? [String: Any])?["unread"] as? Int == 2)

            // The gateway rejects the pushkey: the target is removed.
            sink.respond("/_matrix/push/v1/notify", with: [200], body: #"{"rejected":["PK-alice"]}"#)
            _ = try await bob.send(room: direct, text: "one")
            #expect(await sink.wait(count: 2).count == 2)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await bob.send(room: direct, text: "two")
            try await Task.sleep(for: .milliseconds(500))
            #expect(sink.requests.count == 2)
        }
    }
}

/// An HTTP server on loopback that records every request and answers as
/// told: by default 200 with `{"rejected":[]}`.
/// chatd's lookup of endpoint hosts (the send-time check of
/// push.allow_private_addresses, spec §4.8).
struct PushResolveTests {
    @Test func namesResolveToLiteralsAndLoopbackIsRefused() async {
        let client = HTTPPushClient(connectionsPerHost: 1, group: MultiThreadedEventLoopGroup.singleton)
        let addresses = await client.resolve("localhost") ?? []
        #expect(addresses.contains("127.0.0.1") || addresses.contains("::1"), "\(addresses)")
        #expect(await client.resolve("no-such-host.invalid") == nil)
        await client.shutdown()
    }

    /// An endpoint that sends an answer's head and then nothing more holds
    /// a POST no longer than its timeout (async-http-client's deadline ends
    /// with the head; the body was read without one).
    @Test func anAnswerWhoseBodyNeverComesEndsAtTheTimeout() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(HeadOnly()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = HTTPPushClient(connectionsPerHost: 1, group: MultiThreadedEventLoopGroup.singleton)
        let started = ContinuousClock.now
        let answer = await client.post(
            url: "http://127.0.0.1:\(server.localAddress?.port ?? 0)/up", contentType: "text/plain", contentEncoding: nil,
            authorization: nil, body: Array("hello".utf8), timeoutMs: 500)
        let took = ContinuousClock.now - started
        #expect(answer.status == 200 && answer.body.isEmpty)
        // Bounded, not prompt: under the whole suite's load on two cores the
        // 500 ms deadline's wake-up came 5.9 s late once (the old code never returned).
        #expect(took < .seconds(30), "\(took)")
        await client.shutdown()
        try await server.close()
    }

    /// Answers every request with a head that promises a body, and no body.
    final class HeadOnly: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: head)), promise: nil)
        }
    }
}

final class PushSink: Sendable {
    struct Request: Sendable {
        var path: String
        var body: [UInt8]
        var at: ContinuousClock.Instant
        var contentType = ""
        var contentEncoding = ""
        var authorization = ""
    }

    private struct State {
        var requests: [Request] = []
        /// The next answers per path (status, body), used up in order.
        var script: [String: [(Int, String)]] = [:]
        var delay: Duration = .zero
    }

    private let state = Mutex(State())
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    private let port = Mutex(0)

    static func start() async throws -> PushSink {
        let sink = PushSink()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SinkHandler(sink: sink))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        sink.channel.withLock { $0 = channel }
        sink.port.withLock { $0 = channel.localAddress?.port ?? 0 }
        return sink
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port.withLock { $0 })\(path)" }

    var requests: [Request] { state.withLock { $0.requests } }

    func respond(_ path: String, with statuses: [Int], body: String = #"{"rejected":[]}"#) {
        state.withLock { $0.script[path, default: []] += statuses.map { ($0, body) } }
    }

    func delay(_ d: Duration) { state.withLock { $0.delay = d } }

    /// Records a request; returns the answer and how long to wait before it.
    fileprivate func record(path: String, body: [UInt8], headers: HTTPHeaders) -> (Int, String, Duration) {
        state.withLock { s in
            s.requests.append(
                Request(
                    path: path, body: body, at: .now, contentType: headers.first(name: "Content-Type") ?? "",
                    contentEncoding: headers.first(name: "Content-Encoding") ?? "",
                    authorization: headers.first(name: "Authorization") ?? ""))
            if var next = s.script[path], !next.isEmpty {
                let answer = next.removeFirst()
                s.script[path] = next
                return (answer.0, answer.1, s.delay)
            }
            return (200, #"{"rejected":[]}"#, s.delay)
        }
    }

    /// The requests once there are `count` of them (or whatever came within `seconds`).
    func wait(count: Int, seconds: Double = testWaitSeconds) async -> [Request] {
        _ = await wait(seconds: seconds) { $0.count >= count }
        return requests
    }

    /// Whether `condition` held for the requests within `seconds`.
    func wait(seconds: Double, until condition: ([Request]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition(requests) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(requests)
    }

    func stop() async {
        try? await channel.withLock { $0 }?.close()
    }
}

private final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let sink: PushSink
    var path = ""
    var headers = HTTPHeaders()
    var body: [UInt8] = []

    init(sink: PushSink) { self.sink = sink }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.uri
            headers = head.headers
            body = []
        case .body(let buffer):
            body += Array(buffer.readableBytesView)
        case .end:
            let (status, text, delay) = sink.record(path: path, body: body, headers: headers)
            let loop = context.eventLoop
            let bound = NIOLoopBound(context, eventLoop: loop)
            loop.scheduleTask(in: .nanoseconds(Int64(delay.components.attoseconds / 1_000_000_000 + delay.components.seconds * 1_000_000_000))) {
                let context = bound.value
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(text.utf8.count)")
                context.write(
                    NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))),
                    promise: nil)
                context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
            }
        }
    }
}
