import ChatConfig
import ChatPostgres
import Logging

/// The configured storage backend: the one place that turns the
/// `storage.*` keys into a store's settings.
public enum StorageBackend {
    /// The PostgreSQL store's settings from the config (URL, password file,
    /// pool, statement timeout). The password is read here and goes nowhere
    /// but the connection.
    public static func postgresSettings(_ c: Config) throws(ConfigError) -> PostgresStore.Settings {
        guard let url = c.postgresURL else {
            throw c.error(key: "storage.postgresql_url", reason: "must be set when storage.backend is \"postgresql\"")
        }
        return PostgresStore.Settings(
            host: url.host, port: url.port, user: url.user, password: try c.postgresqlPassword(), database: url.database,
            poolSize: Int(c[.storagePostgresqlPoolSize]),
            statementTimeoutMs: Int(c[.storagePostgresqlStatementTimeoutMs]))
    }

    /// What `chatd --check-config` says about the database: nil when the
    /// SQLite backend is configured or PostgreSQL answers (reachable, the
    /// login accepted, a supported version), else the reason, plainly.
    public static func checkConnection(_ c: Config, logger: Logger) async -> String? {
        guard c.usesPostgreSQL else { return nil }
        let settings: PostgresStore.Settings
        do {
            settings = try postgresSettings(c)
        } catch {
            return "config error: \(error)"
        }
        do {
            let version = try await PostgresStore.check(settings, logger: logger)
            guard version >= PostgresStore.minimumServerVersion else {
                return "storage.postgresql_url: the server is PostgreSQL \(version / 10_000), too old (13 or newer is needed)"
            }
            return nil
        } catch let error as PostgresStoreError {
            switch error.kind {
            case .unreachable: return "storage.postgresql_url: unreachable: \(error.message)"
            case .authenticationFailed: return "storage.postgresql_url: authentication failed: \(error.message)"
            case .serverTooOld: return "storage.postgresql_url: wrong server version: \(error.message)"
            case .newerSchema, .other: return "storage.postgresql_url: \(error.message)"
            }
        } catch {
            return "storage.postgresql_url: \(error)"
        }
    }
}
