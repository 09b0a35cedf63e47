import ArgumentParser
import ChatBuildInfo
import ChatConfig
import ChatCore
import ChatDaemon
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

@main
struct ChatdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatd",
        abstract: "chatd: a self-hosted chat server.",
        discussion: """
            Without --config, chatd runs on its embedded default: clients on 127.0.0.1:7600,
            data and the control socket in ./chatd-data.
            """,
        version: BuildInfo.description,
        subcommands: [MigrateCommand.self])

    @Option(name: .long, help: "Path of the TOML config file.")
    var config: String?

    @Flag(name: .long, help: "Validate the config file and exit (0 when valid).")
    var checkConfig = false

    @Flag(name: .long, help: "Print a config file with every key at its default, and exit.")
    var printDefaultConfig = false

    /// A running chatd parses a file it reloads in a child first (ConfigFileProbe).
    @Option(name: .customLong(String(ConfigFileProbe.option.dropFirst(2))), help: .hidden)
    var checkConfigSyntax: String?

    func run() async throws {
        // Files chatd creates (database, WAL, socket) are the owner's only.
        umask(0o077)
        if let path = checkConfigSyntax {
            // Only the parse: a crash in it must happen here, not in the serving chatd.
            do {
                _ = try Config.load(path: path)
            } catch {
                throw ExitCode(78)
            }
            return
        }
        if printDefaultConfig {
            print(ConfigTable.exampleFile(), terminator: "")
            return
        }
        let cfg: Config
        do {
            cfg = try config.map { try Config.load(path: $0) } ?? .defaults
            // The files the config names (TLS certificate and key) are loaded
            // and checked as a start would.
            let warnings = try TLSSetup.check(cfg)
            if checkConfig {
                for warning in warnings { FileHandle.standardError.write(Data("chatd: warning: \(warning)\n".utf8)) }
            }
        } catch {
            FileHandle.standardError.write(Data("chatd: config error: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        if checkConfig {
            // Beyond the file: can the directories be made and the addresses bound?
            let findings = StartupChecks.check(cfg)
            for warning in findings.warnings { FileHandle.standardError.write(Data("chatd: warning: \(warning)\n".utf8)) }
            for error in findings.errors { FileHandle.standardError.write(Data("chatd: \(error)\n".utf8)) }
            guard findings.errors.isEmpty else { throw ExitCode(78) }
            if let problem = await StorageBackend.checkConnection(cfg, logger: Logger(label: "chatd.check")) {
                FileHandle.standardError.write(Data("chatd: \(problem)\n".utf8))
                throw ExitCode(78)
            }
            print("chatd: \(config ?? "embedded default") is valid")
            return
        }

        // The level is read at each log call: SIGHUP and chatctl log-level change it.
        let level = LogLevelControl(Logger.Level(rawValue: cfg[.logLevel]) ?? .info)
        let format = LineLogHandler.Format(rawValue: cfg[.logFormat]) ?? .text
        LoggingSystem.bootstrap { label in
            DynamicLevelLogHandler(inner: LineLogHandler(label: label, format: format), control: level)
        }
        let logger = Logger(label: "chatd")
        logger.info("chatd \(BuildInfo.description) starting")
        let daemon: Daemon
        do {
            daemon = try await Daemon.start(
                config: cfg, logger: logger, notifier: SystemdNotifier(), listenDescriptor: Self.activatedSocket(),
                logLevel: level, handlesSignals: true, configProbe: ConfigFileProbe())
        } catch let conflict as InstanceConflictError {
            // Another chatd owns the data directory or the control socket;
            // nothing of it was touched.
            logger.critical("chatd could not start: \(conflict)")
            throw ExitCode(73)  // EX_CANTCREAT
        } catch let error as ConfigError {
            // A TLS file changed between the check above and the start.
            logger.critical("chatd could not start: config error", metadata: ["chatd.error": "\(error)"])
            throw ExitCode(78)
        } catch let error as DataDirectoryRefused {
            logger.critical("chatd refuses to start", metadata: ["chatd.error": "\(error)"])
            throw ExitCode(78)  // EX_CONFIG: the configured data_dir is not one to start on
        } catch {
            logger.critical("chatd could not start", metadata: ["chatd.error": "\(error)"])
            throw ExitCode(1)
        }
        // SIGTERM and SIGINT stop the daemon's service group gracefully, SIGHUP reloads.
        do {
            try await daemon.waitUntilStopped()
        } catch {
            logger.critical("chatd stopped on a failure", metadata: ["chatd.error": "\(error)"])
            throw ExitCode(1)
        }
    }

    /// systemd socket activation: with `LISTEN_PID` = this process and
    /// `LISTEN_FDS` ≥ 1, the first passed descriptor (3) is the client
    /// listener, used instead of `[server] listen`. The variables are removed
    /// so they do not leak to children.
    static func activatedSocket() -> CInt? {
        let env = ProcessInfo.processInfo.environment
        defer {
            unsetenv("LISTEN_PID")
            unsetenv("LISTEN_FDS")
            unsetenv("LISTEN_FDNAMES")
        }
        guard let pid = env["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = env["LISTEN_FDS"].flatMap(Int.init), count >= 1
        else { return nil }
        let fd: CInt = 3
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }
}
