import ChatClient
import ChatProtocol
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@Suite(.timeLimit(.minutes(2)))
struct BadInputTests {
    func raw(_ c: ChatConnection, kind: UInt8 = 1, flags: UInt8 = 0, op: UInt16, id: UInt32 = 900, payload: [UInt8] = [])
        async throws -> Frame
    {
        try await c.send(Frame(rawKind: kind, flags: flags, op: op, id: id, payload: ByteBuffer(bytes: payload)))
    }

    @Test func malformedFramesGetCodesAndTheConnectionSurvives() async throws {
        try await withServer { server in
            let (c, _) = try await server.user("mallory")
            await expectError(.unknownOp) { try await raw(c, op: 999) }
            await expectError(.badFrame) { try await raw(c, flags: 1, op: 2) }
            await expectError(.badFrame) { try await raw(c, kind: 2, op: 2) }
            await expectError(.badFrame) { try await raw(c, kind: 77, op: 2) }
            await expectError(.badPayload) { try await raw(c, op: Op.sendMessage.rawValue, payload: [0xFF, 0xFF, 0xFF]) }
            // Invalid UTF-8 in a string field (SendMessage.text = C3 28).
            await expectError(.badPayload) {
                try await raw(c, op: Op.sendMessage.rawValue, payload: [0x08, 0x01, 0x12, 0x01, 0x61, 0x1A, 0x02, 0xC3, 0x28])
            }
            await expectError(.badPayload) { try await raw(c, op: Op.ping.rawValue, payload: [0x0A]) }
            // Still usable after all of that.
            #expect(try await c.ping().serverTimeMs > 0)
            #expect(try await c.me().user.username == "mallory")
        }
    }

    /// A field the request declares, sent with another wire type, is
    /// bad_payload (§2.2 rule 7): before and after login, nested, on routed ops
    /// and on those answered on the event loop (Hello, Typing).
    @Test func wrongWireTypesAreBadPayload() async throws {
        // LoginRequest{username "alice", password "pw", device{device_id "d"}}.
        let login: [UInt8] = [0x0A, 0x05] + Array("alice".utf8) + [0x12, 0x02, 0x70, 0x77, 0x1A, 0x03, 0x0A, 0x01, 0x64]
        try await withServer { server in
            let fresh = try await server.connect(hello: false)
            // Hello.protocol_version (uint32) length-delimited; was answered unsupported_version.
            await expectError(.badPayload) { try await raw(fresh, op: Op.hello.rawValue, payload: login) }
            try await fresh.hello()
            // Login whose DeviceInfo.device_id (string) is a varint: one level down.
            await expectError(.badPayload) {
                try await raw(fresh, op: Op.login.rawValue, payload: Array(login.dropLast(5)) + [0x1A, 0x02, 0x08, 0x05])
            }

            let (c, _) = try await server.user("wiretypes")
            let room = try await c.createRoom(name: "wire")
            var send = Chatd_V1_SendMessageRequest()
            send.conversationID = room.id
            send.clientMsgID = "m"
            send.text = "hi"
            let sendMessage = Array(send.payloadBuffer().readableBytesView)
            // History with a SendMessage's bytes (after_seq, a uint64, length-delimited); was answered ok.
            do {
                _ = try await raw(c, op: Op.history.rawValue, payload: sendMessage)
                Issue.record("History with a SendMessage payload succeeded")
            } catch let error as ChatClientError {
                #expect(error.code == .badPayload)
                #expect("\(error)".contains("field 2 of chatd.v1.HistoryRequest has wire type 2"), "\(error)")
            }
            // CreateRoom with a Login's bytes (visibility, an enum, length-delimited); created a room "alice".
            await expectError(.badPayload) { try await raw(c, op: Op.createRoom.rawValue, payload: login) }
            _ = try await c.createRoom(name: "alice")
            // Typing{conversation_id "1"}.
            await expectError(.badPayload) {
                try await raw(c, op: Op.typing.rawValue, payload: [0x0A, 0x01, 0x31])
            }
            // Unknown field numbers stay accepted whatever their wire type (here 100 as a string).
            var typing = Chatd_V1_TypingRequest()
            typing.conversationID = room.id
            typing.typing = true
            let withUnknown = Array(typing.payloadBuffer().readableBytesView) + [0xA2, 0x06, 0x01, 0x78]
            _ = try await raw(c, op: Op.typing.rawValue, payload: withUnknown)
        }
    }

    @Test func invalidUTF8BeforeAuthentication() async throws {
        try await withServer { server in
            let c = try await server.connect()
            // RegisterRequest.username = FF FE
            await expectError(.badPayload) { try await raw(c, op: Op.register.rawValue, payload: [0x0A, 0x02, 0xFF, 0xFE]) }
            // The failed authentication leaves the connection usable.
            _ = try await c.register(username: "after", password: "password1")
        }
    }

    @Test func oversizedFrameIsRefusedAndSkipped() async throws {
        let max = 2048
        try await withServer({
            $0.setting("server.max_frame_bytes", .int(Int64(max))).setting("limits.max_message_bytes", .int(1024))
        }) { server in
            let (c, _) = try await server.user("big")
            let atLimit = [UInt8](repeating: 0, count: max - Frame.headerRestLength)
            // N: accepted by the decoder (the zero bytes are not a valid message).
            await expectError(.badPayload) { try await raw(c, op: Op.ping.rawValue, id: 1, payload: atLimit) }
            // N+1: refused with too_large for that id, payload skipped.
            await expectError(.tooLarge) { try await raw(c, op: Op.ping.rawValue, id: 2, payload: atLimit + [0]) }
            #expect(try await c.ping().serverTimeMs > 0)
        }
    }

    /// Frames arrive however TCP cuts them: a Hello one byte per write,
    /// then two Pings and the head of a third in one write and its tail in
    /// another. The connection handler reassembles them and answers each,
    /// in order.
    @Test func framesSplitAndJoinedAcrossReadsAreAnsweredInOrder() async throws {
        try await withServer { server in
            var hello = Chatd_V1_HelloRequest()
            hello.protocolVersion = 1
            hello.clientName = "dribbler"
            func encoded(_ op: Op, _ id: UInt32, _ message: some SwiftProtobuf.Message) -> [UInt8] {
                Array(Frame.request(op: op.rawValue, id: id, payload: message.payloadBuffer()).encoded().readableBytesView)
            }
            let first = encoded(.hello, 1, hello)
            let pings = (2...4).map { encoded(.ping, UInt32($0), Chatd_V1_PingRequest()) }
            let peer = try RawPeer(port: server.port)
            defer { peer.close() }
            var noDelay: Int32 = 1
            setsockopt(peer.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            let frames = try await offPool {
                for byte in first {
                    _ = peer.sendUntilBlocked([byte], maxBytes: 1)
                    usleep(2_000)
                }
                let joined = pings[0] + pings[1] + pings[2].prefix(5)
                _ = peer.sendUntilBlocked(joined, maxBytes: joined.count)
                usleep(50_000)
                let tail = Array(pings[2].dropFirst(5))
                _ = peer.sendUntilBlocked(tail, maxBytes: tail.count)
                return peer.receiveFrames(4, seconds: 10)
            }
            #expect(frames.map(\.id) == [1, 2, 3, 4])
            #expect(frames.map(\.op) == [Op.hello.rawValue] + Array(repeating: Op.ping.rawValue, count: 3))
            #expect(frames.allSatisfy { $0.kind == .response })
        }
    }

    @Test func listConversationsCursorNeedsBothFields() async throws {
        try await withServer { server in
            let (c, _) = try await server.user("cursor")
            _ = try await c.createRoom(name: "one")
            var q = Chatd_V1_ListConversationsRequest()
            q.beforeActivityMs = 1
            await expectError(.invalidField) {
                try await c.call(.listConversations, q, as: Chatd_V1_ListConversationsResponse.self)
            }
            q = Chatd_V1_ListConversationsRequest()
            q.beforeID = 1
            await expectError(.invalidField) {
                try await c.call(.listConversations, q, as: Chatd_V1_ListConversationsResponse.self)
            }
            let all = try await c.call(.listConversations, Chatd_V1_ListConversationsRequest(), as: Chatd_V1_ListConversationsResponse.self)
            #expect(all.conversations.count == 1)
        }
    }

    @Test func fieldLimitsAtNAndNPlusOne() async throws {
        try await withServer { server in
            let (c, _) = try await server.user("limits")
            let room = try await c.createRoom(name: "limits")
            let max = 8192
            _ = try await c.send(room: room.id, text: String(repeating: "a", count: max))
            await expectError(.tooLarge) { try await c.send(room: room.id, text: String(repeating: "a", count: max + 1)) }
            await expectError(.invalidField) { try await c.send(room: room.id, text: "") }
            await expectError(.invalidField) { try await c.send(room: room.id, text: "  \n ") }
            await expectError(.invalidField) { try await c.send(room: room.id, text: "x", clientMsgID: "") }
            _ = try await c.send(room: room.id, text: "x", clientMsgID: String(repeating: "k", count: 64))
            await expectError(.tooLarge) { try await c.send(room: room.id, text: "x", clientMsgID: String(repeating: "k", count: 65)) }

            _ = try await server.user(String(repeating: "u", count: 32))
            await expectError(.tooLarge) { try await server.user(String(repeating: "u", count: 33)) }
            _ = try await server.user("abc")
            await expectError(.invalidField) { try await server.user("ab") }
            await expectError(.invalidField) { try await server.user("bad name") }
            await expectError(.invalidField) { try await server.user("émile") }
            await expectError(.invalidField) {
                try await server.connect().register(username: "shortpw", password: "1234567")
            }
            _ = try await server.connect().register(username: "okpw", password: "12345678")

            _ = try await c.createRoom(name: String(repeating: "r", count: 64))
            await expectError(.tooLarge) { try await c.createRoom(name: String(repeating: "r", count: 65)) }
            await expectError(.invalidField) { try await c.createRoom(name: "   ") }
            await expectError(.invalidField) { try await c.createRoom(name: "tab\there") }

            var create = Chatd_V1_CreateRoomRequest()
            create.name = "weird-visibility"
            create.visibility = .UNRECOGNIZED(42)
            await expectError(.invalidField) { try await c.call(.createRoom, create, as: Chatd_V1_ConversationResponse.self) }
            await expectError(.notFound) { try await c.joinRoom(123_456) }
            await expectError(.invalidField) { try await c.send(room: 0, text: "x") }
            await expectError(.notFound) { try await c.send(room: 999_999, text: "x") }
            var d = Chatd_V1_DeviceInfo()
            d.deviceID = "has space"
            await expectError(.invalidField) { try await server.connect().login(username: "limits", password: "x", device: d) }
        }
    }

    @Test func brokenStreamGetsErrorGoodbyeAndClose() async throws {
        try await withServer { server in
            let c = try await server.connect()
            let pushes = PushCollector(c)
            var bytes = ByteBuffer()
            bytes.writeInteger(UInt32(3))  // below the 8 header bytes
            bytes.writeBytes([1, 0, 0])
            try await c.writeRaw(bytes)
            #expect(await pushes.wait { goodbyeReason($0) == .protocolError })
            #expect(await waitClosed(c))
            // The server is fine.
            _ = try await server.user("survivor")
        }
    }

    @Test func randomGarbageNeverHurtsTheServer() async throws {
        try await withServer { server in
            var generator = SystemRandomNumberGenerator()
            for round in 0..<30 {
                let c = try await server.connect(hello: round % 2 == 0)
                var junk = ByteBuffer()
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    // Plausible headers with random fields and payloads.
                    let payload = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    junk.writeInteger(UInt32(8 + payload.count))
                    junk.writeInteger(UInt8.random(in: 0...5, using: &generator))
                    junk.writeInteger(UInt8.random(in: 0...1, using: &generator))
                    junk.writeInteger(UInt16.random(in: 0...45, using: &generator))
                    junk.writeInteger(UInt32.random(in: 1...1000, using: &generator))
                    junk.writeBytes(payload)
                }
                try? await c.writeRaw(junk)
                await c.close()
            }
            let (c, _) = try await server.user("still-alive")
            #expect(try await c.ping().serverTimeMs > 0)
        }
    }
}

@Suite(.timeLimit(.minutes(2)))
struct SlowConsumerTests {
    /// A client that stops reading is closed once its queue passes
    /// max_outbound_bytes; it reconnects and catches up.
    @Test func clientThatStopsReadingIsDisconnected() async throws {
        try await withServer({
            $0.setting("server.max_outbound_bytes", .int(65_536)).setting("limits.max_message_bytes", .int(60_000))
        }) { server in
            let (alice, _) = try await server.user("alice", password: "password1")
            let (bob, bobAuth) = try await server.user("bob", password: "password1")
            let room = try await alice.createRoom(name: "firehose")
            _ = try await bob.joinRoom(room.id)
            try await bob.setReading(false)
            // 30 MB of pushes: more than the kernel's socket buffers can absorb.
            let text = String(repeating: "x", count: 60_000)
            var last: UInt64 = 0
            for i in 0..<500 {
                last = try await alice.send(room: room.id, text: text, clientMsgID: "f\(i)").event.seq
                // Closed by the server: no need to send the rest (each costs a 60 KB write).
                if !bob.isActive || server.daemon.server.registry.connectionCount(user: Int64(bobAuth.user.id)) == 0 { break }
            }
            // Still not reading: the server must close it anyway, without
            // waiting for the goodbye to drain.
            let closedAt = ContinuousClock.now + .seconds(10)
            while server.daemon.server.registry.connectionCount(user: Int64(bobAuth.user.id)) > 0 && ContinuousClock.now < closedAt {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(server.daemon.server.registry.connectionCount(user: Int64(bobAuth.user.id)) == 0, "the server closed the slow connection")
            try await bob.setReading(true)
            #expect(await waitClosed(bob, seconds: 20))
            // Reconnect and catch up with History.
            let again = try await server.connect()
            _ = try await again.resume(token: bobAuth.token)
            let events = try await again.events(in: room.id, after: 0)
            #expect(events.last?.seq == last)
        }
    }
}
