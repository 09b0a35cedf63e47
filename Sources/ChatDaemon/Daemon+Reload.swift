import ChatConfig
import ChatCore
import ChatServer
import ChatStore
import Foundation
import Logging

extension Daemon {
    public struct ReloadResult: Sendable, Equatable {
        /// Reloadable keys whose new value is now in force.
        public var applied: [String]
        /// Changed keys that take effect only after a restart.
        public var needRestart: [String]
    }

    /// Re-reads nothing itself: applies `new` (see `reload(_:)`), telling
    /// systemd around it.
    @discardableResult
    public func reloadNotifying(_ new: Config) -> ReloadResult {
        notifier.reloading()
        let result = reload(new)
        notifier.ready(status: statusLine())
        return result
    }

    /// Applies the reloadable keys of `new` (SIGHUP). Connections stay open;
    /// changed keys that are not reloadable are reported, not applied.
    @discardableResult
    public func reload(_ new: Config) -> ReloadResult {
        let (result, merged) = effective.withLock { current -> (ReloadResult, Config) in
            var merged = current
            var result = ReloadResult(applied: [], needRestart: [])
            for key in new.changedKeys(from: current) {
                if key.reloadable {
                    merged = merged.setting(key.path, new.value(key))
                    result.applied.append(key.path)
                } else {
                    result.needRestart.append(key.path)
                }
            }
            // The new file was valid as a whole, but its reloadable keys next to
            // the running restart-only ones may not be (a bigger message limit
            // waiting for a bigger frame limit): such a key waits for the restart too.
            while let problem = merged.relationProblem() {
                guard let key = problem.key, let index = result.applied.firstIndex(of: key), let tableKey = ConfigTable.key(key)
                else {
                    merged = current  // cannot tell which key: apply nothing
                    result.needRestart += result.applied
                    result.applied = []
                    break
                }
                merged = merged.setting(key, current.value(tableKey))
                result.applied.remove(at: index)
                result.needRestart.append(key)
            }
            current = merged
            return (result, merged)
        }
        let settings = Settings(merged)
        if result.applied.contains("rooms.default") {
            let (store, accounts, logger) = (self.store, self.accounts, self.logger)
            Task {
                do {
                    try await Self.applyDefaultRooms(merged, store: store, accounts: accounts, clock: SystemClock(), logger: logger)
                } catch {
                    logger.error("rooms.default not applied", metadata: ["chatd.error": "\(error)"])
                }
            }
        }
        if result.applied.contains(Setting.logLevel.path), let level = Logger.Level(rawValue: merged[.logLevel]) {
            logLevel.set(level)
        }
        accounts.reconfigure(limits: settings.domain, throttle: settings.throttle)
        store.reconfigure(groupCommit: settings.groupCommit)
        rooms.reconfigure(limits: settings.domain)
        files.reconfigure(limits: settings.files)
        push.targets.setRules(settings.push)
        server.updateSettings(settings.server)
        tlsListener?.tls?.update(TLSSetup.limits(merged))
        storage.configure(settings)
        logger.info(
            "configuration reloaded",
            metadata: [
                "chatd.applied": "\(result.applied.joined(separator: ","))",
                "chatd.restart_needed": "\(result.needRestart.joined(separator: ","))",
            ])
        return result
    }

    /// Re-reads the config file this daemon was started from and applies it
    /// (chatctl reload; SIGHUP goes through the same path).
    public func reloadFromFile() async throws -> (applied: [String], needRestart: [String]) {
        guard let path = config.source else {
            throw ChatFailure(.wrongState, "chatd runs on its embedded default; there is no config file to reload")
        }
        if let probe = configProbe.withLock({ $0 }), let problem = await probe.problem(path: path) {
            logger.error("reload refused, configuration unchanged", metadata: ["chatd.error": "\(problem)"])
            throw ChatFailure.invalid("config", problem)
        }
        let next: Config
        do {
            next = try Config.load(path: path)
        } catch {
            logger.error("reload refused, configuration unchanged", metadata: ["chatd.error": "\(error)"])
            throw ChatFailure.invalid("config", "\(error)")
        }
        // The TLS files are read again on every reload (a renewal replaces them
        // in place). One that cannot be used refuses the whole reload, so the
        // certificate in force and every key stay as they were.
        var credentials: TLSCredentials?
        if tlsListener != nil {
            do {
                credentials = try TLSSetup.credentials(next)
            } catch {
                logger.error(
                    "reload refused, configuration and TLS certificate unchanged", metadata: ["chatd.error": "\(error)"])
                throw ChatFailure.invalid(error.key ?? "tls", "\(error); the certificate in use is kept")
            }
        }
        let result = reloadNotifying(next)
        if let credentials, let tls = tlsListener?.tls {
            tls.replace(credentials)
            for warning in credentials.warnings { logger.warning("\(warning)") }
            logger.info(
                "TLS certificate reloaded",
                metadata: [
                    "chatd.tls.subject": "\(credentials.subject)",
                    "chatd.tls.expires": "\(TLSCredentials.date(credentials.notValidAfter))",
                ])
        }
        return (result.applied, result.needRestart)
    }

    /// chatctl log-level: sets the level now (nil: reads it) and records it
    /// as the effective `log.level`; the next reload puts the file's value
    /// back (it differs from the one in force). Returns (in force, previous).
    public func setLogLevel(_ text: String?) throws -> (current: String, previous: String) {
        guard let text else { return (logLevel.level.rawValue, logLevel.level.rawValue) }
        guard let level = Logger.Level(rawValue: text) else {
            throw ChatFailure.invalid(
                "level", "level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let previous = logLevel.set(level)
        effective.withLock { $0 = $0.setting("log.level", .string(level.rawValue)) }
        logger.notice("log level changed", metadata: ["chatd.level": "\(level)", "chatd.previous": "\(previous)"])
        return (level.rawValue, previous.rawValue)
    }

    /// Creates the configured default rooms that do not exist yet and makes
    /// new accounts join them.
    static func applyDefaultRooms(
        _ config: Config, store: any Store, accounts: AccountService, clock: any WallClock, logger: Logger
    ) async throws {
        let limits = Settings(config).domain
        var names: [String] = []
        for name in config[.roomsDefault] {
            do {
                names.append(try Validate.roomName(name, limits: limits))
            } catch {
                throw DaemonError("rooms.default: \"\(name)\" is not a valid room name: \(error)")
            }
        }
        let ids = try await store.ensureRooms(names: names, now: clock.nowMs())
        accounts.setDefaultRooms(ids)
        if !ids.isEmpty { logger.info("default rooms", metadata: ["chatd.rooms": "\(names.joined(separator: ", "))"]) }
    }

    /// SIGHUP: `reloadFromFile`, with what it did or why not in the log.
    func reloadOnSignal() async {
        do {
            let result = try await reloadFromFile()
            if !result.needRestart.isEmpty {
                logger.warning(
                    "changed keys need a restart", metadata: ["chatd.keys": "\(result.needRestart.joined(separator: ", "))"])
            }
        } catch {
            logger.notice("SIGHUP: \(error)")
        }
    }
}
