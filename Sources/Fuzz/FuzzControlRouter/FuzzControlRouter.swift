import ChatFuzzing
import Foundation

/// The world every input runs against (rebuilt every 2000 inputs).
nonisolated(unsafe) let keeper = FuzzWorldKeeper()
/// CHATD_FUZZ_FAIL_ON_INTERNAL=1: an `internal` answer is a finding too.
let failOnInternal = ProcessInfo.processInfo.environment["CHATD_FUZZ_FAIL_ON_INTERNAL"] == "1"

/// libFuzzer entry (its runtime provides main): one chatctl request through
/// ControlRouter.route. Input layout: ControlRouterFuzzing. Every input
/// must be answered within 10 s.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlRouter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let op = ControlRouterFuzzing.select(input).map { "\($0.op)" } ?? "none"
    let answer = keeper.run("control op \(op)") { await ControlRouterFuzzing.run(input, in: $0) }
    if failOnInternal, let answer, ControlRouterFuzzing.isUnexpectedInternal(answer) {
        fatalError("internal error answering control op \(op)")
    }
    return 0
}
