import ChatCore
import Foundation
import TOMLKit

/// A validated configuration: a value for every key of `ConfigTable`.
public struct Config: Sendable, Equatable {
    public private(set) var values: [String: ConfigValue]
    /// The file it came from; nil for the embedded default.
    public var source: String?

    /// The embedded default (no config file).
    public static let defaults = Config(
        values: Dictionary(uniqueKeysWithValues: ConfigTable.keys.map { ($0.path, $0.defaultValue) }), source: nil)

    /// A config file larger than this is refused (the example file is 20 KB).
    static let maxFileBytes = 1 << 20

    public static func load(path: String) throws(ConfigError) -> Config {
        // FileHandle reads pipes and devices too (--config /dev/stdin, /dev/null).
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw ConfigError(file: path, line: nil, key: nil, reason: "cannot read: \(reason)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            throw ConfigError(file: path, line: nil, key: nil, reason: "cannot read: \(error.localizedDescription)")
        }
        guard data.count <= maxFileBytes else {
            throw ConfigError(file: path, line: nil, key: nil, reason: "larger than \(maxFileBytes) bytes")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, line: nil, key: nil, reason: "not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// Parses TOML text against the table. Unknown sections or keys, wrong
    /// types and out-of-range values are errors naming the key and its line.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> Config {
        // The TOML parser reads a C string: a NUL would silently end the file there.
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].filter { $0 == UInt8(ascii: "\n") }.count + 1
            throw ConfigError(file: file, line: line, key: nil, reason: "contains a NUL byte")
        }
        if let trap = TOMLKitGuard.trap(in: text) {
            throw ConfigError(file: file, line: trap.line, key: nil, reason: trap.reason)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, line: error.source.begin.line, key: nil, reason: error.description)
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, reason: "\(error)")
        }
        let lines = LineIndex(text)
        var config = Config.defaults
        config.source = file
        for section in root.keys {
            guard let table = root[section]?.table else {
                // A key above every [section] header.
                let owners = ConfigTable.keys.filter { $0.name == section }.map { "[\($0.section)]" }
                let hint = owners.isEmpty ? "" : "; it belongs in \(owners.joined(separator: " or "))"
                throw ConfigError(
                    file: file, line: lines.line(of: section, in: nil), key: section,
                    reason: "\"\(section)\" is outside every [section]\(hint)")
            }
            guard ConfigTable.sections.contains(section) else {
                throw ConfigError(
                    file: file, line: lines.line(of: section, in: nil), key: section,
                    reason: "unknown section [\(section)]" + Suggestion.didYouMean(section, among: ConfigTable.sections, format: { "[\($0)]" }))
            }
            for name in table.keys {
                let path = "\(section).\(name)"
                let line = lines.line(of: name, in: section)
                guard let key = ConfigTable.key(path) else {
                    let here = ConfigTable.keys.filter { $0.section == section }.map(\.name)
                    let elsewhere = ConfigTable.keys.filter { $0.name == name }.map { "[\($0.section)] \($0.name)" }
                    let hint = elsewhere.isEmpty ? Suggestion.didYouMean(name, among: here) : "; did you mean \(elsewhere.joined(separator: " or "))?"
                    throw ConfigError(file: file, line: line, key: path, reason: "unknown key" + hint)
                }
                guard let raw = table[name] else { continue }
                config.values[path] = try convert(raw, for: key, file: file, line: line)
            }
        }
        try config.checkRelations(file: file, lines: lines)
        return config
    }

    static func convert(_ raw: any TOMLValueConvertible, for key: ConfigKey, file: String, line: Int?) throws(ConfigError) -> ConfigValue {
        func fail(_ reason: String) -> ConfigError { ConfigError(file: file, line: line, key: key.path, reason: reason) }
        switch key.type {
        case .string, .path:
            guard let s = raw.string else { throw fail("expected a string") }
            if s.utf8.contains(0) { throw fail("must not contain NUL") }
            return .string(s)
        case .address:
            guard let s = raw.string else { throw fail("expected a string \"host:port\"") }
            guard s.isEmpty || ListenAddress(s) != nil else {
                throw fail("expected \"host:port\" with a port 0..65535, or \"\" for none, got \"\(s)\"")
            }
            return .string(s)
        case .int(let min, let max):
            guard raw.type == .int, let i = raw.int else { throw fail("expected an integer") }
            guard Int64(i) >= min && Int64(i) <= max else { throw fail("\(i) is out of range \(min)..\(max)") }
            return .int(Int64(i))
        case .bool:
            guard raw.type == .bool, let b = raw.bool else { throw fail("expected true or false") }
            return .bool(b)
        case .stringList:
            guard let array = raw.array else { throw fail("expected an array of strings") }
            var list: [String] = []
            for element in array {
                guard let s = element.string else { throw fail("expected an array of strings") }
                if s.utf8.contains(0) { throw fail("must not contain NUL") }
                list.append(s)
            }
            guard list.count <= 64 else { throw fail("at most 64 entries") }
            return .strings(list)
        case .choice(let options):
            guard let s = raw.string else { throw fail("expected one of \(options.joined(separator: ", "))") }
            guard options.contains(s) else { throw fail("\"\(s)\" is not one of \(options.joined(separator: ", "))") }
            return .string(s)
        }
    }

    /// An error about `key` found after parsing (a file it names cannot be
    /// used), located at the key's line of the file this config came from.
    public func error(key path: String, reason: String) -> ConfigError {
        let text = source.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
        let line = parts.count == 2 ? LineIndex(text).line(of: parts[1], in: parts[0]) : nil
        return ConfigError(file: source ?? "config", line: line, key: path, reason: reason)
    }

    /// The first rule between keys this config breaks (checked again after a
    /// reload merges the new file's reloadable keys into the running config).
    public func relationProblem() -> ConfigError? {
        do {
            try checkRelations(file: source ?? "config", lines: LineIndex(""))
            return nil
        } catch {
            return error
        }
    }

    func checkRelations(file: String, lines: LineIndex) throws(ConfigError) {
        // Empty would mean the working directory's "" path: --check-config
        // passed it and the start failed with exit 1, not 78.
        if dataDir.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ConfigError(
                file: file, at: .storageDataDir, lines: lines,
                reason: "must not be empty (the default is \"./chatd-data\")")
        }
        let metrics = self[.metricsListen]
        if !metrics.isEmpty {
            guard let address = ListenAddress(metrics), address.isLoopback else {
                throw ConfigError(
                    file: file, at: .metricsListen, lines: lines,
                    reason: "expected \"\" or a loopback \"host:port\" (127.0.0.1, [::1] or localhost), got \"\(metrics)\"")
            }
        }
        if listen == nil && tlsListen == nil {
            throw ConfigError(
                file: file, at: .serverListen, lines: lines,
                reason: "may be \"\" only when tls.listen is set: chatd needs a listener for clients")
        }
        if let tls = tlsListen {
            if tls == listen && tls.port != 0 {
                throw ConfigError(
                    file: file, at: .tlsListen, lines: lines,
                    reason: "must differ from server.listen (\(tls))")
            }
            for setting in [Setting.tlsCertificate, .tlsPrivateKey] where self[setting].isEmpty {
                throw ConfigError(
                    file: file, line: lines.line(of: "listen", in: "tls"), key: setting.path,
                    reason: "must be set when tls.listen is")
            }
        }
        let gateway = self[.pushGatewayURL]
        if !gateway.isEmpty {
            // The operator's own gateway may be local: only the form is checked.
            var rules = PushRules()
            (rules.allowHTTP, rules.allowPrivateAddresses) = (true, true)
            do {
                try PushPolicy.checkEndpoint(gateway, rules: rules)
            } catch {
                throw ConfigError(
                    file: file, at: .pushGatewayURL, lines: lines, reason: "expected \"\" or an http(s) URL: \(error.message)")
            }
        }
        let subject = self[.pushVapidSubject]
        if !subject.isEmpty, !PushPolicy.isVAPIDSubject(subject) {
            throw ConfigError(
                file: file, at: .pushVapidSubject, lines: lines,
                reason: "expected \"\", a mailto: address or an https:// URL (printable ASCII, at most 256 bytes)")
        }
        if self[.accountsPasswordMinBytes] > self[.accountsPasswordMaxBytes] {
            throw ConfigError(
                file: file, at: .accountsPasswordMinBytes, lines: lines,
                reason: "must not exceed accounts.password_max_bytes")
        }
        if self[.limitsMaxMessageBytes] + 1024 > self[.serverMaxFrameBytes] {
            throw ConfigError(
                file: file, at: .limitsMaxMessageBytes, lines: lines,
                reason: "must be at least 1024 bytes below server.max_frame_bytes")
        }
        var limits = DomainLimits()
        limits.maxRoomNameBytes = Int(self[.limitsMaxRoomNameBytes])
        for name in self[.roomsDefault] {
            do {
                _ = try Validate.roomName(name, limits: limits)
            } catch {
                throw ConfigError(
                    file: file, at: .roomsDefault, lines: lines,
                    reason: "\"\(name)\" is not a valid room name: \(error.message)")
            }
        }
        if self[.filesMaxChunkBytes] + 4096 > self[.serverMaxFrameBytes] {
            throw ConfigError(
                file: file, at: .filesMaxChunkBytes, lines: lines,
                reason: "must be at least 4096 bytes below server.max_frame_bytes")
        }
        try checkPostgreSQL(file: file, lines: lines)
    }

    // MARK: Typed access

    /// The value of `setting`; its default when the file does not set it.
    public subscript(_ setting: Setting<Int64>) -> Int64 {
        if case .int(let i)? = values[setting.path] { return i }
        if case .int(let i) = setting.key.defaultValue { return i }
        return 0
    }

    public subscript(_ setting: Setting<String>) -> String {
        if case .string(let s)? = values[setting.path] { return s }
        if case .string(let s) = setting.key.defaultValue { return s }
        return ""
    }

    public subscript(_ setting: Setting<[String]>) -> [String] {
        if case .strings(let list)? = values[setting.path] { return list }
        if case .strings(let list) = setting.key.defaultValue { return list }
        return []
    }

    public subscript(_ setting: Setting<Bool>) -> Bool {
        if case .bool(let b)? = values[setting.path] { return b }
        if case .bool(let b) = setting.key.defaultValue { return b }
        return false
    }

    /// The value of a key chosen at run time (reload walks the changed keys).
    public func value(_ key: ConfigKey) -> ConfigValue {
        values[key.path] ?? key.defaultValue
    }

    /// Returns a copy with `path` set (tests, command-line overrides). Not validated.
    public func setting(_ path: String, _ value: ConfigValue) -> Config {
        var copy = self
        copy.values[path] = value
        return copy
    }

    /// The plain listener's address; nil when `server.listen` is "" (TLS only).
    public var listen: ListenAddress? { ListenAddress(self[.serverListen]) }

    /// The TLS listener's address; nil when `tls.listen` is "" (no TLS).
    public var tlsListen: ListenAddress? { ListenAddress(self[.tlsListen]) }

    public var dataDir: String { self[.storageDataDir] }

    public var controlSocketPath: String {
        let configured = self[.controlSocket]
        if !configured.isEmpty { return configured }
        return (dataDir as NSString).appendingPathComponent("chatd.sock")
    }

    /// Where file contents and partial uploads live.
    public var filesDir: String {
        let configured = self[.filesDir]
        if !configured.isEmpty { return configured }
        return (dataDir as NSString).appendingPathComponent("files")
    }

    /// One key's effective value as `chatctl config show` prints it.
    public struct Entry: Sendable, Equatable {
        public var key: String
        /// TOML literal; `redacted` for a secret that is set.
        public var value: String
        public var defaultValue: String
        public var reloadable: Bool
        public var secret: Bool
        public var isDefault: Bool
    }

    public static let redacted = "\"(redacted)\""

    /// Every key of `keys` (the table) with its value; a secret that differs
    /// from its default (normally empty) is redacted.
    public func entries(keys: [ConfigKey] = ConfigTable.keys) -> [Entry] {
        keys.map { key in
            let value = values[key.path] ?? key.defaultValue
            let isDefault = value == key.defaultValue
            return Entry(
                key: key.path, value: key.secret && !isDefault ? Self.redacted : value.tomlLiteral,
                defaultValue: key.secret ? Self.redacted : key.defaultValue.tomlLiteral, reloadable: key.reloadable,
                secret: key.secret, isDefault: isDefault)
        }
    }

    /// Keys whose value differs between two configs.
    public func changedKeys(from other: Config) -> [ConfigKey] {
        ConfigTable.keys.filter { values[$0.path] != other.values[$0.path] }
    }
}

public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// "host:port" or "[v6]:port".
    public init?(_ text: String) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// 127.0.0.0/8, ::1 or localhost.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var reason: String

    public init(file: String, line: Int? = nil, key: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    /// A problem with `setting`, at the line of the file that sets it.
    init<Value>(file: String, at setting: Setting<Value>, lines: LineIndex, reason: String) {
        self.init(
            file: file, line: lines.line(of: setting.key.name, in: setting.key.section), key: setting.path, reason: reason)
    }

    public var description: String {
        var out = file
        if let line { out += ":\(line)" }
        if let key { out += ": \(key)" }
        return out + ": " + reason
    }
}

/// Finds the line of `key = ...` inside `[section]`, for error messages
/// (TOMLKit reports positions only for syntax errors), and the value of a
/// `key = "string"` line, read without a TOML parser (for a file that does
/// not parse as a whole: chatctl still finds its socket).
struct LineIndex {
    private var positions: [String: Int] = [:]
    private var strings: [String: String] = [:]

    init(_ text: String) {
        var section: String?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && !line.hasPrefix("[[") {
                let name = line.dropFirst().prefix { $0 != "]" }.trimmingCharacters(in: .whitespaces)
                section = name
                if positions["[\(name)]"] == nil { positions["[\(name)]"] = number + 1 }
            } else if let eq = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = line[..<eq].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                let path = section.map { "\($0).\(key)" } ?? key
                if positions[path] == nil { positions[path] = number + 1 }
                let rest = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                // A plain "..." string; one with escapes is not worth guessing.
                if strings[path] == nil, rest.hasPrefix("\""), let close = rest.dropFirst().firstIndex(of: "\"") {
                    let value = String(rest[rest.index(after: rest.startIndex)..<close])
                    if !value.contains("\\") { strings[path] = value }
                }
            }
        }
    }

    func string(of key: String, in section: String) -> String? { strings["\(section).\(key)"] }

    func line(of key: String, in section: String?) -> Int? {
        guard let section else { return positions["[\(key)]"] ?? positions[key] }
        return positions["\(section).\(key)"]
    }
}

/// "did you mean" for a misspelt name: the closest candidates by edit distance.
public enum Suggestion {
    /// "; did you mean X?" when a candidate is within a third of the name's
    /// length (at least 2 edits), else "".
    public static func didYouMean(_ name: String, among candidates: [String], format: (String) -> String = { $0 }) -> String {
        // No key is this long: not worth the quadratic comparison.
        guard name.utf8.count <= 64 else { return "" }
        let word = Array(name.lowercased())
        let limit = max(2, word.count / 3)
        let scored = candidates.map { ($0, distance(word, Array($0.lowercased()))) }.filter { $0.1 <= limit }
        guard let best = scored.map(\.1).min() else { return "" }
        let names = scored.filter { $0.1 == best }.map { format($0.0) }
        return "; did you mean \(names.joined(separator: " or "))?"
    }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
