import Synchronization

/// Mutual exclusion per key across suspension points (an upload's chunks
/// are handled one at a time; content placement and collection exclude each
/// other). Waiters are resumed in arrival order; entries vanish when free.
public final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    private struct Entry {
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let entries = Mutex<[Key: Entry]>([:])

    public init() {}

    public func withLock<T: Sendable>(_ key: Key, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: Key) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let mustWait = entries.withLock { table -> Bool in
                if table[key] == nil {
                    table[key] = Entry()
                    return false
                }
                table[key]?.waiters.append(c)
                return true
            }
            if !mustWait { c.resume() }
        }
    }

    private func release(_ key: Key) {
        let next = entries.withLock { table -> CheckedContinuation<Void, Never>? in
            guard var entry = table[key] else { return nil }
            if entry.waiters.isEmpty {
                table[key] = nil
                return nil
            }
            let first = entry.waiters.removeFirst()
            table[key] = entry
            return first
        }
        next?.resume()
    }

    /// Keys held or waited for (tests).
    public var activeKeys: Int { entries.withLock { $0.count } }
}
