#if canImport(Glibc)
import Glibc
#endif

/// Parses a config file in a child process before a running chatd does
/// (reload: SIGHUP or chatctl reload). The TOML parser (toml++ inside
/// TOMLKit) stops the whole process with an assertion on some malformed
/// input; `Config.parse` refuses the ones known (`TOMLKitGuard`), and this
/// keeps an unknown one from taking a serving chatd down: the child dies
/// instead, and the reload is refused.
public struct ConfigFileProbe: Sendable {
    /// chatd's hidden option: parse the file, exit 0 (valid) or 78 (invalid).
    public static let option = "--check-config-syntax"

    /// The chatd executable to run with `option`.
    public let executable: String
    /// How long the child may take.
    public let timeout: Duration

    public init(executable: String = "/proc/self/exe", timeout: Duration = .seconds(30)) {
        self.executable = executable
        self.timeout = timeout
    }

    /// Why the file must not be parsed in this process, or nil when the
    /// child parsed it and exited (valid or not: the parse in this process
    /// then says what is wrong, as before).
    public func problem(path: String) async -> String? {
        let child: ChildProcess
        do {
            child = try ChildProcess([executable, Self.option, path], environment: ["SWIFT_BACKTRACE": "enable=no"])
        } catch {
            return "the config file could not be checked in a child process (\(executable): \(error))"
        }
        guard let exit = await child.wait(timeout: timeout) else {
            child.signal(SIGKILL)
            _ = await child.wait(timeout: .seconds(5))
            return "the config parser did not finish within \(timeout) in a child process"
        }
        if case .signaled(let signal) = exit {
            return "the config parser crashed on this file in a child process (signal \(signal)); "
                + "look for a malformed line (a table header, a date, an array) and run chatd --check-config"
        }
        return nil
    }
}
