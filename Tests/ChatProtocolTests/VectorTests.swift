import ChatProtocol
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

/// spec/vectors/vectors.json, read in both directions: each hex frame decodes
/// to the stated header and payload, and encoding that payload and header
/// gives the same bytes.
struct VectorTests {
    struct Vector: Decodable {
        var name: String
        var hex: String
        var kind: UInt8
        var flags: UInt8
        var op: UInt16
        var id: UInt32
        var type: String
        var json: AnyJSON
    }

    /// A request the server answers with `errorCode` (bad_payload), because
    /// `fieldNumber` of `message` (nested in `type`) has the wrong wire type.
    struct BadPayload: Decodable {
        var name: String
        var hex: String
        var kind: UInt8
        var flags: UInt8
        var op: UInt16
        var id: UInt32
        var type: String
        var errorCode: UInt32
        var message: String
        var fieldNumber: Int

        enum CodingKeys: String, CodingKey {
            case name, hex, kind, flags, op, id, type, message
            case errorCode = "error_code"
            case fieldNumber = "field_number"
        }
    }

    struct File: Decodable {
        var vectors: [Vector]
        var badPayloads: [BadPayload]

        enum CodingKeys: String, CodingKey {
            case vectors
            case badPayloads = "bad_payloads"
        }
    }

    /// Re-serialises a JSON fragment so SwiftProtobuf can parse it.
    struct AnyJSON: Decodable {
        var data: Data
        init(from decoder: any Swift.Decoder) throws {
            let value = try decoder.singleValueContainer().decode(JSONValue.self)
            data = try JSONSerialization.data(withJSONObject: value.object, options: [.fragmentsAllowed])
        }
    }

    indirect enum JSONValue: Decodable {
        case object([String: JSONValue]), array([JSONValue]), string(String), number(Double), bool(Bool), null
        init(from decoder: any Swift.Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let n = try? c.decode(Double.self) { self = .number(n) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
            else if let o = try? c.decode([String: JSONValue].self) { self = .object(o) }
            else { self = .null }
        }
        var object: Any {
            switch self {
            case .object(let o): o.mapValues(\.object)
            case .array(let a): a.map(\.object)
            case .string(let s): s
            case .number(let n): n == n.rounded() && abs(n) < 1e15 ? Int64(n) as Any : n
            case .bool(let b): b
            case .null: NSNull()
            }
        }
    }

    static let types: [String: any SwiftProtobuf.Message.Type] = [
        "chatd.v1.HelloRequest": Chatd_V1_HelloRequest.self,
        "chatd.v1.HelloResponse": Chatd_V1_HelloResponse.self,
        "chatd.v1.LoginRequest": Chatd_V1_LoginRequest.self,
        "chatd.v1.AuthResponse": Chatd_V1_AuthResponse.self,
        "chatd.v1.ErrorResponse": Chatd_V1_ErrorResponse.self,
        "chatd.v1.EventPush": Chatd_V1_EventPush.self,
        "chatd.v1.PingRequest": Chatd_V1_PingRequest.self,
        "chatd.v1.ResumeRequest": Chatd_V1_ResumeRequest.self,
        "chatd.v1.SendMessageRequest": Chatd_V1_SendMessageRequest.self,
        "chatd.v1.AccountEventPush": Chatd_V1_AccountEventPush.self,
        "chatd.v1.UploadBeginRequest": Chatd_V1_UploadBeginRequest.self,
        "chatd.v1.UploadChunkRequest": Chatd_V1_UploadChunkRequest.self,
        "chatd.v1.DownloadResponse": Chatd_V1_DownloadResponse.self,
        "chatd.v1.SearchMessagesRequest": Chatd_V1_SearchMessagesRequest.self,
        "chatd.v1.CreateInviteLinkRequest": Chatd_V1_CreateInviteLinkRequest.self,
        "chatd.v1.CreateInviteLinkResponse": Chatd_V1_CreateInviteLinkResponse.self,
        "chatd.v1.RedeemInviteLinkRequest": Chatd_V1_RedeemInviteLinkRequest.self,
        "chatd.v1.ListFriendsRequest": Chatd_V1_ListFriendsRequest.self,
        "chatd.v1.ListFriendsResponse": Chatd_V1_ListFriendsResponse.self,
        "chatd.v1.RegisterRequest": Chatd_V1_RegisterRequest.self,
        "chatd.v1.MarkDeliveredRequest": Chatd_V1_MarkDeliveredRequest.self,
        "chatd.v1.MarkDeliveredResponse": Chatd_V1_MarkDeliveredResponse.self,
        "chatd.v1.DeliveredPush": Chatd_V1_DeliveredPush.self,
        "chatd.v1.CreateGroupRequest": Chatd_V1_CreateGroupRequest.self,
        "chatd.v1.SetPushTargetRequest": Chatd_V1_SetPushTargetRequest.self,
        "chatd.v1.SetPushTargetResponse": Chatd_V1_SetPushTargetResponse.self,
    ]

    static func loadFile() throws -> File {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../spec/vectors/vectors.json").standardized
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }

    static func load() throws -> [Vector] { try loadFile().vectors }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            out.append(UInt8(String(decoding: [hi, lo], as: UTF8.self), radix: 16) ?? 0)
        }
        return out
    }

    @Test func vectorsCoverTheRequiredFrames() throws {
        let names = Set(try Self.load().map(\.name))
        for required in ["hello-request", "hello-response", "login-request", "login-error", "event-push", "resume-signed"] {
            #expect(names.contains(required), "missing vector \(required)")
        }
    }

    @Test(arguments: try VectorTests.load().map(\.name))
    func vectorRoundTrips(name: String) throws {
        let vector = try #require(try Self.load().first { $0.name == name })
        let type = try #require(Self.types[vector.type], "unknown type \(vector.type)")
        let expected = try type.init(jsonUTF8Data: vector.json.data)

        // Decode: hex -> frame -> message.
        var buffer = ByteBuffer(bytes: Self.bytes(hex: vector.hex))
        var decoder = FrameDecoder(maxFrameLength: 1 << 20)
        guard case .frame(let frame) = decoder.decodeNext(&buffer) else {
            Issue.record("vector \(name) did not decode to a frame")
            return
        }
        #expect(buffer.readableBytes == 0)
        #expect(frame.rawKind == vector.kind)
        #expect(frame.flags == vector.flags)
        #expect(frame.op == vector.op)
        #expect(frame.id == vector.id)
        let decoded = try type.init(payload: frame.payload)
        #expect(decoded.isEqualTo(message: expected), "payload of \(name) differs: \(decoded)")

        // Encode: message -> frame -> hex.
        let encoded = Frame(
            rawKind: vector.kind, flags: vector.flags, op: vector.op, id: vector.id,
            payload: expected.payloadBuffer()
        ).encoded()
        #expect(Array(encoded.readableBytesView) == Self.bytes(hex: vector.hex))
    }

    @Test(arguments: try VectorTests.loadFile().badPayloads.map(\.name))
    func badPayloadIsRefused(name: String) throws {
        let vector = try #require(try Self.loadFile().badPayloads.first { $0.name == name })
        let type = try #require(Self.types[vector.type], "unknown type \(vector.type)")
        #expect(vector.errorCode == ErrorCode.badPayload.rawValue)

        var buffer = ByteBuffer(bytes: Self.bytes(hex: vector.hex))
        var decoder = FrameDecoder(maxFrameLength: 1 << 20)
        guard case .frame(let frame) = decoder.decodeNext(&buffer) else {
            Issue.record("vector \(name) did not decode to a frame")
            return
        }
        #expect(buffer.readableBytes == 0)
        #expect(frame.rawKind == vector.kind && frame.flags == vector.flags)
        #expect(frame.op == vector.op && frame.id == vector.id)
        // Skipping the field as unknown would accept the payload.
        _ = try type.init(
            serializedBytes: Array(frame.payload.readableBytesView), extensions: nil, partial: false,
            options: BinaryDecodingOptions())
        let error = try #require(throws: WrongWireTypeError.self) { try type.init(payload: frame.payload) }
        #expect(error.messageName == vector.message)
        #expect(error.fieldNumber == vector.fieldNumber)
    }
}
