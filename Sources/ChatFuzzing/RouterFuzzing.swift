import ChatCore
import ChatProtocol
import ChatServer
import NIOCore

/// One fuzz input through `ClientRouter.route`, as an authenticated
/// connection's request: the first 2 bytes (big-endian) select the op, the
/// rest is the payload.
///
///     selector & 0x7fff   an op number (Op), else an index into Op.allCases
///     selector & 0x8000   run as bob instead of alice
///
/// Hello and Typing are answered by the connection handler, not the router;
/// the router answers them `internal` ("op misrouted") by design.
public enum ClientRouterFuzzing {
    /// The request frame id every input uses.
    public static let requestID: UInt32 = 7

    /// The op and the session index an input selects; nil below 2 bytes.
    public static func select(_ input: [UInt8]) -> (op: Op, session: Int, payload: ArraySlice<UInt8>)? {
        guard input.count >= 2 else { return nil }
        let selector = UInt16(input[0]) << 8 | UInt16(input[1])
        let raw = selector & 0x7fff
        let op = Op(rawValue: raw) ?? Op.allCases[Int(raw) % Op.allCases.count]
        return (op, Int(selector >> 15), input[2...])
    }

    /// Routes one input; returns the answer frame (nil: input too short).
    /// The clock moves a second per input, so throttles and expiry move too.
    public static func run(_ input: [UInt8], in world: FuzzWorld) async -> Frame? {
        guard let selected = select(input) else { return nil }
        let (op, sessionIndex, payload) = selected
        world.clock.advance(byMs: 1000)
        let frame = Frame(kind: .request, op: op.rawValue, id: requestID, payload: ByteBuffer(bytes: payload))
        let outcome = await world.clientRouter.route(
            op: op, frame: frame, session: world.sessions[sessionIndex], context: world.context)
        switch outcome {
        case .reply(let f), .authenticated(let f, _), .authenticationFailed(let f), .refreshed(let f, _), .loggedOut(let f):
            return f
        }
    }

    /// An `internal` answer means the router met an error it did not expect
    /// (DESIGN §6: bad input gets a clear code). Hello and Typing excepted.
    public static func isUnexpectedInternal(_ answer: Frame) -> Bool {
        guard let op = Op(rawValue: answer.op), op != .hello, op != .typing else { return false }
        return FuzzWorld.errorCode(of: answer) == .internal
    }
}

/// One fuzz input through `ControlRouter.route` (chatctl's protocol), as
/// root: the first 2 bytes select the op (a ControlOp number, else an index
/// into ControlOp.allCases), the rest is the payload.
public enum ControlRouterFuzzing {
    public static let requestID: UInt32 = 7

    public static func select(_ input: [UInt8]) -> (op: ControlOp, payload: ArraySlice<UInt8>)? {
        guard input.count >= 2 else { return nil }
        let raw = UInt16(input[0]) << 8 | UInt16(input[1])
        let op = ControlOp(rawValue: raw) ?? ControlOp.allCases[Int(raw) % ControlOp.allCases.count]
        return (op, input[2...])
    }

    public static func run(_ input: [UInt8], in world: FuzzWorld) async -> Frame? {
        guard let selected = select(input) else { return nil }
        let (op, payload) = selected
        world.clock.advance(byMs: 1000)
        let frame = Frame(kind: .request, op: op.rawValue, id: requestID, payload: ByteBuffer(bytes: payload))
        return await world.controlRouter.route(frame, peerUID: 0)
    }

    /// Backup, reload and log-level answer `unavailable`/`wrong_state` here;
    /// `internal` from any op is unexpected.
    public static func isUnexpectedInternal(_ answer: Frame) -> Bool {
        FuzzWorld.errorCode(of: answer) == .internal
    }
}
