import ChatCore
import Synchronization
import Testing

struct ByteRangesTests {
    @Test func insertMergesTouchingAndOverlappingRanges() {
        var r = ByteRanges()
        r.insert(start: 10, end: 20)
        r.insert(start: 30, end: 40)
        #expect(r.description == "10-20,30-40" && r.count == 20)
        r.insert(start: 20, end: 25)  // touching: merged
        #expect(r.description == "10-25,30-40")
        r.insert(start: 0, end: 5)
        #expect(r.description == "0-5,10-25,30-40")
        r.insert(start: 3, end: 35)  // spans everything in between
        #expect(r.description == "0-40" && r.covers(size: 40) && !r.covers(size: 41))
        r.insert(start: 50, end: 50)  // empty: ignored
        #expect(r.ranges.count == 1)
    }

    @Test func overlapsListTheCoveredPartsOfARange() {
        var r = ByteRanges()
        r.insert(start: 0, end: 10)
        r.insert(start: 20, end: 30)
        #expect(r.overlaps(start: 5, end: 25) == [.init(start: 5, end: 10), .init(start: 20, end: 25)])
        #expect(r.overlaps(start: 10, end: 20).isEmpty)
    }

    @Test func storedFormRoundTripsAndRejectsDisorder() {
        var r = ByteRanges()
        r.insert(start: 0, end: 4096)
        r.insert(start: 8192, end: 9000)
        #expect(ByteRanges(parsing: r.description) == r)
        #expect(ByteRanges(parsing: "") == ByteRanges())
        for bad in ["5-3", "0-10,5-20", "x-1", "0-10,", "-1-4", "0-10,10-20"] {
            #expect(ByteRanges(parsing: bad) == nil, "\(bad)")
        }
    }
}

struct ContentPolicyTests {
    let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
    let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0]
    let policy = ContentPolicy(allowed: ContentPolicy.defaultAllowed + ["application/octet-stream"])

    func kind(_ body: () throws -> Void) -> ChatFailure.Kind? {
        do {
            try body()
            return nil
        } catch {
            return (error as? ChatFailure)?.kind
        }
    }

    @Test func declaredTypeMustMatchTheLeadingBytes() {
        #expect(kind { try policy.check(declared: "image/png", head: png) } == nil)
        #expect(kind { try policy.check(declared: "IMAGE/PNG; charset=x", head: png) } == nil)
        #expect(kind { try policy.check(declared: "image/jpeg", head: png) } == .unsupportedType)
        #expect(kind { try policy.check(declared: "image/png", head: elf) } == .unsupportedType)
        #expect(kind { try policy.check(declared: "image/png", head: Array("hello".utf8)) } == .unsupportedType)
        #expect(kind { try policy.check(declared: "image/jpg", head: [0xFF, 0xD8, 0xFF, 0xE0]) } == nil)
        // Office documents are zip files.
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        #expect(kind { try policy.check(declared: docx, head: [0x50, 0x4B, 0x03, 0x04]) } == nil)
    }

    @Test func textMustBeUTF8AndOctetStreamMustNotHideADisallowedType() {
        #expect(kind { try policy.check(declared: "text/plain", head: Array("héllo wörld\n".utf8)) } == nil)
        // A multi-byte character cut at the end of the sniffed head is fine.
        #expect(kind { try policy.check(declared: "text/plain", head: Array("ab€".utf8).dropLast()) } == nil)
        #expect(kind { try policy.check(declared: "text/plain", head: [0x41, 0x00, 0x42]) } == .unsupportedType)
        #expect(kind { try policy.check(declared: "text/plain", head: [0xC3, 0x28]) } == .unsupportedType)
        #expect(kind { try policy.check(declared: "application/octet-stream", head: [1, 2, 3]) } == nil)
        #expect(kind { try policy.check(declared: "application/octet-stream", head: png) } == nil)
        #expect(kind { try policy.check(declared: "application/octet-stream", head: elf) } == .unsupportedType)
    }

    @Test func undeclaredOrMalformedTypesAreRefusedBeforeAnyByte() {
        let strict = ContentPolicy(allowed: ["image/png"])
        #expect(kind { try strict.checkDeclared("image/png") } == nil)
        #expect(kind { try strict.checkDeclared("application/pdf") } == .unsupportedType)
        #expect(kind { try strict.checkDeclared("nonsense") } == .invalidField)
        #expect(kind { try strict.checkDeclared("") } == .invalidField)
    }
}

struct SearchQueryTests {
    @Test func queriesBecomeQuotedFTS5Expressions() throws {
        #expect(try SearchQuery("hello").match == "\"hello\"")
        #expect(try SearchQuery("  hello   world ").match == "\"hello\" AND \"world\"")
        #expect(try SearchQuery("\"big cat\" dog*").match == "\"big cat\" AND \"dog\"*")
        #expect(try SearchQuery("a1 OR b2 c3").match == "(\"a1\" OR \"b2\") AND \"c3\"")
        #expect(try SearchQuery("cat -dog -\"hot dog\"").match == "(\"cat\") NOT (\"dog\" OR \"hot dog\")")
        // FTS5 operators and column filters in the input are just words.
        #expect(try SearchQuery("NEAR(text: x) AND").match == "\"NEAR(text:\" AND \"x)\" AND \"AND\"")
        #expect(try SearchQuery("élan").match == "\"élan\"")
    }

    @Test func malformedQueriesAreInvalidField() {
        for bad in [
            "", "   ", "\"unbalanced", "OR cat", "cat OR", "cat OR OR dog", "-dog", "a*", "*", "c*t", "- cat", "!!!",
            "cat OR -dog", "cat -dog OR fish", String(repeating: "w ", count: 17), "tab\u{7}bell",
        ] {
            #expect(throws: ChatFailure.self, "\(bad)") { try SearchQuery(bad) }
        }
        #expect(throws: ChatFailure.self) { try SearchQuery(String(repeating: "x", count: 257)) }
    }

    @Test func cursorsBelongToTheirOrder() throws {
        #expect(try SearchCursor("", order: .newest) == .start)
        #expect(try SearchCursor("n:7", order: .newest) == .before(key: 7))
        #expect(try SearchCursor("r:40", order: .rank) == .offset(40))
        for (bad, order) in [("r:40", SearchOrder.newest), ("n:2", .rank), ("r:-1", .rank), ("r:5000", .rank), ("n:x", .newest), ("n:5:7", .newest), ("n:0", .newest)] {
            #expect(throws: ChatFailure.self) { try SearchCursor(bad, order: order) }
        }
    }
}

struct KeyedLockTests {
    final class Counter: Sendable {
        let state = Mutex<(now: Int, peak: Int, order: [Int])>((0, 0, []))
    }

    /// With 2 permits, at most 2 bodies of one key run at once, others wait
    /// their turn; another key is not held up.
    @Test func permitsBoundConcurrencyPerKey() async throws {
        let lock = KeyedLock<Int>(permits: 2)
        let counter = Counter()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<10 {
                group.addTask {
                    await lock.withLock(1) {
                        counter.state.withLock { s in
                            s.now += 1
                            s.peak = max(s.peak, s.now)
                        }
                        try? await Task.sleep(for: .milliseconds(5))
                        counter.state.withLock { s in
                            s.now -= 1
                            s.order.append(i)
                        }
                    }
                }
            }
        }
        let s = counter.state.withLock { $0 }
        #expect(s.peak == 2)
        #expect(s.order.count == 10)
        #expect(lock.activeKeys == 0)
        // The default is one holder at a time.
        let single = KeyedLock<Int>()
        #expect(single.permits == 1)
    }
}
