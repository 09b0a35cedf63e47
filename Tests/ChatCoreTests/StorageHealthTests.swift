import ChatCore
import Testing

struct StorageHealthTests {
    @Test func lowSpaceRefusesOrdinaryWritesOnlyAndClearsWhenSpaceReturns() {
        var h = StorageHealth(minFreeBytes: 1000)
        let changed1 = h.freeSpaceMeasured(5000)
        #expect(!changed1)
        #expect(h.refusal(for: .ordinary) == nil)
        // At N and N-1.
        let changed2 = h.freeSpaceMeasured(1000)
        #expect(!changed2)
        #expect(h.isWritable)
        let changed3 = h.freeSpaceMeasured(999)
        #expect(changed3)
        #expect(h.state == .lowSpace(freeBytes: 999))
        #expect(h.refusal(for: .ordinary)?.kind == .unavailable)
        #expect(h.refusal(for: .ordinary)?.retryAfterMs == StorageHealth.lowSpaceRetryMs)
        #expect(h.refusal(for: .freesSpace) == nil)
        let changed4 = h.freeSpaceMeasured(10)  // still low: no new log line
        #expect(!changed4)
        let changed5 = h.freeSpaceMeasured(1000)
        #expect(changed5)
        #expect(h.isWritable)
    }

    @Test func aFullDiskReportedByAWriteActsLikeLowSpace() {
        var h = StorageHealth(minFreeBytes: 0)
        let changed6 = h.diskFullReported(freeBytes: 0)
        #expect(changed6)
        #expect(h.refusal(for: .ordinary)?.kind == .unavailable)
        #expect(h.refusal(for: .freesSpace) == nil)
        let changed7 = h.freeSpaceMeasured(4096)
        #expect(changed7)
        #expect(h.isWritable)
    }

    @Test func anIOErrorStopsEveryWriteUntilRestart() {
        var h = StorageHealth(minFreeBytes: 1000)
        let changed8 = h.ioFailed("disk I/O error")
        #expect(changed8)
        let changed9 = h.ioFailed("again")
        #expect(!changed9)
        #expect(h.refusal(for: .ordinary)?.kind == .unavailable)
        #expect(h.refusal(for: .freesSpace)?.kind == .unavailable)
        #expect(h.refusal(for: .ordinary)?.message.contains("disk I/O error") == true)
        // Space coming back does not make a failed store writable.
        let changed10 = h.freeSpaceMeasured(1 << 40)
        #expect(!changed10)
        let changed11 = h.diskFullReported(freeBytes: 0)
        #expect(!changed11)
        #expect(!h.isWritable)
    }
}
