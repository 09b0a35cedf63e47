import Foundation

/// Where chatctl looks for chatd's control socket, in order: `--socket`,
/// `$CHATD_SOCKET`, `--config FILE`, the system config
/// `/etc/chatd/chatd.conf` when it exists, and last the embedded default
/// (`./chatd-data/chatd.sock`). A config file that does not load (being
/// edited, say) still names its socket: the `[control] socket` and
/// `[storage] data_dir` lines are read on their own, and the choice says so.
/// A value type: the file system is passed in, so every rule is tested
/// without one.
public struct ControlSocketLocator: Sendable {
    public static let systemConfig = "/etc/chatd/chatd.conf"

    public var socketOption: String?
    public var configOption: String?
    public var environment: [String: String]
    /// Reads a file; nil when it does not exist or cannot be read.
    public var readFile: @Sendable (String) -> String?
    public var fileExists: @Sendable (String) -> Bool

    public init(
        socketOption: String?, configOption: String?, environment: [String: String],
        readFile: @escaping @Sendable (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) },
        fileExists: @escaping @Sendable (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) {
        self.socketOption = socketOption
        self.configOption = configOption
        self.environment = environment
        self.readFile = readFile
        self.fileExists = fileExists
    }

    public struct Choice: Sendable, Equatable {
        public var path: String
        /// Where the path came from, for messages: "--socket", "CHATD_SOCKET", a config file, "the default".
        public var source: String
        /// Set when the config file did not load and its socket was read leniently.
        public var warning: String?

        public init(path: String, source: String, warning: String? = nil) {
            self.path = path
            self.source = source
            self.warning = warning
        }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// `--config` names a file that cannot be read at all.
        case unreadableConfig(path: String, reason: String)

        public var description: String {
            switch self {
            case .unreadableConfig(let path, let reason): "cannot read the config file \(path): \(reason)"
            }
        }
    }

    public func locate() throws(Failure) -> Choice {
        if let socketOption { return Choice(path: socketOption, source: "--socket") }
        if let env = environment["CHATD_SOCKET"], !env.isEmpty { return Choice(path: env, source: "CHATD_SOCKET") }
        if let configOption {
            guard let text = readFile(configOption) else {
                throw .unreadableConfig(path: configOption, reason: fileExists(configOption) ? "permission denied" : "no such file")
            }
            return fromConfig(text, path: configOption)
        }
        if fileExists(Self.systemConfig), let text = readFile(Self.systemConfig) {
            return fromConfig(text, path: Self.systemConfig)
        }
        return Choice(path: Config.defaults.controlSocketPath, source: "the default")
    }

    private func fromConfig(_ text: String, path: String) -> Choice {
        do {
            return Choice(path: try Config.parse(text, file: path).controlSocketPath, source: path)
        } catch {
            var lenient = Config.defaults
            let lines = LineIndex(text)
            if let dataDir = lines.string(of: "data_dir", in: "storage") {
                lenient = lenient.setting("storage.data_dir", .string(dataDir))
            }
            if let socket = lines.string(of: "socket", in: "control") {
                lenient = lenient.setting("control.socket", .string(socket))
            }
            let socket = lenient.controlSocketPath
            return Choice(
                path: socket, source: path,
                warning: "\(path) does not load (\(error)); using the socket it names, \(socket)")
        }
    }
}
