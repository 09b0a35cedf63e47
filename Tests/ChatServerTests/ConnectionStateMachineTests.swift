import ChatCore
import ChatProtocol
import NIOCore
@testable import ChatServer
import Testing

/// The connection lifecycle as "event -> expected action", no sockets.
struct ConnectionStateMachineTests {
    let settings = ConnectionStateMachine.Settings(maxInflight: 3, idleTimeoutMs: 90_000, authTimeoutMs: 20_000)
    let session = Session(
        user: User(id: 1, username: "a", displayName: "a", avatarURL: "", statusText: "", role: .user, createdAt: 0),
        deviceRowID: 1, deviceID: "d", tokenExpiresAt: 10_000_000)

    func receive(_ m: inout ConnectionStateMachine, _ op: Op, at t: Int64 = 0, wall: Int64 = 0) -> ConnectionStateMachine.FrameAction {
        m.frameReceived(frame(op), monotonicMs: t, wallMs: wall)
    }

    /// A request frame whose size (payload + 64, `ConnectionStateMachine.size(of:)`) is `bytes`.
    func frame(_ op: Op, rawKind: UInt8 = 1, flags: UInt8 = 0, rawOp: UInt16? = nil, bytes: Int = 64) -> Frame {
        Frame(
            rawKind: rawKind, flags: flags, op: rawOp ?? op.rawValue, id: 1,
            payload: ByteBuffer(repeating: 0, count: max(0, bytes - 64)))
    }

    @Test func helloFirst() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        #expect(receive(&m, .ping) == .reject(.helloRequired, "the first request must be Hello"))
        #expect(receive(&m, .login) == .reject(.helloRequired, "the first request must be Hello"))
        #expect(receive(&m, .hello) == .process(.hello, session: nil))
        m.requestCompleted()
        m.helloAnswered()
        #expect(receive(&m, .hello) == .reject(.wrongState, "Hello was already received"))
        #expect(receive(&m, .me) == .reject(.unauthenticated, "log in first"))
        #expect(receive(&m, .ping) == .process(.ping, session: nil))
    }

    @Test func frameHeaderChecks() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        #expect(m.frameReceived(frame(.hello, rawKind: 2), monotonicMs: 0, wallMs: 0) == .reject(.badFrame, "clients send only request frames (kind 1), got kind 2"))
        #expect(m.frameReceived(frame(.hello, flags: 0x80), monotonicMs: 0, wallMs: 0) == .reject(.badFrame, "unknown flags 0x80"))
        #expect(m.frameReceived(frame(.hello, rawOp: 4242), monotonicMs: 0, wallMs: 0) == .reject(.unknownOp, "unknown op 4242"))
    }

    @Test func requestsDuringAuthenticationAreHeldThenReleased() throws {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        m.requestCompleted()
        m.helloAnswered()
        #expect(receive(&m, .login) == .process(.login, session: nil))
        #expect(receive(&m, .me) == .hold)
        #expect(receive(&m, .ping) == .process(.ping, session: nil))  // ping is not held
        #expect(m.held == 1)
        m.requestCompleted()
        m.requestCompleted()
        m.authenticationSucceeded(session)
        let releasedHeld = m.releaseHeld(queuedBytes: 0)
        let released = try #require(releasedHeld)
        #expect(released.op == Op.me.rawValue && m.held == 0)
        #expect(m.frameReceived(released, released: true, monotonicMs: 0, wallMs: 0) == .process(.me, session: session))
        #expect(receive(&m, .login) == .reject(.wrongState, "already authenticated; log out first"))
    }

    @Test func failedAuthenticationReturnsToOpen() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        m.helloAnswered()
        _ = receive(&m, .resume)
        m.authenticationFailed()
        #expect(receive(&m, .me) == .reject(.unauthenticated, "log in first"))
        #expect(receive(&m, .login) == .process(.login, session: nil))
    }

    @Test func readingPausesAtTheInflightCap() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        m.helloAnswered()
        #expect(m.shouldRead)
        _ = receive(&m, .ping)
        _ = receive(&m, .ping)
        #expect(m.inflight == 3)
        #expect(!m.shouldRead)
        m.requestCompleted()
        #expect(m.shouldRead)
    }

    @Test func authTimeoutThenIdleTimeout() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 1000)
        #expect(m.timerFired(monotonicMs: 1000) == .checkAgain(atMs: 21_000))
        #expect(m.timerFired(monotonicMs: 21_000) == .close(.authTimeout))
        #expect(m.isClosed)
        #expect(receive(&m, .hello) == .ignore)

        var a = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&a, .hello)
        a.helloAnswered()
        _ = receive(&a, .login)
        a.authenticationSucceeded(session)
        _ = receive(&a, .ping, at: 50_000)
        #expect(a.timerFired(monotonicMs: 60_000) == .checkAgain(atMs: 140_000))
        #expect(a.timerFired(monotonicMs: 139_999) == .checkAgain(atMs: 140_000))
        #expect(a.timerFired(monotonicMs: 140_000) == .close(.idleTimeout))
    }

    @Test func logoutRestartsTheAuthDeadline() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        m.helloAnswered()
        _ = receive(&m, .login)
        m.authenticationSucceeded(session)
        m.loggedOut(monotonicMs: 60_000)
        #expect(receive(&m, .me, at: 60_000) == .reject(.unauthenticated, "log in first"))
        #expect(m.timerFired(monotonicMs: 60_001) == .checkAgain(atMs: 80_000))
        #expect(m.timerFired(monotonicMs: 80_000) == .close(.authTimeout))
    }

    @Test func expiredTokenClosesOnNextRequest() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        m.helloAnswered()
        _ = receive(&m, .resume)
        m.authenticationSucceeded(session)
        #expect(receive(&m, .me, wall: 9_999_999) == .process(.me, session: session))
        #expect(
            receive(&m, .me, wall: 10_000_000)
                == .rejectAndClose(.tokenExpired, "token expired; log in again", .tokenExpired))
        #expect(m.isClosed)
    }

    @Test func malformedStreamClosesOnce() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        #expect(m.malformedStream() == .rejectAndClose(.badFrame, "frame length below header size", .protocolError))
        #expect(m.malformedStream() == .ignore)
        let closedAgain = m.closeRequested()
        #expect(!closedAgain)
    }

    // MARK: Outbound budget

    /// An authenticated machine with a 64 KiB budget, 32 KiB pages and a
    /// 10 s grace.
    func budgeted(maxInflight: Int = 16) -> ConnectionStateMachine {
        let s = ConnectionStateMachine.Settings(
            maxInflight: maxInflight, idleTimeoutMs: 90_000, authTimeoutMs: 20_000, outboundBudget: 64 << 10,
            unauthenticatedOutboundBudget: 16 << 10, largeAnswerReserve: 32 << 10, slowConsumerGraceMs: 10_000)
        var m = ConnectionStateMachine(settings: s, nowMs: 0)
        _ = receive(&m, .hello)
        m.requestCompleted(.hello)
        m.helloAnswered()
        #expect(m.outboundBudget == 16 << 10)
        _ = receive(&m, .login)
        m.requestCompleted(.login)
        m.authenticationSucceeded(session)
        #expect(m.outboundBudget == 64 << 10)
        #expect(m.reservedBytes == 0)
        return m
    }

    @Test func pagesPastTheBudgetWaitInArrivalOrder() throws {
        var m = budgeted()
        #expect(receive(&m, .history) == .process(.history, session: session))
        #expect(receive(&m, .sync) == .process(.sync, session: session))
        #expect(m.reservedBytes == 64 << 10)
        // The budget is spent: the next request waits, and so does every later one (order).
        #expect(m.frameReceived(frame(.history, bytes: 100), monotonicMs: 0, wallMs: 0) == .hold)
        #expect(m.frameReceived(frame(.ping, bytes: 80), monotonicMs: 0, wallMs: 0) == .hold)
        #expect(m.held == 2 && m.heldBytes == 180)
        #expect(!m.mayReleaseHeld(queuedBytes: 0))
        #expect(m.releaseHeld(queuedBytes: 0) == nil)
        m.requestCompleted(.history)
        #expect(m.reservedBytes == 32 << 10)
        #expect(m.mayReleaseHeld(queuedBytes: 0))
        let firstHeld = m.releaseHeld(queuedBytes: 0)
        let first = try #require(firstHeld)
        #expect(first.op == Op.history.rawValue && m.heldBytes == 80)
        #expect(m.frameReceived(first, released: true, monotonicMs: 0, wallMs: 0) == .process(.history, session: session))
        #expect(!m.mayReleaseHeld(queuedBytes: 0))
        m.requestCompleted(.sync)
        let secondHeld = m.releaseHeld(queuedBytes: 0)
        let second = try #require(secondHeld)
        #expect(m.frameReceived(second, released: true, monotonicMs: 0, wallMs: 0) == .process(.ping, session: session))
        #expect(m.held == 0 && m.heldBytes == 0)
    }

    @Test func bytesQueuedInTheChannelCountAgainstTheBudget() throws {
        var m = budgeted()
        // Nothing reserved: a request starts whatever is queued (progress), while the channel is writable.
        #expect(m.frameReceived(frame(.history, bytes: 100), queuedBytes: 60 << 10, monotonicMs: 0, wallMs: 0) == .process(.history, session: session))
        // 60 KiB queued + 32 KiB reserved is past 64 KiB: the next page waits, and so does a ping behind it.
        #expect(m.frameReceived(frame(.history, bytes: 100), queuedBytes: 60 << 10, monotonicMs: 0, wallMs: 0) == .hold)
        #expect(m.frameReceived(frame(.ping, bytes: 80), queuedBytes: 0, monotonicMs: 0, wallMs: 0) == .hold)
        // With only 16 KiB queued, 16 + 32 leaves room: it may start.
        #expect(!m.mayReleaseHeld(queuedBytes: 40 << 10))
        #expect(m.mayReleaseHeld(queuedBytes: 16 << 10))
        // Once the running answer is written (reservation released), it starts even with much queued.
        m.requestCompleted(.history)
        let heldPage = m.releaseHeld(queuedBytes: 63 << 10)
        let page = try #require(heldPage)
        #expect(m.frameReceived(page, released: true, queuedBytes: 63 << 10, monotonicMs: 0, wallMs: 0) == .process(.history, session: session))
        #expect(m.releaseHeld(queuedBytes: 63 << 10) == nil)
        // A blocked channel holds everything, reserved or not.
        m.requestCompleted(.history)
        m.outboundBlocked(monotonicMs: 0)
        #expect(!m.mayReleaseHeld(queuedBytes: 0))
    }

    @Test func smallAnswersReserveLittle() {
        var m = budgeted(maxInflight: 64)
        // 8 KiB per ack: 8 fit in 64 KiB, the ninth waits.
        for _ in 0..<8 { #expect(receive(&m, .sendMessage) == .process(.sendMessage, session: session)) }
        #expect(receive(&m, .sendMessage) == .hold)
        m.requestCompleted(.sendMessage)
        #expect(m.mayReleaseHeld(queuedBytes: 0))
    }

    @Test func heldBytesPauseReading() {
        var m = budgeted()
        _ = receive(&m, .history)
        _ = receive(&m, .history)
        #expect(m.shouldRead)
        #expect(m.frameReceived(frame(.sendMessage, bytes: 64 << 10), monotonicMs: 0, wallMs: 0) == .hold)
        #expect(!m.shouldRead)
    }

    /// A held frame does not keep the receive buffer it was read from.
    @Test func aHeldFrameOwnsItsPayload() throws {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        m.requestCompleted()
        m.helloAnswered()
        _ = receive(&m, .login)
        var read = ByteBuffer(repeating: 7, count: 1 << 20)
        let slice = read.readSlice(length: 12)
        let payload = try #require(slice)
        #expect(payload.storageCapacity >= 1 << 20)
        let me = Frame(rawKind: 1, flags: 0, op: Op.me.rawValue, id: 9, payload: payload)
        #expect(m.frameReceived(me, monotonicMs: 0, wallMs: 0) == .hold)
        m.requestCompleted()
        m.authenticationSucceeded(session)
        let released = m.releaseHeld(queuedBytes: 0)
        let held = try #require(released)
        #expect(held.op == Op.me.rawValue && held.id == 9 && held.payload == payload)
        #expect(held.payload.storageCapacity < 1024)
    }

    @Test func aClosedConnectionDropsWhatItHeld() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        m.requestCompleted()
        m.helloAnswered()
        _ = receive(&m, .login)
        #expect(m.frameReceived(frame(.me, bytes: 1000), monotonicMs: 0, wallMs: 0) == .hold)
        #expect(m.held == 1 && m.heldBytes == 1000)
        let closed = m.closeRequested()
        #expect(closed)
        m.dropHeld()
        #expect(m.held == 0 && m.heldBytes == 0)
        let released = m.releaseHeld(queuedBytes: 0)
        #expect(released == nil)
    }

    @Test func aBlockedChannelPausesReadingAndHoldsRequests() {
        var m = budgeted()
        m.outboundBlocked(monotonicMs: 1000)
        #expect(!m.shouldRead)
        #expect(receive(&m, .me) == .hold)
        #expect(!m.mayReleaseHeld(queuedBytes: 0))
        m.outboundDrained()
        #expect(m.shouldRead)
        #expect(m.mayReleaseHeld(queuedBytes: 0))
    }

    @Test func aPeerOverBudgetPastTheGraceIsASlowConsumer() {
        var m = budgeted()
        m.outboundBlocked(monotonicMs: 1000)
        m.outboundBlocked(monotonicMs: 5000)  // still the first time
        #expect(m.timerFired(monotonicMs: 2000) == .checkAgain(atMs: 11_000))
        #expect(m.timerFired(monotonicMs: 11_000) == .close(.slowConsumer))
        #expect(m.isClosed)

        var drained = budgeted()
        drained.outboundBlocked(monotonicMs: 1000)
        drained.outboundDrained()
        #expect(drained.timerFired(monotonicMs: 11_000) == .checkAgain(atMs: 90_000))
    }

    @Test func unsentPushesPastTwiceTheBudgetCloseAtOnce() {
        var m = budgeted()
        #expect(m.pushesArrived(bytes: 1000, unsentBytes: 0) == .write)
        #expect(m.pushesArrived(bytes: 1000, unsentBytes: (128 << 10) - 1000) == .write)
        #expect(m.pushesArrived(bytes: 1001, unsentBytes: (128 << 10) - 1000) == .close(.slowConsumer))
        #expect(m.pushesArrived(bytes: 1, unsentBytes: 0) == .drop)

        var unauthenticated = ConnectionStateMachine(settings: settings, nowMs: 0)
        #expect(unauthenticated.pushesArrived(bytes: 1, unsentBytes: 0) == .drop)
    }

    @Test func anUnauthenticatedFloodIsBoundedToo() {
        var m = ConnectionStateMachine(
            settings: .init(
                maxInflight: 64, idleTimeoutMs: 90_000, authTimeoutMs: 20_000, outboundBudget: 1 << 20,
                unauthenticatedOutboundBudget: 16 << 10, largeAnswerReserve: 1 << 20, slowConsumerGraceMs: 10_000),
            nowMs: 0)
        m.outboundBlocked(monotonicMs: 0)
        #expect(!m.shouldRead)
        #expect(m.timerFired(monotonicMs: 10_000) == .close(.slowConsumer))
    }

    // MARK: Decisions the handler used to make

    @Test func helloFieldsAreChecked() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        _ = receive(&m, .hello)
        #expect(
            m.helloReceived(protocolVersion: 0, clientName: "c", clientVersion: "1")
                == .refuse(.unsupportedVersion, "protocol_version 0 is not supported; this server speaks \(chatProtocolVersion)", field: ""))
        #expect(m.helloReceived(protocolVersion: 1, clientName: "", clientVersion: "1") == .refuse(.invalidField, "client_name must not be empty", field: "client_name"))
        let long = String(repeating: "x", count: 65)
        #expect(m.helloReceived(protocolVersion: 1, clientName: long, clientVersion: "1") == .refuse(.tooLarge, "client_name is longer than 64 bytes", field: "client_name"))
        #expect(m.helloReceived(protocolVersion: 1, clientName: "c", clientVersion: long) == .refuse(.tooLarge, "client_version is longer than 64 bytes", field: "client_version"))
        // Still waiting for a good Hello: nothing else is allowed yet.
        #expect(receive(&m, .login) == .reject(.helloRequired, "the first request must be Hello"))
        #expect(m.helloReceived(protocolVersion: 99, clientName: "c", clientVersion: "") == .accept(version: chatProtocolVersion))
        #expect(receive(&m, .login) == .process(.login, session: nil))
    }

    @Test func drainingRefusesWhatNeedsTheServicesButNotHelloOrTyping() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        #expect(m.frameReceived(frame(.hello), draining: true, monotonicMs: 0, wallMs: 0) == .process(.hello, session: nil))
        m.requestCompleted(.hello)
        m.helloAnswered()
        #expect(m.frameReceived(frame(.login), draining: true, monotonicMs: 0, wallMs: 0) == .reject(.unavailable, "server is shutting down"))
        // The refused login did not start an authentication.
        #expect(m.inflight == 0 && receive(&m, .login) == .process(.login, session: nil))
        m.requestCompleted(.login)
        m.authenticationSucceeded(session)
        #expect(m.frameReceived(frame(.typing), draining: true, monotonicMs: 0, wallMs: 0) == .process(.typing, session: session))
        #expect(m.frameReceived(frame(.sendMessage), draining: true, monotonicMs: 0, wallMs: 0) == .reject(.unavailable, "server is shutting down"))
    }

    @Test func anEndWithRequestsInFlightWaitsForTheirAnswers() {
        var m = budgeted()
        _ = receive(&m, .revokeDevice)
        _ = receive(&m, .me)
        #expect(m.endRequested(.deviceRevoked) == .awaitAnswers)
        #expect(m.isClosed && m.isAwaitingAnswers)
        #expect(receive(&m, .me) == .ignore)
        #expect(m.pushesArrived(bytes: 1, unsentBytes: 0) == .drop)
        #expect(m.endRequested(.kicked) == .none)
        m.requestCompleted(.revokeDevice)
        #expect(m.goodbyeDue() == nil)
        m.requestCompleted(.me)
        #expect(m.goodbyeDue() == .deviceRevoked)
        #expect(m.goodbyeDue() == nil && m.closingTimedOut() == nil && !m.isAwaitingAnswers)

        var idle = budgeted()
        #expect(idle.endRequested(.serverShutdown) == .sayGoodbye(.serverShutdown))
        #expect(idle.endRequested(.serverShutdown) == .none)

        var stuck = budgeted()
        _ = receive(&stuck, .history)
        #expect(stuck.endRequested(.kicked) == .awaitAnswers)
        #expect(stuck.closingTimedOut() == .kicked)
        #expect(stuck.closingTimedOut() == nil)
    }

    @Test func aPausedReadResumesOnceThereIsRoom() {
        var m = ConnectionStateMachine(settings: settings, nowMs: 0)
        var steps: [Bool] = []
        steps.append(m.readRequested())
        steps.append(m.resumeReading())  // nothing was paused
        _ = receive(&m, .hello)
        m.helloAnswered()
        _ = receive(&m, .ping)
        _ = receive(&m, .ping)
        steps.append(m.readRequested())  // at the in-flight cap: paused
        steps.append(m.resumeReading())
        m.requestCompleted()
        steps.append(m.resumeReading())
        steps.append(m.resumeReading())  // once
        #expect(steps == [true, false, false, false, true, false])
    }
}
