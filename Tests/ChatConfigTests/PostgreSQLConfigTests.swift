@testable import ChatConfig
import Foundation
import Testing

struct PostgreSQLConfigTests {
    static func reason(_ text: String) -> String? {
        do {
            _ = try Config.parse(text, file: "chatd.conf")
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func urlIsParsedWithoutAPassword() throws {
        let config = try Config.parse(
            "[storage]\nbackend = \"postgresql\"\npostgresql_url = \"postgresql://chatd@db.example:6543/chat\"\n", file: "t")
        #expect(config.usesPostgreSQL)
        #expect(config.postgresURL == PostgresURL(user: "chatd", host: "db.example", port: 6543, database: "chat"))
        #expect(try Config.parse("[storage]\npostgresql_url = \"postgres://u@h/d\"\n", file: "t").postgresURL?.port == 5432)
        #expect(!Config.defaults.usesPostgreSQL)
    }

    @Test func badURLsAreRefusedWithoutEchoingThem() {
        let secret = "hunter2secret"
        let withPassword = Self.reason("[storage]\npostgresql_url = \"postgresql://chatd:\(secret)@h:5432/d\"\n")
        #expect(withPassword == "must not contain a password: put it in storage.postgresql_password_file")
        #expect(withPassword?.contains(secret) == false)
        #expect(Self.reason("[storage]\nbackend = \"postgresql\"\n") == "must be set when storage.backend is \"postgresql\"")
        #expect(Self.reason("[storage]\npostgresql_url = \"mysql://u@h/d\"\n") == "expected \"postgresql://USER@HOST:PORT/DATABASE\"")
        #expect(Self.reason("[storage]\npostgresql_url = \"postgresql://h/d\"\n") == "needs a user (USER@HOST)")
        #expect(Self.reason("[storage]\npostgresql_url = \"postgresql://u@h/\"\n") == "needs a database (/DATABASE)")
        #expect(Self.reason("[storage]\npostgresql_url = \"postgresql://u@h/d?sslmode=x\"\n") == "takes no ?parameters or #fragment")
        #expect(Self.reason("[storage]\nbackend = \"mysql\"\n") == "\"mysql\" is not one of sqlite, postgresql")
        #expect(Self.reason("[storage]\npostgresql_pool_size = 0\n") == "0 is out of range 1..256")
    }

    @Test func passwordFileIsReadWithACapAndNeverEchoed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgconf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func config(_ content: String?, mode: Int = 0o600) throws -> Config {
            let path = dir.appendingPathComponent("pw").path
            try? FileManager.default.removeItem(atPath: path)
            if let content {
                _ = FileManager.default.createFile(atPath: path, contents: Data(content.utf8), attributes: [.posixPermissions: mode])
            }
            return Config.defaults.setting("storage.postgresql_password_file", .string(path))
        }
        #expect(try config("s3cret\n").postgresqlPassword() == "s3cret")
        #expect(try config("s3cret\r\nrest").postgresqlPassword() == "s3cret")
        #expect(try Config.defaults.postgresqlPassword() == nil)
        let tooBig = String(repeating: "x", count: Config.maxPasswordFileBytes + 1)
        #expect(throws: ConfigError.self) { try config(tooBig).postgresqlPassword() }
        #expect(throws: ConfigError.self) { try config("").postgresqlPassword() }
        #expect(throws: ConfigError.self) { try config(nil).postgresqlPassword() }
        let worldReadable = try config("worldreadable\n", mode: 0o644)
        do {
            _ = try worldReadable.postgresqlPassword()
            Issue.record("a world-readable password file was accepted")
        } catch {
            #expect(error.reason.contains("readable by every user"))
            #expect(!error.description.contains("worldreadable"))
        }
    }
}
