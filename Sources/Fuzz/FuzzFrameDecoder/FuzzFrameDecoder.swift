import ChatFuzzing

/// libFuzzer entry (its runtime provides main): FrameDecoder under split
/// reads. Input layout and properties: FrameDecoderFuzzing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if let problem = FrameDecoderFuzzing.check(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError(problem)
    }
    return 0
}
