import NIOCore
import SwiftProtobuf

/// Short names for the generated payload types.

/// Decoding limits applied to every payload. The frame cap already bounds the
/// bytes; this bounds nesting.
let payloadDecodingOptions: BinaryDecodingOptions = {
    var options = BinaryDecodingOptions()
    options.messageDepthLimit = 16
    options.discardUnknownFields = true
    return options
}()

extension SwiftProtobuf.Message {
    /// Decodes a payload in place (no copy of the bytes).
    public init(payload: ByteBuffer) throws {
        try self.init(serializedBytes: payload.readableBytesSpan, options: payloadDecodingOptions)
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
