import NIOCore
import Synchronization

/// Admission of client connections: at most `maxTotal` open at once and at
/// most `maxPerAddress` from one peer address. A value type with no I/O; the
/// listener consults it (through `ConnectionAdmission`) as each connection
/// becomes active and tells it when the connection closes.
public struct ConnectionLimiter: Sendable, Equatable {
    public struct Limits: Sendable, Equatable {
        public var maxTotal: Int
        public var maxPerAddress: Int

        public init(maxTotal: Int, maxPerAddress: Int) {
            self.maxTotal = maxTotal
            self.maxPerAddress = maxPerAddress
        }
    }

    public enum Decision: Sendable, Equatable {
        case admit
        case refuseTotal
        case refusePerAddress
    }

    public var limits: Limits
    public private(set) var total = 0
    /// Open connections by peer address; an address with none has no entry,
    /// so the table is bounded by the open connections.
    public private(set) var perAddress: [String: Int] = [:]

    public init(limits: Limits) { self.limits = limits }

    /// A connection from `address` became active.
    public mutating func connectionOpened(from address: String) -> Decision {
        if total >= limits.maxTotal { return .refuseTotal }
        let fromAddress = perAddress[address, default: 0]
        if fromAddress >= limits.maxPerAddress { return .refusePerAddress }
        total += 1
        perAddress[address] = fromAddress + 1
        return .admit
    }

    /// An admitted connection from `address` closed.
    public mutating func connectionClosed(from address: String) {
        guard let count = perAddress[address] else { return }
        total = max(0, total - 1)
        perAddress[address] = count > 1 ? count - 1 : nil
    }
}

/// The limiter shared by every event loop (reloadable limits).
public final class ConnectionAdmission: Sendable {
    private let limiter: Mutex<ConnectionLimiter>

    public init(limits: ConnectionLimiter.Limits) { limiter = Mutex(ConnectionLimiter(limits: limits)) }

    public func opened(from address: String) -> ConnectionLimiter.Decision {
        limiter.withLock { $0.connectionOpened(from: address) }
    }

    public func closed(from address: String) { limiter.withLock { $0.connectionClosed(from: address) } }

    /// New limits apply to connections opened from now on; open ones stay.
    public func update(_ limits: ConnectionLimiter.Limits) { limiter.withLock { $0.limits = limits } }

    public var openConnections: Int { limiter.withLock { $0.total } }
}
