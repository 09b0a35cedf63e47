@testable import ChatServer
import Testing

struct ConnectionLimiterTests {
    @Test func perAddressLimitAtNAndNPlusOne() {
        var l = ConnectionLimiter(limits: .init(maxTotal: 100, maxPerAddress: 3))
        for _ in 0..<3 { #expect(l.connectionOpened(from: "10.0.0.1") == .admit) }
        #expect(l.connectionOpened(from: "10.0.0.1") == .refusePerAddress)
        #expect(l.connectionOpened(from: "10.0.0.2") == .admit)
        l.connectionClosed(from: "10.0.0.1")
        #expect(l.connectionOpened(from: "10.0.0.1") == .admit)
        #expect(l.total == 4)
    }

    @Test func totalLimitAtNAndNPlusOne() {
        var l = ConnectionLimiter(limits: .init(maxTotal: 2, maxPerAddress: 10))
        #expect(l.connectionOpened(from: "a") == .admit)
        #expect(l.connectionOpened(from: "b") == .admit)
        #expect(l.connectionOpened(from: "c") == .refuseTotal)
        l.connectionClosed(from: "a")
        #expect(l.connectionOpened(from: "c") == .admit)
    }

    @Test func closingForgetsEmptyAddressesAndIgnoresUnknownOnes() {
        var l = ConnectionLimiter(limits: .init(maxTotal: 10, maxPerAddress: 10))
        _ = l.connectionOpened(from: "a")
        l.connectionClosed(from: "a")
        l.connectionClosed(from: "a")  // refused or already closed: no effect
        l.connectionClosed(from: "never")
        #expect(l.total == 0)
        #expect(l.perAddress.isEmpty)
    }

    @Test func loweredLimitsApplyToNewConnectionsOnly() {
        var l = ConnectionLimiter(limits: .init(maxTotal: 10, maxPerAddress: 10))
        for _ in 0..<5 { _ = l.connectionOpened(from: "a") }
        l.limits = .init(maxTotal: 10, maxPerAddress: 2)
        #expect(l.total == 5)
        #expect(l.connectionOpened(from: "a") == .refusePerAddress)
        for _ in 0..<4 { l.connectionClosed(from: "a") }
        #expect(l.connectionOpened(from: "a") == .admit)
    }
}
