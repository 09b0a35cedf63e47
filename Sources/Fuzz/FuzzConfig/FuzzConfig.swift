import ChatFuzzing

/// libFuzzer entry (its runtime provides main): the TOML config loader.
/// Properties: ConfigFuzzing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if let problem = ConfigFuzzing.check(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError(problem)
    }
    return 0
}
