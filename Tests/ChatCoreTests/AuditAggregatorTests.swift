import ChatCore
import Testing

struct AuditAggregatorTests {
    @Test func oneRowPerKeyAndWindowCarryingTheCount() {
        var a = AuditAggregator(windowMs: 60_000)
        #expect(a.record("10.0.0.1", now: 0) == .write(suppressed: 0))
        for t in 1..<100 { #expect(a.record("10.0.0.1", now: Int64(t)) == .suppress) }
        #expect(a.record("10.0.0.2", now: 100) == .write(suppressed: 0))
        #expect(a.record("10.0.0.1", now: 59_999) == .suppress)
        #expect(a.record("10.0.0.1", now: 60_000) == .write(suppressed: 100))
        #expect(a.record("10.0.0.1", now: 60_001) == .suppress)
    }

    @Test func theTableIsBounded() {
        var a = AuditAggregator(windowMs: 1000, maxKeys: 100)
        for i in 0..<10_000 { _ = a.record("k\(i)", now: Int64(i)) }
        #expect(a.keyCount <= 100)
    }
}
