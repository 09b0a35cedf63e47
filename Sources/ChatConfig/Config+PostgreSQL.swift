import Foundation

/// `storage.postgresql_url`, parsed: where the PostgreSQL store connects.
/// A password is never part of it (see `Config.postgresqlPassword`).
public struct PostgresURL: Sendable, Equatable {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String

    /// Parses "postgresql://USER@HOST[:PORT]/DATABASE" (or "postgres://");
    /// the reason when it is not one, or carries a password.
    public static func parse(_ text: String) -> Result<PostgresURL, URLProblem> {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme,
            scheme == "postgresql" || scheme == "postgres"
        else { return .failure(URLProblem("expected \"postgresql://USER@HOST:PORT/DATABASE\"")) }
        if parts.password != nil {
            return .failure(URLProblem("must not contain a password: put it in storage.postgresql_password_file"))
        }
        guard let user = parts.user, !user.isEmpty else { return .failure(URLProblem("needs a user (USER@HOST)")) }
        guard let host = parts.host, !host.isEmpty else { return .failure(URLProblem("needs a host")) }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { return .failure(URLProblem("needs a database (/DATABASE)")) }
        if parts.query != nil || parts.fragment != nil {
            return .failure(URLProblem("takes no ?parameters or #fragment"))
        }
        let port = parts.port ?? 5432
        guard (1...65_535).contains(port) else { return .failure(URLProblem("port \(port) is out of range 1..65535")) }
        return .success(PostgresURL(user: user, host: host, port: port, database: database))
    }

    public struct URLProblem: Error, Sendable, Equatable {
        public var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The URL as the config writes it (no password, ever).
    public var description: String { "postgresql://\(user)@\(host):\(port)/\(database)" }
}

extension Config {
    /// The password file may hold one line of at most this many bytes.
    static let maxPasswordFileBytes = 1024

    /// Whether this config stores its data in PostgreSQL.
    public var usesPostgreSQL: Bool { self[.storageBackend] == "postgresql" }

    /// `storage.postgresql_url`, parsed (checked at load when the backend is postgresql).
    public var postgresURL: PostgresURL? {
        guard case .success(let url) = PostgresURL.parse(self[.storagePostgresqlUrl]) else { return nil }
        return url
    }

    /// The PostgreSQL password: the first line of `storage.postgresql_password_file`,
    /// nil when no file is configured. The file must not be readable by every
    /// user; its content appears in no error.
    public func postgresqlPassword() throws(ConfigError) -> String? {
        let path = self[.storagePostgresqlPasswordFile]
        if path.isEmpty { return nil }
        let key = "storage.postgresql_password_file"
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw self.error(key: key, reason: "cannot read \(path): \(reason)")
        }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value, mode & 0o004 != 0 {
            throw self.error(key: key, reason: "\(path) is readable by every user (chmod o-r)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw self.error(key: key, reason: "cannot read \(path): permission denied")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: Self.maxPasswordFileBytes + 1) ?? Data()
        } catch {
            throw self.error(key: key, reason: "cannot read \(path)")
        }
        guard data.count <= Self.maxPasswordFileBytes else {
            throw self.error(key: key, reason: "\(path) is larger than \(Self.maxPasswordFileBytes) bytes")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw self.error(key: key, reason: "\(path) is not UTF-8 text")
        }
        // The first line, by bytes ("\r\n" is one Character).
        let password = String(decoding: text.utf8.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        guard !password.isEmpty, !password.utf8.contains(0) else {
            throw self.error(key: key, reason: "\(path) holds no password on its first line")
        }
        return password
    }

    /// The PostgreSQL keys' rule: with the postgresql backend, a usable URL.
    func checkPostgreSQL(file: String, lines: LineIndex) throws(ConfigError) {
        let text = self[.storagePostgresqlUrl]
        // A URL is checked even with the sqlite backend, so that a password
        // written there is refused whatever the backend.
        if text.isEmpty {
            guard !usesPostgreSQL else {
                throw ConfigError(
                    file: file, line: lines.line(of: "backend", in: "storage"), key: "storage.postgresql_url",
                    reason: "must be set when storage.backend is \"postgresql\"")
            }
            return
        }
        if case .failure(let problem) = PostgresURL.parse(text) {
            // The reason only: the text may hold a password.
            throw ConfigError(
                file: file, line: lines.line(of: "postgresql_url", in: "storage"), key: "storage.postgresql_url",
                reason: problem.reason)
        }
    }
}
