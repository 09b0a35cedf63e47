import ChatStore
import Foundation
import GRDB
import Testing

struct SQLiteSchemaTests {
    /// A database a newer chatd has migrated is refused, not opened with a
    /// schema this build does not know (GRDB's migrator alone would skip
    /// the unknown migrations and go on), and is left as it was.
    @Test func aDatabaseMigratedByANewerChatdIsRefused() throws {
        let dir = NSTemporaryDirectory() + "chatd-schema-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/chatd.sqlite3"
        try SQLiteStore.open(path: path).close()
        // What a newer build would leave: a migration this one has never heard of.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-a-newer-chatd')")
            try db.execute(sql: "CREATE TABLE from_a_newer_chatd (x)")
        }
        let before = try queue.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master ORDER BY name") }
        try queue.close()

        do {
            try SQLiteStore.open(path: path).close()
            Issue.record("a database migrated by a newer chatd was opened")
        } catch let error as SQLiteStore.SchemaTooNew {
            #expect(error.unknownMigrations == ["v99-from-a-newer-chatd"])
            #expect("\(error)".contains("a newer chatd has used it"), "\(error)")
        }
        let after = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master ORDER BY name")
        }
        #expect(after == before)
    }
}
