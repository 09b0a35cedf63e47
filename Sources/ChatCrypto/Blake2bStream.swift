import CSodium
import ChatCore

/// Incremental BLAKE2b-256 over libsodium's generichash state (kept in
/// memory aligned as libsodium requires).
public final class Blake2bStream: ContentHasher {
    private let state: UnsafeMutableRawPointer
    private var finished = false

    public init() {
        precondition(Sodium.ready, "libsodium failed to initialise")
        state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        _ = crypto_generichash_init(OpaquePointer(state), nil, 0, 32)
    }

    deinit { state.deallocate() }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !finished, let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = crypto_generichash_update(
            OpaquePointer(state), base.assumingMemoryBound(to: UInt8.self),
            UInt64(bytes.count))
    }

    public func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        if !finished {
            _ = crypto_generichash_final(OpaquePointer(state), &out, 32)
            finished = true
        }
        return out
    }
}
