import Logging
import Synchronization

/// The log level in force, changeable while chatd runs (SIGHUP reload of
/// `log.level`, chatctl log-level). Every logger made through
/// `DynamicLevelLogHandler` reads it at each log call.
public final class LogLevelControl: Sendable {
    private let raw: Atomic<UInt8>

    public init(_ level: Logger.Level) { raw = Atomic(Self.code(level)) }

    public var level: Logger.Level {
        get { Self.levels[Int(raw.load(ordering: .relaxed))] }
        set { raw.store(Self.code(newValue), ordering: .relaxed) }
    }

    /// Sets the level; returns the previous one.
    @discardableResult
    public func set(_ level: Logger.Level) -> Logger.Level {
        Self.levels[Int(raw.exchange(Self.code(level), ordering: .relaxed))]
    }

    static let levels = Logger.Level.allCases

    static func code(_ level: Logger.Level) -> UInt8 { UInt8(levels.firstIndex(of: level) ?? 2) }
}

/// A log handler whose level is the shared `LogLevelControl`'s; the output
/// goes through `inner` (stderr in chatd).
public struct DynamicLevelLogHandler: LogHandler {
    public var inner: any LogHandler
    public let control: LogLevelControl

    public init(inner: any LogHandler, control: LogLevelControl) {
        var inner = inner
        inner.logLevel = .trace  // filtering happens here, through the control
        self.inner = inner
        self.control = control
    }

    public var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        inner.log(event: event)
    }
}
