import Foundation
import Logging

/// chatd's log lines on stderr, one `write` per line: text or JSON
/// (`log.format`), and for the systemd journal (stderr is the journal when
/// `$JOURNAL_STREAM` names it) without a timestamp of its own and with a
/// `<N>` syslog priority prefix, so `journalctl -p warning` filters by level.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable {
        case text
        case json
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    let label: String
    let format: Format
    let journal: Bool
    let write: @Sendable (String) -> Void

    public init(
        label: String, format: Format, journal: Bool = LineLogHandler.stderrIsJournal(),
        write: @escaping @Sendable (String) -> Void = LineLogHandler.writeStderr
    ) {
        self.label = label
        self.format = format
        self.journal = journal
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        write(line(level: event.level, message: "\(event.message)", metadata: all, at: Date()))
    }

    /// One line, newline included.
    public func line(level: Logger.Level, message: String, metadata: Logger.Metadata, at date: Date) -> String {
        let prefix = journal ? "<\(Self.priority(level))>" : ""
        switch format {
        case .text:
            let time = journal ? "" : Self.timestamp(date) + " "
            let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return prefix + time + "\(level) \(label): \(message)" + (fields.isEmpty ? "" : " " + fields) + "\n"
        case .json:
            var object: [String: String] = ["level": "\(level)", "label": label, "message": message]
            if !journal { object["time"] = Self.timestamp(date) }
            for (key, value) in metadata where object[key] == nil { object[key] = "\(value)" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let json = (try? encoder.encode(object)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            return prefix + json + "\n"
        }
    }

    /// syslog priorities (sd-daemon(3)).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let millis = Int((interval - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let ms = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(ms)Z"
    }

    /// True when stderr is the journal stream systemd gave this process
    /// (`$JOURNAL_STREAM` = "device:inode" of stderr).
    public static func stderrIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    public static let writeStderr: @Sendable (String) -> Void = { line in
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return Glibc.write(STDERR_FILENO, base + offset, raw.count - offset)
            }
            if n <= 0 { return }
            offset += n
        }
    }
}
