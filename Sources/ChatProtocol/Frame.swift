import NIOCore

/// Frame kinds (header byte 4). See spec/PROTOCOL.md §2.
public enum FrameKind: UInt8, Sendable, CaseIterable {
    case request = 1
    case response = 2
    case error = 3
    case push = 4
}

/// One protocol frame, both directions:
///
///     u32 length | u8 kind | u8 flags | u16 op | u32 id | payload
///
/// `length` counts every byte after itself. `kind` is kept raw so that a frame
/// with an unknown kind still reaches the handler, which answers it with
/// `bad_frame` instead of dropping the connection.
public struct Frame: Sendable, Equatable {
    public var rawKind: UInt8
    public var flags: UInt8
    public var op: UInt16
    public var id: UInt32
    public var payload: ByteBuffer

    public var kind: FrameKind? { FrameKind(rawValue: rawKind) }

    public init(kind: FrameKind, flags: UInt8 = 0, op: UInt16, id: UInt32, payload: ByteBuffer) {
        self.init(rawKind: kind.rawValue, flags: flags, op: op, id: id, payload: payload)
    }

    public init(rawKind: UInt8, flags: UInt8, op: UInt16, id: UInt32, payload: ByteBuffer) {
        self.rawKind = rawKind
        self.flags = flags
        self.op = op
        self.id = id
        self.payload = payload
    }

    /// Bytes of the header after the length field: kind, flags, op, id.
    public static let headerRestLength = 8
    /// Length field plus the rest of the header.
    public static let headerLength = 4 + headerRestLength

    /// The value the length field carries for this frame.
    public var lengthField: Int { Frame.headerRestLength + payload.readableBytes }

    /// Appends the whole frame (length field included) to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: Frame.headerLength + payload.readableBytes)
        writeHeader(into: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
    }

    private func writeHeader(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(lengthField))
        buffer.writeInteger(rawKind)
        buffer.writeInteger(flags)
        buffer.writeInteger(op)
        buffer.writeInteger(id)
    }

    /// The most bytes of one piece of `encodedPieces`. A power of two: NIO
    /// rounds a buffer's storage up to one, so a single buffer for an 800 KB
    /// frame would hold 1 MiB while an outbound budget counting readable bytes
    /// sees 800 KB. Pieces of this size hold what they count, give or take
    /// the last one's rounding.
    public static let pieceBytes = 64 << 10

    /// The whole frame as consecutive buffers of at most `pieceBytes` each
    /// (one buffer when it fits), handed to `body` in order. Written one after
    /// the other, they are the same bytes as `encoded()`.
    public func encodedPieces(allocator: ByteBufferAllocator = ByteBufferAllocator(), _ body: (ByteBuffer) -> Void) {
        var rest = payload
        var piece = allocator.buffer(capacity: min(Frame.headerLength + rest.readableBytes, Frame.pieceBytes))
        writeHeader(into: &piece)
        while true {
            let n = min(Frame.pieceBytes - piece.readableBytes, rest.readableBytes)
            if n > 0, var slice = rest.readSlice(length: n) { piece.writeBuffer(&slice) }
            body(piece)
            if rest.readableBytes == 0 { return }
            piece = allocator.buffer(capacity: min(rest.readableBytes, Frame.pieceBytes))
        }
    }

    /// The whole frame as one buffer.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: Frame.headerLength + payload.readableBytes)
        write(into: &buffer)
        return buffer
    }
}

/// Encodes outbound frames for a NIO pipeline.
public struct FrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = Frame
    public init() {}
    public func encode(data: Frame, out: inout ByteBuffer) {
        data.write(into: &out)
    }
}
