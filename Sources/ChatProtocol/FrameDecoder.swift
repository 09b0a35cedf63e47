import NIOCore

/// What the decoder hands to the next handler.
public enum InboundFrame: Sendable, Equatable {
    /// A well-formed frame (its kind, flags and op still need checking).
    case frame(Frame)
    /// A frame whose length field exceeded the maximum. Its header is reported
    /// so the peer can be answered with `too_large` for that id; the payload is
    /// skipped without ever being buffered, so the stream stays usable.
    case oversized(kind: UInt8, op: UInt16, id: UInt32, length: UInt32)
    /// The stream can no longer be parsed (a length field below the header
    /// size). Nothing after this is decoded; the connection must be closed.
    case malformed(length: UInt32)
}

/// Splits a byte stream into frames, resumable at any byte boundary.
///
/// Bounds (spec/PROTOCOL.md §2):
/// - the length field is checked against `maxFrameLength` before a single
///   payload byte is buffered, so a peer cannot make the server allocate more
///   than `maxFrameLength + 12` bytes per connection;
/// - a length below 8 cannot hold the rest of the header: the stream is broken.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = InboundFrame

    public let maxFrameLength: Int
    private var state: State = .header

    private enum State: Sendable {
        case header
        /// Discarding the payload of an oversized frame.
        case skipping(remaining: Int)
        /// Stream broken; everything is dropped.
        case failed
    }

    public init(maxFrameLength: Int) {
        precondition(maxFrameLength >= Frame.headerRestLength, "max frame length below header size")
        self.maxFrameLength = maxFrameLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let result = decodeNext(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(result))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A truncated frame at EOF is simply dropped: the peer is gone.
        guard let result = decodeNext(&buffer) else {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(result))
        return .continue
    }

    /// Decodes at most one item from `buffer`; nil when more bytes are needed.
    /// Usable without a channel (tests, fuzzers, the client).
    public mutating func decodeNext(_ buffer: inout ByteBuffer) -> InboundFrame? {
        while true {
            switch state {
            case .failed:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return nil

            case .skipping(let remaining):
                let n = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: n)
                if n == remaining {
                    state = .header
                    continue
                }
                state = .skipping(remaining: remaining - n)
                return nil

            case .header:
                guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
                if length < UInt32(Frame.headerRestLength) {
                    state = .failed
                    buffer.moveReaderIndex(to: buffer.writerIndex)
                    return .malformed(length: length)
                }
                if Int(length) > maxFrameLength {
                    // Need the header rest to answer with the request id.
                    guard buffer.readableBytes >= Frame.headerLength,
                        let kind = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self),
                        let op = buffer.getInteger(at: buffer.readerIndex + 6, as: UInt16.self),
                        let id = buffer.getInteger(at: buffer.readerIndex + 8, as: UInt32.self)
                    else { return nil }
                    buffer.moveReaderIndex(forwardBy: Frame.headerLength)
                    state = .skipping(remaining: Int(length) - Frame.headerRestLength)
                    return .oversized(kind: kind, op: op, id: id, length: length)
                }
                guard buffer.readableBytes >= 4 + Int(length) else { return nil }
                buffer.moveReaderIndex(forwardBy: 4)
                guard let kind = buffer.readInteger(as: UInt8.self),
                    let flags = buffer.readInteger(as: UInt8.self),
                    let op = buffer.readInteger(as: UInt16.self),
                    let id = buffer.readInteger(as: UInt32.self),
                    let payload = buffer.readSlice(length: Int(length) - Frame.headerRestLength)
                else {
                    // Unreachable: readable bytes were checked above.
                    state = .failed
                    return .malformed(length: length)
                }
                return .frame(Frame(rawKind: kind, flags: flags, op: op, id: id, payload: payload))
            }
        }
    }
}

/// Frames out of reads however TCP cut them, for a handler that decodes
/// itself (the server's connection handler): only the bytes of a frame not
/// yet complete stay between reads, none between frames.
public struct FrameAssembler: Sendable {
    private var decoder: FrameDecoder
    /// The bytes received and not yet decoded; nil when there are none.
    public private(set) var pending: ByteBuffer?

    public init(maxFrameLength: Int) { decoder = FrameDecoder(maxFrameLength: maxFrameLength) }

    /// Adds a read's bytes after those pending. What was decoded already is
    /// dropped first: a peer whose every read ends inside a frame keeps at
    /// most a frame and a read here, not all it ever sent.
    public mutating func append(_ read: ByteBuffer) {
        guard var buffer = pending else {
            pending = read
            return
        }
        pending = nil  // so the buffer is unique unless frames still use its bytes
        var read = read
        buffer.discardReadBytes()
        buffer.writeBuffer(&read)
        pending = buffer
    }

    /// The next frame, oversized header or broken stream; nil until more bytes arrive.
    public mutating func next() -> InboundFrame? {
        guard var buffer = pending else { return nil }
        pending = nil
        let item = decoder.decodeNext(&buffer)
        if buffer.readableBytes > 0 { pending = buffer }
        return item
    }
}
