import ChatFuzzing

/// libFuzzer entry (its runtime provides main): the message search syntax.
/// Properties: SearchQueryFuzzing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSearchQuery(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if let problem = SearchQueryFuzzing.check(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError(problem)
    }
    return 0
}
