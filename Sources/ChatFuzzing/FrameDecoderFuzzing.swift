import ChatProtocol
import NIOCore
import NIOEmbedded

/// One fuzz input through `FrameDecoder`, split into reads where the input
/// says, the way a socket delivers bytes:
///
///     byte 0        frame cap: maxFrameLength = 8 + 16 * byte (8...4088)
///     byte 1        low 4 bits: n, the number of split points
///     n bytes       the sizes of the first n reads (0 is an empty read)
///     the rest      the byte stream (its remainder is the last read)
///
/// The decoder runs three ways: on the whole stream at once, read by read
/// with `decodeNext`, and read by read inside NIO's `ByteToMessageHandler`
/// on an `EmbeddedChannel` (the server's pipeline, with `decodeLast` at
/// EOF). All three must give the same items, every item must respect the
/// cap, and every frame must re-encode to bytes that decode to itself.
public enum FrameDecoderFuzzing {
    public struct Input: Sendable {
        public var maxFrameLength: Int
        public var reads: [[UInt8]]
    }

    public static func parse(_ input: [UInt8]) -> Input? {
        guard input.count >= 2 else { return nil }
        let cap = Frame.headerRestLength + 16 * Int(input[0])
        let splits = Int(input[1] & 0x0f)
        guard input.count >= 2 + splits else { return nil }
        var stream = input[(2 + splits)...]
        var reads: [[UInt8]] = []
        for size in input[2..<(2 + splits)] {
            let n = min(Int(size), stream.count)
            reads.append(Array(stream.prefix(n)))
            stream = stream.dropFirst(n)
        }
        reads.append(Array(stream))
        return Input(maxFrameLength: cap, reads: reads)
    }

    /// nil when every property holds, else what broke.
    public static func check(_ bytes: [UInt8]) -> String? {
        guard let input = parse(bytes) else { return nil }
        let cap = input.maxFrameLength
        let whole = decode([input.reads.flatMap { $0 }], cap: cap)
        let split = decode(input.reads, cap: cap)
        guard split == whole else { return "split reads gave \(split), one read gave \(whole)" }
        switch pipeline(input.reads, cap: cap) {
        case .success(let items):
            guard items == whole else { return "ByteToMessageHandler gave \(items), decodeNext gave \(whole)" }
        case .failure(let error):
            return "ByteToMessageHandler threw \(error)"
        }
        for (index, item) in whole.enumerated() {
            switch item {
            case .frame(let frame):
                guard frame.lengthField <= cap else { return "frame of length \(frame.lengthField) passed cap \(cap)" }
                let again = decode([Array(frame.encoded().readableBytesView)], cap: cap)
                guard again == [item] else { return "\(frame) re-encoded decodes as \(again)" }
            case .oversized(_, _, _, let length):
                guard Int(length) > cap else { return "oversized length \(length) within cap \(cap)" }
            case .malformed(let length):
                guard Int(length) < Frame.headerRestLength else { return "malformed length \(length) is a valid length" }
                guard index == whole.count - 1 else { return "items after a malformed stream: \(whole)" }
            }
        }
        return nil
    }

    /// decodeNext over a buffer that accumulates the reads, as
    /// ByteToMessageHandler's cumulation buffer does.
    static func decode(_ reads: [[UInt8]], cap: Int) -> [InboundFrame] {
        var decoder = FrameDecoder(maxFrameLength: cap)
        var buffer = ByteBuffer()
        var items: [InboundFrame] = []
        for read in reads {
            buffer.writeBytes(read)
            while let item = decoder.decodeNext(&buffer) { items.append(item) }
            buffer.discardReadBytes()
        }
        return items
    }

    static func pipeline(_ reads: [[UInt8]], cap: Int) -> Result<[InboundFrame], any Error> {
        let channel = EmbeddedChannel()
        let collector = Collector()
        do {
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(FrameDecoder(maxFrameLength: cap)), collector,
            ])
            for read in reads { try channel.writeInbound(ByteBuffer(bytes: read)) }
            // EOF: ByteToMessageHandler runs decodeLast.
            _ = try channel.finish(acceptAlreadyClosed: true)
            return .success(collector.items)
        } catch {
            return .failure(error)
        }
    }

    /// The handler after the decoder: keeps what reaches it.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = InboundFrame
        var items: [InboundFrame] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            items.append(unwrapInboundIn(data))
        }
    }
}
