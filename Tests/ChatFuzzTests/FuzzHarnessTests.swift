import ChatCore
import ChatFuzzing
import ChatProtocol
import Foundation
import Testing

/// The fuzz harnesses run in the normal test suite too, on their seeds:
/// they compile and work without the sanitizers, and every op is answered.
struct FuzzHarnessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func corpus(_ target: String) throws -> [(String, [UInt8])] {
        let dir = root.appendingPathComponent("Tests/FuzzCorpus/\(target)")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map {
            ($0, try Array(Data(contentsOf: dir.appendingPathComponent($0))))
        }
    }

    /// The frames of spec/vectors/vectors.json: (name, kind, bytes).
    static func vectors() throws -> [(String, Int, [UInt8])] {
        let data = try Data(contentsOf: root.appendingPathComponent("spec/vectors/vectors.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let vectors = try #require(json["vectors"] as? [[String: Any]])
        return try vectors.map { v in
            let hex = try #require(v["hex"] as? String)
            let bytes = stride(from: 0, to: hex.count, by: 2).compactMap { i -> UInt8? in
                let start = hex.index(hex.startIndex, offsetBy: i)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
            }
            return (v["name"] as? String ?? "?", v["kind"] as? Int ?? 0, bytes)
        }
    }

    @Test func frameDecoderSeeds() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count >= 10)
        for (name, _, frame) in vectors {
            #expect(FrameDecoderFuzzing.check([0xff, 0x00] + frame) == nil, "\(name)")
            #expect(FrameDecoderFuzzing.check([0x04, 0x03, 5, 1, 7] + frame) == nil, "\(name), cap 72, split")
        }
        let stream = vectors.flatMap { $0.2 }
        #expect(FrameDecoderFuzzing.check([0x20, 0x06, 11, 12, 1, 0, 64, 3] + stream) == nil)
        #expect(FrameDecoderFuzzing.check([0xff, 0x00, 0, 0, 0, 3] + stream) == nil, "malformed length first")
    }

    @Test func frameDecoderInputLayout() throws {
        let input = try #require(FrameDecoderFuzzing.parse([1, 0x22, 2, 1, 9, 8, 7, 6, 5]))
        #expect(input.maxFrameLength == 24)
        #expect(input.reads == [[9, 8], [7], [6, 5]])
    }

    @Test func searchQuerySeeds() throws {
        for (name, bytes) in try Self.corpus("FuzzSearchQuery") {
            #expect(SearchQueryFuzzing.check(bytes) == nil, "\(name)")
        }
    }

    @Test func configSeeds() throws {
        var seeds = try Self.corpus("FuzzConfig")
        seeds.append(("chatd.conf.example", try Array(Data(contentsOf: Self.root.appendingPathComponent("chatd.conf.example")))))
        for (name, bytes) in seeds {
            #expect(ConfigFuzzing.check(bytes) == nil, "\(name)")
        }
    }

    /// Every op, with an empty payload, a small one and garbage, as alice
    /// and as bob: answered for its op and id, never `internal` (Hello and
    /// Typing excepted: the connection handler answers those). Then every
    /// request vector.
    @Test func clientRouterAnswersEveryOp() async throws {
        let world = try await FuzzWorld.make()
        defer { world.close() }
        let payloads: [[UInt8]] = [[], [0x08, 0x01], [0x0a, 0x05] + Array("alice".utf8), [0xff, 0xff, 0xff]]
        for op in Op.allCases {
            for bob in [false, true] {
                for payload in payloads {
                    let selector = op.rawValue | (bob ? 0x8000 : 0)
                    let input = [UInt8(selector >> 8), UInt8(selector & 0xff)] + payload
                    let answer = try #require(await ClientRouterFuzzing.run(input, in: world))
                    #expect(answer.op == op.rawValue && answer.id == ClientRouterFuzzing.requestID, "\(op)")
                    #expect(!ClientRouterFuzzing.isUnexpectedInternal(answer), "\(op) \(payload)")
                }
            }
        }
        for (name, kind, frame) in try Self.vectors() where kind == 1 {
            let answer = try #require(await ClientRouterFuzzing.run(Array(frame[6..<8]) + frame[12...], in: world))
            #expect(!ClientRouterFuzzing.isUnexpectedInternal(answer), "\(name)")
        }
    }

    @Test func clientRouterSelectsOps() throws {
        #expect(ClientRouterFuzzing.select([0x00, 0x28])?.op == .sendMessage)
        #expect(ClientRouterFuzzing.select([0x80, 0x28])?.session == 1)
        #expect(ClientRouterFuzzing.select([0x00, 0x03])?.op == Op.allCases[3])
        #expect(ClientRouterFuzzing.select([0x00]) == nil)
    }

    @Test func controlRouterAnswersEveryOp() async throws {
        let world = try await FuzzWorld.make()
        defer { world.close() }
        let alice: [UInt8] = [0x0a, 0x07, 0x12, 0x05] + Array("alice".utf8)
        let payloads: [[UInt8]] = [[], [0x08, 0x01], alice, [0xff, 0xff, 0xff]]
        for op in ControlOp.allCases {
            for payload in payloads {
                let input = [UInt8(op.rawValue >> 8), UInt8(op.rawValue & 0xff)] + payload
                let answer = try #require(await ControlRouterFuzzing.run(input, in: world))
                #expect(answer.op == op.rawValue && answer.id == ControlRouterFuzzing.requestID, "\(op)")
                #expect(!ControlRouterFuzzing.isUnexpectedInternal(answer), "\(op) \(payload)")
            }
        }
    }
}
