import ChatFuzzing
import Foundation

/// The world every input runs against (rebuilt every 2000 inputs).
nonisolated(unsafe) let keeper = FuzzWorldKeeper()
/// CHATD_FUZZ_FAIL_ON_INTERNAL=1: an `internal` answer is a finding too.
let failOnInternal = ProcessInfo.processInfo.environment["CHATD_FUZZ_FAIL_ON_INTERNAL"] == "1"

/// libFuzzer entry (its runtime provides main): one client request through
/// ClientRouter.route. Input layout: ClientRouterFuzzing. Every input must
/// be answered within 10 s.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientRouter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let op = ClientRouterFuzzing.select(input).map { "\($0.op)" } ?? "none"
    let answer = keeper.run("op \(op)") { await ClientRouterFuzzing.run(input, in: $0) }
    if failOnInternal, let answer, ClientRouterFuzzing.isUnexpectedInternal(answer) {
        fatalError("internal error answering op \(op)")
    }
    return 0
}
