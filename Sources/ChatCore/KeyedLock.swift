import Synchronization

/// At most `permits` holders per key across suspension points (an upload's
/// chunks are handled one at a time; content placement and collection
/// exclude each other; a user's page reads share a few readers). Waiters are
/// resumed in arrival order; entries vanish when free.
public final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    private struct Entry {
        var holders = 1
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let entries = Mutex<[Key: Entry]>([:])
    public let permits: Int

    public init(permits: Int = 1) { self.permits = max(1, permits) }

    public func withLock<T: Sendable>(_ key: Key, _ body: () async throws -> T) async rethrows -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: Key) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let permits = self.permits
            let mustWait = entries.withLock { table -> Bool in
                guard var entry = table[key] else {
                    table[key] = Entry()
                    return false
                }
                if entry.holders < permits {
                    entry.holders += 1
                    table[key] = entry
                    return false
                }
                entry.waiters.append(c)
                table[key] = entry
                return true
            }
            if !mustWait { c.resume() }
        }
    }

    private func release(_ key: Key) {
        let next = entries.withLock { table -> CheckedContinuation<Void, Never>? in
            guard var entry = table[key] else { return nil }
            if !entry.waiters.isEmpty {
                // The permit passes to the first waiter.
                let first = entry.waiters.removeFirst()
                table[key] = entry
                return first
            }
            entry.holders -= 1
            table[key] = entry.holders > 0 ? entry : nil
            return nil
        }
        next?.resume()
    }

    /// Keys held or waited for (tests).
    public var activeKeys: Int { entries.withLock { $0.count } }
}
