import ChatClient
import ChatCore
@testable import ChatDaemon
import ChatProtocol
import ChatStore
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct BackupDestinationTests {
    @Test func destinationRules() throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Backup.check(dir) == .useEmpty)
        #expect(try Backup.check(dir + "/new") == .create)
        #expect(throws: ChatFailure.self) { try Backup.check("relative/path") }
        #expect(throws: ChatFailure.self) { try Backup.check(dir + "/missing/new") }
        try "x".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        #expect(throws: ChatFailure.self) { try Backup.check(dir) }
        #expect(throws: ChatFailure.self) { try Backup.check(dir + "/file") }
        // Inside the data directory or the file store it would copy itself.
        #expect(Backup.isInside(dir + "/data/files/bk", dir + "/data/files"))
        #expect(Backup.isInside(dir + "/data", dir + "/data"))
        #expect(!Backup.isInside(dir + "/data-backup", dir + "/data"))
        #expect(!Backup.isInside(dir + "/other", dir + "/data"))
    }

    @Test func aBackupIntoTheFileStoreIsRefusedAndLeavesNothing() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice")
            _ = try await uploadPNG(alice)
            let s = ["--socket", server.daemon.controlSocketPath]
            let inside = server.dataDir + "/files/bk"
            let r = try await chatctl(s + ["backup", inside])
            #expect(r.status == 1 && r.stderr.contains("invalid_field"), "\(r.stdout)\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: inside))
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct BackupTests {
    /// A backup taken under write load restores to a database that passes
    /// integrity_check and holds every message acknowledged before the
    /// backup began.
    @Test func backupUnderWriteLoadRestores() async throws {
        let d = try await LiveChatd.start()
        let target = TestServer.tempDir() + "-backup"
        defer {
            Task { await d.stop() }
            try? FileManager.default.removeItem(atPath: target)
            try? FileManager.default.removeItem(atPath: target + ".conf")
        }
        // A file store with a nested file, as the files feature lays it out.
        try FileManager.default.createDirectory(atPath: d.dir + "/files/ab", withIntermediateDirectories: true)
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: d.dir + "/files/ab/abcdef"))

        try await d.addUsers("writer")
        let c = try await d.client("writer")
        let room = try await c.createRoom(name: "load")
        let acked = Mutex<[UInt64: String]>([:])
        let stop = Atomic<Bool>(false)
        let load = Task {
            var i = 0
            while !stop.load(ordering: .relaxed), i < 20_000 {
                guard let r = try? await c.send(room: room.id, text: "m\(i)", clientMsgID: "w-\(i)") else { break }
                acked.withLock { $0[r.event.seq] = "m\(i)" }
                i += 1
            }
        }
        while acked.withLock({ $0.count }) < 200 { try await Task.sleep(for: .milliseconds(5)) }
        let before = acked.withLock { $0 }
        var r = try await d.run(["backup", target])
        #expect(r.status == 0 && r.stdout.contains("backed up to \(target)"), "\(r.stderr)")
        #expect(r.stdout.contains("1 files"))
        stop.store(true, ordering: .relaxed)
        _ = await load.value
        #expect(acked.withLock { $0.count } > before.count, "writes went on during the backup")

        // Refused: the directory is not empty now; --json mode on an empty one.
        r = try await d.run(["backup", target])
        #expect(r.status == 1 && r.stderr.contains("conflict"))
        let second = target + "/../" + (target as NSString).lastPathComponent + "-2"
        defer { try? FileManager.default.removeItem(atPath: second) }
        let o = try await d.json(["backup", second])
        #expect((o["database_bytes"] as? Int ?? 0) > 0 && o["files"] as? Int == 1)

        // The copy is sound and complete.
        let copy = try SQLiteStore.open(path: target + "/chatd.sqlite3", readers: 1)
        #expect(try await copy.integrityCheck() == "ok")
        try copy.close()
        #expect(FileManager.default.contents(atPath: target + "/files/ab/abcdef")?.count == 1000)
        #expect(FileManager.default.contents(atPath: target + "/token.key") == FileManager.default.contents(atPath: d.dir + "/token.key"))

        // Restore: a chatd on the backup directory serves the messages.
        let restored = try ChatdProcess(dataDir: target)
        defer { restored.signal(SIGTERM) }
        let port = try await restored.waitReady()
        let c2 = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        try await c2.hello()
        _ = try await c2.login(username: "writer", password: "password1")
        var stored: [UInt64: String] = [:]
        var after: UInt64 = 0
        while true {
            let page = try await c2.history(room: room.id, after: after, limit: 200)
            for e in page.events where e.kind == .message { stored[e.seq] = e.text }
            after = page.events.last?.seq ?? after
            if !page.hasMore_p { break }
        }
        for (seq, text) in before { #expect(stored[seq] == text, "seq \(seq) acknowledged before the backup is missing") }
        restored.signal(SIGTERM)
        #expect(await restored.waitExit() == 0)
    }
}
