import ChatProtocol
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

/// A tiny protobuf encoder, independent of SwiftProtobuf, so the tests can
/// write what a conforming encoder never would.
enum Wire {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }

    static func tag(_ number: Int, _ wireType: UInt8) -> [UInt8] { varint(UInt64(number) << 3 | UInt64(wireType)) }
    static func varint(_ number: Int, _ value: UInt64) -> [UInt8] { tag(number, 0) + varint(value) }
    static func fixed64(_ number: Int, _ value: UInt64) -> [UInt8] {
        tag(number, 1) + (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
    static func bytes(_ number: Int, _ content: [UInt8]) -> [UInt8] {
        tag(number, 2) + varint(UInt64(content.count)) + content
    }
    static func string(_ number: Int, _ text: String) -> [UInt8] { bytes(number, Array(text.utf8)) }
    static func group(_ number: Int, _ content: [UInt8]) -> [UInt8] { tag(number, 3) + content + tag(number, 4) }
    static func fixed32(_ number: Int, _ value: UInt32) -> [UInt8] {
        tag(number, 5) + (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
    /// Packed repeated varints: one length-delimited field.
    static func packed(_ number: Int, _ values: [UInt64]) -> [UInt8] { bytes(number, values.flatMap { varint($0) }) }

    // Whole payloads, as a client would send them for the op they belong to.
    static let device = string(1, "laptop-1") + string(2, "Alice's laptop") + string(3, "linux")
    static let login = string(1, "alice") + string(2, "correct horse") + bytes(3, device)
    static let sendMessage = varint(1, 3) + string(2, "m-0001") + string(3, "hello") + varint(4, 1)

    /// Every wire type under field numbers no chatd message declares (1000+),
    /// an unknown group holding an unknown group included.
    static let unknownOfEveryWireType =
        varint(1000, 7) + fixed64(1001, 8) + string(1002, "x") + fixed32(1003, 9)
        + group(1004, varint(1, 1) + group(2, string(3, "in a group")))
}

/// What `init(payload:)` makes of a payload: spec/PROTOCOL.md §2.2 rule 7.
struct StrictPayloadTests {
    struct WrongWireType: Sendable, CustomTestStringConvertible {
        let name: String
        let type: any SwiftProtobuf.Message.Type
        let payload: [UInt8]
        /// The message and field the error must name.
        let messageName: String
        let fieldNumber: Int
        var testDescription: String { name }
    }

    static let wrongWireTypes: [WrongWireType] = [
        // Top level: another op's payload.
        WrongWireType(
            name: "Hello carrying a LoginRequest (was: unsupported_version)", type: Chatd_V1_HelloRequest.self,
            payload: Wire.login, messageName: "chatd.v1.HelloRequest", fieldNumber: 1),
        WrongWireType(
            name: "History carrying a SendMessageRequest (was: ok)", type: Chatd_V1_HistoryRequest.self,
            payload: Wire.sendMessage, messageName: "chatd.v1.HistoryRequest", fieldNumber: 2),
        WrongWireType(
            name: "CreateRoom carrying a LoginRequest (was: a room named alice)", type: Chatd_V1_CreateRoomRequest.self,
            payload: Wire.login, messageName: "chatd.v1.CreateRoomRequest", fieldNumber: 3),
        // Top level: each wrong wire type once.
        WrongWireType(
            name: "uint32 as fixed32", type: Chatd_V1_HelloRequest.self,
            payload: Wire.fixed32(1, 1) + Wire.string(2, "x"), messageName: "chatd.v1.HelloRequest", fieldNumber: 1),
        WrongWireType(
            name: "string as fixed64", type: Chatd_V1_HelloRequest.self,
            payload: Wire.varint(1, 1) + Wire.fixed64(2, 1), messageName: "chatd.v1.HelloRequest", fieldNumber: 2),
        WrongWireType(
            name: "uint32 as a group", type: Chatd_V1_HelloRequest.self,
            payload: Wire.group(1, []) + Wire.string(2, "x"), messageName: "chatd.v1.HelloRequest", fieldNumber: 1),
        WrongWireType(
            name: "message as varint", type: Chatd_V1_LoginRequest.self,
            payload: Wire.string(1, "alice") + Wire.varint(3, 1), messageName: "chatd.v1.LoginRequest", fieldNumber: 3),
        WrongWireType(
            name: "enum as length-delimited", type: Chatd_V1_SendMessageRequest.self,
            payload: Wire.varint(1, 3) + Wire.string(4, "TEXT"), messageName: "chatd.v1.SendMessageRequest",
            fieldNumber: 4),
        WrongWireType(
            name: "after fields of every unknown wire type", type: Chatd_V1_HelloRequest.self,
            payload: Wire.unknownOfEveryWireType + Wire.string(1, "1"), messageName: "chatd.v1.HelloRequest",
            fieldNumber: 1),
        // Repeated fields.
        WrongWireType(
            name: "repeated uint64 as fixed32", type: Chatd_V1_CreateGroupRequest.self,
            payload: Wire.string(1, "g") + Wire.varint(3, 5) + Wire.fixed32(3, 6),
            messageName: "chatd.v1.CreateGroupRequest", fieldNumber: 3),
        WrongWireType(
            name: "repeated string as varint", type: Chatd_V1_CreateGroupRequest.self,
            payload: Wire.string(1, "g") + Wire.string(4, "bob") + Wire.varint(4, 7),
            messageName: "chatd.v1.CreateGroupRequest", fieldNumber: 4),
        // Nested messages.
        WrongWireType(
            name: "nested: DeviceInfo.device_id as varint in a LoginRequest", type: Chatd_V1_LoginRequest.self,
            payload: Wire.string(1, "alice") + Wire.bytes(3, Wire.varint(1, 5)), messageName: "chatd.v1.DeviceInfo",
            fieldNumber: 1),
        WrongWireType(
            name: "nested: SendMessage attachment's file_id as fixed64", type: Chatd_V1_SendMessageRequest.self,
            payload: Wire.varint(1, 3) + Wire.bytes(5, Wire.fixed64(1, 1)), messageName: "chatd.v1.Attachment",
            fieldNumber: 1),
        WrongWireType(
            name: "nested: the second element of a repeated message, three levels down",
            type: Chatd_V1_SyncResponse.self,
            payload: Wire.bytes(4, Wire.bytes(1, Wire.varint(1, 1)))
                + Wire.bytes(4, Wire.varint(2, 1) + Wire.bytes(1, Wire.varint(1, 2) + Wire.string(4, "PRIVATE"))),
            messageName: "chatd.v1.Conversation", fieldNumber: 4),
        WrongWireType(
            name: "nested: Event.mentions (repeated uint64) as fixed64 in a pushed event",
            type: Chatd_V1_EventPush.self,
            payload: Wire.bytes(1, Wire.varint(1, 3) + Wire.packed(12, [1, 2]) + Wire.fixed64(12, 3)),
            messageName: "chatd.v1.Event", fieldNumber: 12),
        WrongWireType(
            name: "control: RoomMemberRequest.user.id as length-delimited",
            type: Chatd_Control_V1_RoomMemberRequest.self,
            payload: Wire.bytes(1, Wire.varint(1, 3)) + Wire.bytes(2, Wire.string(1, "7")),
            messageName: "chatd.control.v1.UserRef", fieldNumber: 1),
        // Map values and keys (no chatd message has a map; google.protobuf.Struct does).
        WrongWireType(
            name: "map value: Struct field's number_value as varint", type: Google_Protobuf_Struct.self,
            payload: Wire.bytes(1, Wire.string(1, "k") + Wire.bytes(2, Wire.varint(2, 1))),
            messageName: "google.protobuf.Value", fieldNumber: 2),
        // SwiftProtobuf reads a map entry's next tag right after a value it
        // did not take, so these four bytes also parse as fields there
        // (0A 00: key ""; 12 00: an empty value) and it accepts the entry.
        WrongWireType(
            name: "map value itself as fixed32", type: Google_Protobuf_Struct.self,
            payload: Wire.bytes(1, Wire.string(1, "k") + Wire.fixed32(2, 0x000A_000A)),
            messageName: "google.protobuf.Struct (map entry of field 1)", fieldNumber: 2),
        WrongWireType(
            name: "map key as fixed32", type: Google_Protobuf_Struct.self,
            payload: Wire.bytes(1, Wire.fixed32(1, 0x0012_0012)),
            messageName: "google.protobuf.Struct (map entry of field 1)", fieldNumber: 1),
        // A repeated enum (proto2, in a message with extension ranges).
        WrongWireType(
            name: "repeated enum as fixed32", type: Google_Protobuf_FieldOptions.self,
            payload: Wire.varint(19, 1) + Wire.fixed32(19, 1), messageName: "google.protobuf.FieldOptions",
            fieldNumber: 19),
    ]

    @Test(arguments: wrongWireTypes)
    func wrongWireTypeIsRefused(_ c: WrongWireType) throws {
        // SwiftProtobuf alone keeps such a field as unknown and decodes the rest.
        _ = try c.type.init(serializedBytes: c.payload, extensions: nil, partial: true, options: BinaryDecodingOptions())
        let error = try #require(throws: WrongWireTypeError.self) {
            try c.type.init(payload: ByteBuffer(bytes: c.payload))
        }
        #expect(error.messageName == c.messageName)
        #expect(error.fieldNumber == c.fieldNumber)
        #expect("\(error)".contains("field \(c.fieldNumber) of \(c.messageName) has wire type"))
    }

    @Test func validPayloadsStillDecode() throws {
        // The Hello example of spec/PROTOCOL.md §2.1.
        let hello = try Chatd_V1_HelloRequest(payload: ByteBuffer(bytes: [0x08, 0x01, 0x12, 0x01, 0x78]))
        #expect(hello.protocolVersion == 1 && hello.clientName == "x")
        #expect(try Chatd_V1_PingRequest(payload: ByteBuffer()) == Chatd_V1_PingRequest())

        let login = try Chatd_V1_LoginRequest(payload: ByteBuffer(bytes: Wire.login))
        #expect(login.username == "alice" && login.device.platform == "linux")

        let history = try Chatd_V1_HistoryRequest(payload: ByteBuffer(bytes: Wire.varint(1, 3) + Wire.varint(2, 0)))
        #expect(history.conversationID == 3 && history.hasAfterSeq && history.afterSeq == 0)
    }

    @Test func unknownFieldNumbersAreIgnoredWhateverTheirWireType() throws {
        let u = Wire.unknownOfEveryWireType
        // Top level, before and after known fields, and inside a nested message.
        let payload = u + Wire.string(1, "alice") + u + Wire.bytes(3, u + Wire.string(1, "laptop-1") + u) + u
        let login = try Chatd_V1_LoginRequest(payload: ByteBuffer(bytes: payload))
        #expect(login.username == "alice")
        #expect(login.device.deviceID == "laptop-1")
        // Unknown fields are dropped, not kept.
        #expect(login.unknownFields.data.isEmpty && login.device.unknownFields.data.isEmpty)

        // A field number one past the last one HelloRequest declares, in each wire type.
        for field in [Wire.varint(4, 1), Wire.fixed64(4, 1), Wire.string(4, "x"), Wire.fixed32(4, 1), Wire.group(4, [])] {
            let hello = try Chatd_V1_HelloRequest(payload: ByteBuffer(bytes: Wire.varint(1, 1) + field))
            #expect(hello.protocolVersion == 1)
        }

        // Numbers in an extension range are unknown too (proto2 descriptor options).
        let options = try Google_Protobuf_FieldOptions(payload: ByteBuffer(bytes: Wire.string(1000, "ext")))
        #expect(options == Google_Protobuf_FieldOptions())
    }

    @Test func packedAndUnpackedRepeatedScalarsBothDecode() throws {
        let ids: [UInt64] = [1, 300, 1 << 40]
        let unpacked = Wire.string(1, "g") + ids.flatMap { Wire.varint(3, $0) }
        let packed = Wire.string(1, "g") + Wire.packed(3, ids)
        // Both forms in one payload: protobuf concatenates them.
        let mixed = Wire.string(1, "g") + Wire.varint(3, ids[0]) + Wire.packed(3, Array(ids.dropFirst()))
        for payload in [unpacked, packed, mixed] {
            let group = try Chatd_V1_CreateGroupRequest(payload: ByteBuffer(bytes: payload))
            #expect(group.userIds == ids)
        }

        // Repeated uint64 inside a nested message (EventPush.event.mentions).
        for mentions in [Wire.packed(12, [5, 6]), Wire.varint(12, 5) + Wire.varint(12, 6)] {
            let push = try Chatd_V1_EventPush(payload: ByteBuffer(bytes: Wire.bytes(1, Wire.varint(1, 3) + mentions)))
            #expect(push.event.mentions == [5, 6])
        }

        // A repeated enum, packed and not.
        for targets in [Wire.packed(19, [1, 2]), Wire.varint(19, 1) + Wire.varint(19, 2)] {
            let options = try Google_Protobuf_FieldOptions(payload: ByteBuffer(bytes: targets))
            #expect(options.targets == [.targetTypeFile, .targetTypeExtensionRange])
        }
    }

    @Test func mapsDecode() throws {
        let entry = Wire.string(1, "n") + Wire.bytes(2, Wire.fixed64(2, UInt64(2.5.bitPattern)))
        let nested = Wire.string(1, "s") + Wire.bytes(2, Wire.bytes(5, Wire.bytes(1, entry)))
        let value = try Google_Protobuf_Struct(payload: ByteBuffer(bytes: Wire.bytes(1, entry) + Wire.bytes(1, nested)))
        #expect(value.fields["n"]?.numberValue == 2.5)
        #expect(value.fields["s"]?.structValue.fields["n"]?.numberValue == 2.5)
    }

    // MARK: Nesting depth (spec/PROTOCOL.md §2.2 rule 7, §10)

    /// A google.protobuf.Value of `levels` levels: Value, ListValue, Value, ...,
    /// the innermost one empty.
    static func nestedValue(levels: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        // Built inside out: level `levels` first. Odd levels are Values (the
        // ListValue below sits in field 6), even ones ListValues (field 1).
        for level in stride(from: levels - 1, through: 1, by: -1) {
            bytes = level % 2 == 1 ? Wire.bytes(6, bytes) : Wire.bytes(1, bytes)
        }
        return bytes
    }

    @Test func theTopLevelMessageIsTheFirstOfSixteenLevels() throws {
        // 16 levels: the payload's own message and 15 nested ones.
        let value = try Google_Protobuf_Value(payload: ByteBuffer(bytes: Self.nestedValue(levels: 16)))
        #expect(value.listValue.values.count == 1)
        #expect(throws: BinaryDecodingError.messageDepthLimit) {
            try Google_Protobuf_Value(payload: ByteBuffer(bytes: Self.nestedValue(levels: 17)))
        }
    }

    @Test func unknownGroupsAreLevelsUnknownMessagesAreNot() throws {
        func groups(_ count: Int) -> [UInt8] {
            (0..<count).reduce([UInt8]()) { inner, _ in Wire.group(1000, inner) }
        }
        let hello = Wire.varint(1, 1) + Wire.string(2, "x")
        // HelloRequest is level 1, so 15 nested groups fit and 16 do not.
        _ = try Chatd_V1_HelloRequest(payload: ByteBuffer(bytes: hello + groups(15)))
        #expect(throws: BinaryDecodingError.messageDepthLimit) {
            try Chatd_V1_HelloRequest(payload: ByteBuffer(bytes: hello + groups(16)))
        }
        // Inside a nested message, the groups start one level further down.
        _ = try Chatd_V1_LoginRequest(payload: ByteBuffer(bytes: Wire.bytes(3, groups(14))))
        #expect(throws: BinaryDecodingError.messageDepthLimit) {
            try Chatd_V1_LoginRequest(payload: ByteBuffer(bytes: Wire.bytes(3, groups(15))))
        }
        // An unknown length-delimited field is skipped unread, whatever it holds.
        let deep = Wire.bytes(1000, Self.nestedValue(levels: 40))
        #expect(try Chatd_V1_HelloRequest(payload: ByteBuffer(bytes: hello + deep)).clientName == "x")
    }
}
