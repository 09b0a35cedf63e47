import Foundation
import NIOCore
import SwiftProtobuf

/// A field the payload's message declares, sent with a wire type its declared
/// type does not use (spec/PROTOCOL.md §2.2 rule 7). SwiftProtobuf keeps such a
/// field as an unknown one and leaves the declared field at its default, so
/// without this check a Hello carrying a Login's bytes would read as version 0.
public struct WrongWireTypeError: Error, Equatable, CustomStringConvertible {
    /// Full protobuf name of the (possibly nested) message declaring the field.
    public let messageName: String
    public let fieldNumber: Int
    /// The wire type the payload used (0 varint, 1 fixed64, 2 length-delimited,
    /// 3 start group, 5 fixed32).
    public let wireType: UInt8
    /// The wire types the declared type allows, in words.
    public let expected: String

    public var description: String {
        "field \(fieldNumber) of \(messageName) has wire type \(wireType); its type is sent as \(expected)"
    }
}

/// Walks a payload's fields once and checks that every field number the
/// message declares, at any depth, arrives with a wire type its declared type
/// uses. Field numbers the message does not declare are skipped whatever their
/// wire type (additive versioning).
///
/// It is a SwiftProtobuf `Decoder` so that the generated `decodeMessage` is the
/// schema: for a declared number it calls the typed method (which names the
/// type, and for messages and maps the nested type), for any other number it
/// calls nothing. No value is stored; the message the walk runs over stays
/// empty. It runs after SwiftProtobuf has decoded the same bytes, so the bytes
/// are well-formed and no deeper than `payloadNestingLimit`; it still checks
/// both itself, so it can never read out of bounds or recurse without end.
///
/// Cost: one pass over the tags, one generated `switch` per field, one empty
/// message per nested message; values are skipped, not copied. Memory: the
/// recursion, at most `payloadNestingLimit` levels.
struct WireTypeChecker: SwiftProtobuf.Decoder {
    /// Checks `payload` against `M`'s declared fields.
    static func check<M: SwiftProtobuf.Message>(_ payload: ByteBuffer, as _: M.Type) throws {
        var checker = WireTypeChecker(fields: payload, messageName: M.protoMessageName, depth: 1)
        var message = M()
        try message.decodeMessage(decoder: &checker)
    }

    /// The protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
    enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// The fields not read yet.
    private var fields: ByteBuffer
    private let messageName: String
    /// Levels entered so far, this message's included: the top-level message
    /// is level 1, as in SwiftProtobuf's `messageDepthLimit`.
    private let depth: Int
    private var fieldNumber = 0
    private var wireType = WireType.varint
    /// False while the current field's value has not been read or skipped.
    private var consumed = true

    private init(fields: ByteBuffer, messageName: String, depth: Int) {
        self.fields = fields
        self.messageName = messageName
        self.depth = depth
    }

    // MARK: Walking

    mutating func nextFieldNumber() throws -> Int? {
        if !consumed {
            // A declared field whose wire type was checked, or a field the
            // message does not declare: either way its value is skipped here.
            try skipValue(wireType, fieldNumber: fieldNumber, depth: depth)
            consumed = true
        }
        guard fields.readableBytes > 0 else { return nil }
        let (number, type) = try readTag()
        guard type != .endGroup else {
            // An end-group tag with no group open: groups are only entered by
            // skipValue, which reads their end tags itself.
            throw BinaryDecodingError.malformedProtobuf
        }
        fieldNumber = number
        wireType = type
        consumed = false
        return number
    }

    mutating func handleConflictingOneOf() throws {}

    /// Throws unless the current field has wire type `type`; the value is
    /// skipped by the next `nextFieldNumber`.
    private func expect(_ type: WireType, _ words: String) throws {
        guard wireType == type else { throw wrongWireType(words) }
    }

    /// Repeated scalars of a varint or fixed type arrive either one element
    /// per field or packed into one length-delimited field; both are valid.
    private func expectRepeated(_ element: WireType, _ words: String) throws {
        guard wireType == element || wireType == .lengthDelimited else {
            throw wrongWireType("\(words) or length-delimited (packed)")
        }
    }

    private func wrongWireType(_ expected: String) -> WrongWireTypeError {
        WrongWireTypeError(
            messageName: messageName, fieldNumber: fieldNumber, wireType: wireType.rawValue, expected: expected)
    }

    /// A declared message field: length-delimited, and its content is checked
    /// against `M`'s own declared fields, one level deeper.
    private mutating func checkMessage<M: SwiftProtobuf.Message>(_: M.Type) throws {
        try expect(.lengthDelimited, "length-delimited (message)")
        let body = try readLengthDelimited()
        guard depth < payloadNestingLimit else { throw BinaryDecodingError.messageDepthLimit }
        var nested = WireTypeChecker(fields: body, messageName: M.protoMessageName, depth: depth + 1)
        var message = M()
        try message.decodeMessage(decoder: &nested)
        consumed = true
    }

    /// A declared map field: each entry is a length-delimited pair of key
    /// (number 1) and value (number 2), checked by `checkEntryField`. Like
    /// SwiftProtobuf, an entry is not a nesting level; a message value is.
    private mutating func checkMapEntry(
        _ checkEntryField: (inout WireTypeChecker, Int) throws -> Void
    ) throws {
        try expect(.lengthDelimited, "length-delimited (map entry)")
        let body = try readLengthDelimited()
        var entry = WireTypeChecker(
            fields: body, messageName: "\(messageName) (map entry of field \(fieldNumber))", depth: depth)
        while let number = try entry.nextFieldNumber() {
            try checkEntryField(&entry, number)
        }
        consumed = true
    }

    // MARK: Reading

    private mutating func readVarint() throws -> UInt64 {
        var value: UInt64 = 0
        // A varint is at most 10 bytes (64 bits, 7 per byte).
        for shift in stride(from: UInt64(0), to: 70, by: 7) {
            guard let byte = fields.readInteger(as: UInt8.self) else { throw BinaryDecodingError.truncated }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
        }
        throw BinaryDecodingError.malformedProtobuf
    }

    private mutating func readTag() throws -> (number: Int, type: WireType) {
        let tag = try readVarint()
        // Field numbers are 1 ... 2^29 - 1, so a tag fits in 32 bits.
        guard tag <= UInt64(UInt32.max), tag >> 3 != 0, let type = WireType(rawValue: UInt8(tag & 7)) else {
            throw BinaryDecodingError.malformedProtobuf
        }
        return (Int(tag >> 3), type)
    }

    private mutating func readLengthDelimited() throws -> ByteBuffer {
        let length = try readVarint()
        guard length <= UInt64(fields.readableBytes), let body = fields.readSlice(length: Int(length)) else {
            throw BinaryDecodingError.truncated
        }
        return body
    }

    private mutating func skip(_ count: Int) throws {
        guard fields.readableBytes >= count else { throw BinaryDecodingError.truncated }
        fields.moveReaderIndex(forwardBy: count)
    }

    /// Skips one value of `type`. A group is skipped to its matching end tag;
    /// it is a nesting level, as in SwiftProtobuf.
    private mutating func skipValue(_ type: WireType, fieldNumber: Int, depth: Int) throws {
        switch type {
        case .varint: _ = try readVarint()
        case .fixed64: try skip(8)
        case .lengthDelimited: _ = try readLengthDelimited()
        case .fixed32: try skip(4)
        case .startGroup:
            guard depth < payloadNestingLimit else { throw BinaryDecodingError.messageDepthLimit }
            while true {
                guard fields.readableBytes > 0 else { throw BinaryDecodingError.truncated }
                let (number, inner) = try readTag()
                if inner == .endGroup {
                    guard number == fieldNumber else { throw BinaryDecodingError.malformedProtobuf }
                    return
                }
                try skipValue(inner, fieldNumber: number, depth: depth + 1)
            }
        case .endGroup: throw BinaryDecodingError.malformedProtobuf
        }
    }
}

// MARK: The typed fields

extension WireTypeChecker {
    mutating func decodeSingularFloatField(value: inout Float) throws { try expect(.fixed32, "fixed32") }
    mutating func decodeSingularFloatField(value: inout Float?) throws { try expect(.fixed32, "fixed32") }
    mutating func decodeRepeatedFloatField(value: inout [Float]) throws { try expectRepeated(.fixed32, "fixed32") }
    mutating func decodeSingularDoubleField(value: inout Double) throws { try expect(.fixed64, "fixed64") }
    mutating func decodeSingularDoubleField(value: inout Double?) throws { try expect(.fixed64, "fixed64") }
    mutating func decodeRepeatedDoubleField(value: inout [Double]) throws { try expectRepeated(.fixed64, "fixed64") }
    mutating func decodeSingularInt32Field(value: inout Int32) throws { try expect(.varint, "varint") }
    mutating func decodeSingularInt32Field(value: inout Int32?) throws { try expect(.varint, "varint") }
    mutating func decodeRepeatedInt32Field(value: inout [Int32]) throws { try expectRepeated(.varint, "varint") }
    mutating func decodeSingularInt64Field(value: inout Int64) throws { try expect(.varint, "varint") }
    mutating func decodeSingularInt64Field(value: inout Int64?) throws { try expect(.varint, "varint") }
    mutating func decodeRepeatedInt64Field(value: inout [Int64]) throws { try expectRepeated(.varint, "varint") }
    mutating func decodeSingularUInt32Field(value: inout UInt32) throws { try expect(.varint, "varint") }
    mutating func decodeSingularUInt32Field(value: inout UInt32?) throws { try expect(.varint, "varint") }
    mutating func decodeRepeatedUInt32Field(value: inout [UInt32]) throws { try expectRepeated(.varint, "varint") }
    mutating func decodeSingularUInt64Field(value: inout UInt64) throws { try expect(.varint, "varint") }
    mutating func decodeSingularUInt64Field(value: inout UInt64?) throws { try expect(.varint, "varint") }
    mutating func decodeRepeatedUInt64Field(value: inout [UInt64]) throws { try expectRepeated(.varint, "varint") }
    mutating func decodeSingularSInt32Field(value: inout Int32) throws { try expect(.varint, "varint") }
    mutating func decodeSingularSInt32Field(value: inout Int32?) throws { try expect(.varint, "varint") }
    mutating func decodeRepeatedSInt32Field(value: inout [Int32]) throws { try expectRepeated(.varint, "varint") }
    mutating func decodeSingularSInt64Field(value: inout Int64) throws { try expect(.varint, "varint") }
    mutating func decodeSingularSInt64Field(value: inout Int64?) throws { try expect(.varint, "varint") }
    mutating func decodeRepeatedSInt64Field(value: inout [Int64]) throws { try expectRepeated(.varint, "varint") }
    mutating func decodeSingularFixed32Field(value: inout UInt32) throws { try expect(.fixed32, "fixed32") }
    mutating func decodeSingularFixed32Field(value: inout UInt32?) throws { try expect(.fixed32, "fixed32") }
    mutating func decodeRepeatedFixed32Field(value: inout [UInt32]) throws { try expectRepeated(.fixed32, "fixed32") }
    mutating func decodeSingularFixed64Field(value: inout UInt64) throws { try expect(.fixed64, "fixed64") }
    mutating func decodeSingularFixed64Field(value: inout UInt64?) throws { try expect(.fixed64, "fixed64") }
    mutating func decodeRepeatedFixed64Field(value: inout [UInt64]) throws { try expectRepeated(.fixed64, "fixed64") }
    mutating func decodeSingularSFixed32Field(value: inout Int32) throws { try expect(.fixed32, "fixed32") }
    mutating func decodeSingularSFixed32Field(value: inout Int32?) throws { try expect(.fixed32, "fixed32") }
    mutating func decodeRepeatedSFixed32Field(value: inout [Int32]) throws { try expectRepeated(.fixed32, "fixed32") }
    mutating func decodeSingularSFixed64Field(value: inout Int64) throws { try expect(.fixed64, "fixed64") }
    mutating func decodeSingularSFixed64Field(value: inout Int64?) throws { try expect(.fixed64, "fixed64") }
    mutating func decodeRepeatedSFixed64Field(value: inout [Int64]) throws { try expectRepeated(.fixed64, "fixed64") }
    mutating func decodeSingularBoolField(value: inout Bool) throws { try expect(.varint, "varint") }
    mutating func decodeSingularBoolField(value: inout Bool?) throws { try expect(.varint, "varint") }
    mutating func decodeRepeatedBoolField(value: inout [Bool]) throws { try expectRepeated(.varint, "varint") }
    mutating func decodeSingularStringField(value: inout String) throws {
        try expect(.lengthDelimited, "length-delimited")
    }
    mutating func decodeSingularStringField(value: inout String?) throws {
        try expect(.lengthDelimited, "length-delimited")
    }
    mutating func decodeRepeatedStringField(value: inout [String]) throws {
        // Strings and bytes are never packed: one length-delimited field each.
        try expect(.lengthDelimited, "length-delimited")
    }
    mutating func decodeSingularBytesField(value: inout Data) throws { try expect(.lengthDelimited, "length-delimited") }
    mutating func decodeSingularBytesField(value: inout Data?) throws {
        try expect(.lengthDelimited, "length-delimited")
    }
    mutating func decodeRepeatedBytesField(value: inout [Data]) throws {
        try expect(.lengthDelimited, "length-delimited")
    }

    mutating func decodeSingularEnumField<E: SwiftProtobuf.Enum>(value: inout E) throws where E.RawValue == Int {
        try expect(.varint, "varint (enum)")
    }
    mutating func decodeSingularEnumField<E: SwiftProtobuf.Enum>(value: inout E?) throws where E.RawValue == Int {
        try expect(.varint, "varint (enum)")
    }
    mutating func decodeRepeatedEnumField<E: SwiftProtobuf.Enum>(value: inout [E]) throws where E.RawValue == Int {
        try expectRepeated(.varint, "varint (enum)")
    }

    mutating func decodeSingularMessageField<M: SwiftProtobuf.Message>(value: inout M?) throws {
        try checkMessage(M.self)
    }
    mutating func decodeRepeatedMessageField<M: SwiftProtobuf.Message>(value: inout [M]) throws {
        try checkMessage(M.self)
    }

    // proto3 (chat.proto, control.proto) cannot declare groups; a declared
    // group field is still held to its wire type, and its content is skipped
    // like an unknown group's.
    mutating func decodeSingularGroupField<G: SwiftProtobuf.Message>(value: inout G?) throws {
        try expect(.startGroup, "start group")
    }
    mutating func decodeRepeatedGroupField<G: SwiftProtobuf.Message>(value: inout [G]) throws {
        try expect(.startGroup, "start group")
    }

    mutating func decodeMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type,
        value: inout _ProtobufMap<KeyType, ValueType>.BaseType
    ) throws {
        try checkMapEntry { entry, number in
            switch number {
            case 1:
                var key: KeyType.BaseType?
                try KeyType.decodeSingular(value: &key, from: &entry)
            case 2:
                var value: ValueType.BaseType?
                try ValueType.decodeSingular(value: &value, from: &entry)
            default: break
            }
        }
    }

    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
        value: inout _ProtobufEnumMap<KeyType, ValueType>.BaseType
    ) throws where ValueType.RawValue == Int {
        try checkMapEntry { entry, number in
            switch number {
            case 1:
                var key: KeyType.BaseType?
                try KeyType.decodeSingular(value: &key, from: &entry)
            case 2:
                var value: ValueType?
                try entry.decodeSingularEnumField(value: &value)
            default: break
            }
        }
    }

    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
        value: inout _ProtobufMessageMap<KeyType, ValueType>.BaseType
    ) throws {
        try checkMapEntry { entry, number in
            switch number {
            case 1:
                var key: KeyType.BaseType?
                try KeyType.decodeSingular(value: &key, from: &entry)
            case 2:
                var value: ValueType?
                try entry.decodeSingularMessageField(value: &value)
            default: break
            }
        }
    }

    // proto3 messages declare no extension ranges, so this is never called
    // for chatd's payloads; an extension field is skipped like an unknown one.
    mutating func decodeExtensionField(
        values: inout ExtensionFieldValueSet, messageType: any SwiftProtobuf.Message.Type, fieldNumber: Int
    ) throws {}
}
