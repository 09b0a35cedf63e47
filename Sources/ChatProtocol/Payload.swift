import NIOCore
import SwiftProtobuf

// Short names for the generated payload types.

/// Most levels of nesting a payload may have (spec/PROTOCOL.md §10): the
/// payload's own message is level 1, each message field inside it and each
/// group (unknown ones included: they are skipped level by level) one more.
/// A length-delimited field the message does not declare is skipped unread, so
/// it is no level whatever it holds. No chatd message has more than 4 levels
/// (SyncResponse); the bound keeps recursion small whatever a peer sends.
let payloadNestingLimit = 16

/// Decoding limits applied to every payload. The frame cap already bounds the
/// bytes; this bounds nesting. Unknown fields are dropped while decoding; the
/// wire-type check walks the bytes again instead of keeping them.
let payloadDecodingOptions: BinaryDecodingOptions = {
    var options = BinaryDecodingOptions()
    options.messageDepthLimit = payloadNestingLimit
    options.discardUnknownFields = true
    return options
}()

extension SwiftProtobuf.Message {
    /// Decodes a payload in place (no copy of the bytes), strictly: besides
    /// SwiftProtobuf's own checks (truncation, UTF-8, nesting), a field the
    /// message declares, at any depth, must arrive with the wire type of its
    /// declared type (packed or not for repeated scalars); otherwise this
    /// throws `WrongWireTypeError`. Undeclared field numbers are ignored.
    public init(payload: ByteBuffer) throws {
        try self.init(serializedBytes: payload.readableBytesSpan, options: payloadDecodingOptions)
        try WireTypeChecker.check(payload, as: Self.self)
    }

    /// Serialises into a new buffer.
    public func payloadBuffer(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        // Serialising a fully built message cannot fail (no required fields in proto3).
        let bytes: [UInt8] = (try? self.serializedBytes()) ?? []
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return buffer
    }
}

extension Frame {
    public static func response(op: UInt16, id: UInt32, _ message: some SwiftProtobuf.Message) -> Frame {
        Frame(kind: .response, op: op, id: id, payload: message.payloadBuffer())
    }

    public static func push(_ type: PushType, _ message: some SwiftProtobuf.Message) -> Frame {
        Frame(kind: .push, op: type.rawValue, id: 0, payload: message.payloadBuffer())
    }

    public static func error(
        op: UInt16, id: UInt32, code: ErrorCode, message: String, retryAfterMs: UInt32 = 0, field: String = ""
    ) -> Frame {
        var body = Chatd_V1_ErrorResponse()
        body.code = code.rawValue
        body.message = message
        body.retryAfterMs = retryAfterMs
        body.field = field
        return Frame(kind: .error, op: op, id: id, payload: body.payloadBuffer())
    }
}
