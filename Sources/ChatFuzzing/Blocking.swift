import Dispatch
import Synchronization

/// Runs async harness code from libFuzzer's synchronous callback.
public enum Blocking {
    /// How long one input may take before it counts as a hang. libFuzzer's
    /// own `-timeout` is a backstop; this one names the input's op.
    public static let answerTimeoutSeconds = 10

    /// Runs `body` on the concurrency pool and waits for it on this thread
    /// (libFuzzer's, never a pool thread); nil when it did not finish in time.
    public static func run<T: Sendable>(
        timeoutSeconds: Int = answerTimeoutSeconds, _ body: @escaping @Sendable () async -> T
    ) -> T? {
        let done = DispatchSemaphore(value: 0)
        let box = Box<T>()
        Task {
            box.set(await body())
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(timeoutSeconds)) == .success else { return nil }
        return box.value
    }

    private final class Box<T: Sendable>: Sendable {
        private let stored = Mutex<T?>(nil)
        var value: T? { stored.withLock { $0 } }
        func set(_ value: T) { stored.withLock { $0 = value } }
    }
}

/// Keeps a `FuzzWorld` for libFuzzer's callback (one thread, one input at a
/// time) and rebuilds it every `resetEvery` inputs, so that the database
/// stays small and a crash depends on little history.
public final class FuzzWorldKeeper {
    public let resetEvery: Int
    private var world: FuzzWorld?
    private var inputs = 0

    public init(resetEvery: Int = 2000) { self.resetEvery = resetEvery }

    /// Runs `body` against the world; traps when the world cannot be built
    /// or `body` does not finish within `Blocking.answerTimeoutSeconds`
    /// (`what` names the input in that message).
    public func run<T: Sendable>(
        _ what: @autoclosure () -> String, _ body: @escaping @Sendable (FuzzWorld) async -> T
    ) -> T {
        if inputs % resetEvery == 0, let old = world {
            old.close()
            world = nil
        }
        inputs += 1
        let current: FuzzWorld
        if let world {
            current = world
        } else {
            switch Blocking.run(timeoutSeconds: 60, { await Result(awaiting: { try await FuzzWorld.make() }) }) {
            case .success(let made)?: current = made
            case .failure(let error)?: fatalError("cannot build the fuzz world: \(error)")
            case nil: fatalError("building the fuzz world took over 60 s")
            }
            world = current
        }
        guard let result = Blocking.run({ await body(current) }) else {
            fatalError("no answer within \(Blocking.answerTimeoutSeconds) s: \(what())")
        }
        return result
    }
}

extension Result where Failure == any Error {
    init(awaiting body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
