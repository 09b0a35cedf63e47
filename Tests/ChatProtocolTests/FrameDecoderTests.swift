import ChatProtocol
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing

struct FrameDecoderTests {
    func frame(op: UInt16, id: UInt32, payload: [UInt8], kind: FrameKind = .request) -> Frame {
        Frame(kind: kind, op: op, id: id, payload: ByteBuffer(bytes: payload))
    }

    @Test func survivesAnySplitAndBatching() throws {
        let frames = (0..<20).map { i in
            frame(op: UInt16(i % 5 + 1), id: UInt32(i), payload: Array(repeating: UInt8(i), count: i * 7))
        }
        let pairs = frames.map { f -> (ByteBuffer, [InboundFrame]) in (f.encoded(), [.frame(f)]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            FrameDecoder(maxFrameLength: 4096)
        }
    }

    @Test func byteAtATime() {
        let f = frame(op: 40, id: 7, payload: Array("hello".utf8))
        let bytes = Array(f.encoded().readableBytesView)
        var decoder = FrameDecoder(maxFrameLength: 1024)
        var buffer = ByteBuffer()
        var results: [InboundFrame] = []
        for b in bytes {
            buffer.writeInteger(b)
            while let r = decoder.decodeNext(&buffer) { results.append(r) }
        }
        #expect(results == [.frame(f)])
    }

    @Test func manyFramesInOneRead() {
        var buffer = ByteBuffer()
        let frames = (1...100).map { frame(op: 2, id: UInt32($0), payload: []) }
        for f in frames { f.write(into: &buffer) }
        var decoder = FrameDecoder(maxFrameLength: 1024)
        var results: [InboundFrame] = []
        while let r = decoder.decodeNext(&buffer) { results.append(r) }
        #expect(results == frames.map { .frame($0) })
    }

    /// The length limit at N (accepted) and N+1 (refused, skipped, stream intact).
    @Test func maxFrameLengthAtNAndNPlusOne() {
        let max = 64
        let atLimit = frame(op: 40, id: 1, payload: Array(repeating: 0xAB, count: max - Frame.headerRestLength))
        let overLimit = frame(op: 40, id: 2, payload: Array(repeating: 0xCD, count: max - Frame.headerRestLength + 1))
        let after = frame(op: 2, id: 3, payload: [])
        #expect(atLimit.lengthField == max)
        #expect(overLimit.lengthField == max + 1)

        var buffer = ByteBuffer()
        atLimit.write(into: &buffer)
        overLimit.write(into: &buffer)
        after.write(into: &buffer)
        var decoder = FrameDecoder(maxFrameLength: max)
        var results: [InboundFrame] = []
        while let r = decoder.decodeNext(&buffer) { results.append(r) }
        #expect(
            results == [
                .frame(atLimit), .oversized(kind: 1, op: 40, id: 2, length: UInt32(max + 1)), .frame(after),
            ])
    }

    /// An oversized frame is reported from its header alone: the payload is
    /// never buffered, however it arrives.
    @Test func oversizedFrameIsNotBuffered() {
        var decoder = FrameDecoder(maxFrameLength: 1024)
        var header = ByteBuffer()
        header.writeInteger(UInt32(0xFFFF_FFF0))
        header.writeInteger(UInt8(1))
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt16(40))
        header.writeInteger(UInt32(99))
        #expect(decoder.decodeNext(&header) == .oversized(kind: 1, op: 40, id: 99, length: 0xFFFF_FFF0))
        // Feed 1 MiB of junk: all of it is consumed and dropped.
        var junk = ByteBuffer(repeating: 0x41, count: 1 << 20)
        #expect(decoder.decodeNext(&junk) == nil)
        #expect(junk.readableBytes == 0)
    }

    @Test func lengthBelowHeaderIsMalformedAndFinal() {
        for length in UInt32(0)..<UInt32(Frame.headerRestLength) {
            var buffer = ByteBuffer()
            buffer.writeInteger(length)
            buffer.writeBytes(Array(repeating: 0, count: 20))
            var decoder = FrameDecoder(maxFrameLength: 1024)
            #expect(decoder.decodeNext(&buffer) == .malformed(length: length))
            var more = frame(op: 1, id: 1, payload: []).encoded()
            #expect(decoder.decodeNext(&more) == nil, "nothing decodes after a malformed frame")
        }
        // N = 8 is the smallest valid length (empty payload).
        var ok = ByteBuffer()
        frame(op: 2, id: 5, payload: []).write(into: &ok)
        var decoder = FrameDecoder(maxFrameLength: 1024)
        #expect(decoder.decodeNext(&ok) == .frame(frame(op: 2, id: 5, payload: [])))
    }

    @Test func truncatedHeaderWaits() {
        var buffer = ByteBuffer(bytes: [0, 0, 0])
        var decoder = FrameDecoder(maxFrameLength: 1024)
        #expect(decoder.decodeNext(&buffer) == nil)
        #expect(buffer.readableBytes == 3)
    }

    @Test func headerFieldsAreBigEndian() {
        let f = Frame(kind: .push, flags: 0, op: 0x0102, id: 0x0304_0506, payload: ByteBuffer(bytes: [0xFF]))
        #expect(Array(f.encoded().readableBytesView) == [0, 0, 0, 9, 4, 0, 1, 2, 3, 4, 5, 6, 0xFF])
    }

    @Test(arguments: [0, 1, Frame.pieceBytes - Frame.headerLength, Frame.pieceBytes - Frame.headerLength + 1, 3 * Frame.pieceBytes + 5])
    func piecesAreTheEncodedBytesInBuffersThatHoldWhatTheyCount(payloadBytes: Int) {
        let f = frame(op: 41, id: 9, payload: (0..<payloadBytes).map { UInt8(truncatingIfNeeded: $0 &* 7) }, kind: .response)
        var pieces: [ByteBuffer] = []
        f.encodedPieces { pieces.append($0) }
        #expect(pieces.flatMap { Array($0.readableBytesView) } == Array(f.encoded().readableBytesView))
        #expect(pieces.count == max(1, (Frame.headerLength + payloadBytes + Frame.pieceBytes - 1) / Frame.pieceBytes))
        // Every piece but the last is full, and its storage is exactly what it holds.
        for piece in pieces.dropLast() {
            #expect(piece.readableBytes == Frame.pieceBytes && piece.capacity == Frame.pieceBytes)
        }
        // The last one's storage is at most twice its bytes (NIO's power-of-two rounding) and never a piece more.
        if let last = pieces.last {
            #expect(last.capacity <= max(16, 2 * last.readableBytes) && last.capacity <= Frame.pieceBytes)
        }
    }

    @Test func randomInputNeverCrashesOrGrows() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var decoder = FrameDecoder(maxFrameLength: 256)
            let count = Int.random(in: 0..<600, using: &generator)
            var buffer = ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var n = 0
            while let result = decoder.decodeNext(&buffer) {
                if case .frame(let f) = result { #expect(f.lengthField <= 256) }
                n += 1
                if n > 1000 { break }
            }
            #expect(buffer.readableBytes < 256 + 4)
        }
    }
}

/// The connection handler's reassembly across reads.
struct FrameAssemblerTests {
    /// Small frames in reads that all end inside a frame: what is kept
    /// between reads stays about one read, however long the stream.
    /// (Appending without dropping the decoded bytes kept all of it: about
    /// 4 MiB after these 1,000 reads, and without bound.)
    @Test func keepsAFrameAndAReadNotTheWholeStream() {
        let one = Array(Frame(kind: .request, op: 2, id: 1, payload: ByteBuffer(bytes: [1, 2, 3])).encoded().readableBytesView)
        var stream: [UInt8] = []
        while stream.count < 4096 * 1000 { stream += one }
        var assembler = FrameAssembler(maxFrameLength: 1024)
        var frames = 0
        var largest = 0
        var offset = 0
        while offset + 4096 <= stream.count {
            // Never on a frame boundary, as a peer can arrange.
            let end = (offset + 4096) % one.count == 0 ? offset + 4095 : offset + 4096
            assembler.append(ByteBuffer(bytes: stream[offset..<end]))
            offset = end
            while let item = assembler.next() {
                if case .frame = item { frames += 1 }
            }
            largest = max(largest, assembler.pending?.capacity ?? 0)
        }
        #expect(frames == offset / one.count)
        #expect(largest <= 2 * 4096, "kept \(largest) bytes between reads")
    }

    /// Frames split at every byte, and several in one read, come out whole
    /// and in order; nothing is kept once the last one is complete.
    @Test func reassemblesSplitAndJoinedFrames() {
        let frames = (0..<5).map { i in
            Frame(kind: .request, op: UInt16(i + 1), id: UInt32(i), payload: ByteBuffer(bytes: Array(repeating: UInt8(i), count: i * 9)))
        }
        let bytes = frames.flatMap { Array($0.encoded().readableBytesView) }
        var assembler = FrameAssembler(maxFrameLength: 1024)
        var out: [InboundFrame] = []
        for byte in bytes.prefix(20) {
            assembler.append(ByteBuffer(bytes: [byte]))
            while let item = assembler.next() { out.append(item) }
        }
        assembler.append(ByteBuffer(bytes: bytes.dropFirst(20)))
        while let item = assembler.next() { out.append(item) }
        #expect(out == frames.map { .frame($0) })
        #expect(assembler.pending == nil)
    }
}
