import ChatClient
import ChatCore
@testable import ChatDaemon
import ChatProtocol
import ChatServer
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
        try await withServer(backend: .sqlite) { server in
            let (alice, _) = try await server.user("alice")
            _ = try await uploadPNG(alice)
            let s = ["--socket", server.daemon.controlSocketPath]
            let inside = server.dataDir + "/files/bk"
            let r = try await chatctl(s + ["backup", inside])
            #expect(r.status == 2 && r.stderr.contains("invalid_field"), "\(r.stdout)\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: inside))
        }
    }

    /// A backup that fails midway (here: no token key to copy) removes its
    /// staging directory: the path stays absent, or empty.
    @Test func aFailedBackupLeavesNothing() async throws {
        try await withServer(backend: .sqlite) { server in
            let base = TestServer.tempDir()
            let noKey = base + "/data"
            let target = base + "/backup"
            defer { try? FileManager.default.removeItem(atPath: base) }
            try FileManager.default.createDirectory(atPath: noKey, withIntermediateDirectories: false)
            // The token key's copy fails after the database was copied into the staging directory
            // (a file-system error, not one of the path checks, which are ChatFailures).
            let error = await #expect(throws: (any Error).self) {
                try await Backup.run(
                    store: try server.sqlite, dataDir: noKey, fileStore: server.dataDir + "/files", to: target,
                    chatdVersion: "test", clock: SystemClock())
            }
            #expect(!(error is ChatFailure), "\(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: target))
            #expect(stagingDirectories(for: target).isEmpty)
            // Staged in place (an empty directory a rename cannot replace): emptied again.
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            await #expect(throws: (any Error).self) {
                try await Backup.run(
                    store: try server.sqlite, dataDir: noKey, fileStore: server.dataDir + "/files", to: target,
                    chatdVersion: "test", clock: SystemClock(), inPlace: true)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
        }
    }

    /// Staged in place, the backup ends complete too: manifest, no marker.
    @Test func aBackupStagedInPlaceIsComplete() async throws {
        try await withServer(backend: .sqlite) { server in
            _ = try await server.user("alice")
            let target = TestServer.tempDir()
            defer { try? FileManager.default.removeItem(atPath: target) }
            let summary = try await Backup.run(
                store: try server.sqlite, dataDir: server.dataDir, fileStore: server.dataDir + "/files", to: target,
                chatdVersion: "test", clock: SystemClock(), inPlace: true)
            #expect(summary.users == 1)
            #expect(stagingDirectories(for: target).isEmpty)
            let v = BackupVerification.run(path: target)
            #expect(v.ok, "\(v.problems)")
            #expect(v.manifest?.chatdVersion == "test" && v.manifest?.sourceDataDir == server.dataDir)
            #expect(!FileManager.default.fileExists(atPath: target + "/" + BackupDirectory.incompleteMarkerName))

            // A symbolic link to an empty directory (a rename would replace the link): written through it.
            let real = TestServer.tempDir()
            let link = target + "-link"
            defer {
                try? FileManager.default.removeItem(atPath: real)
                try? FileManager.default.removeItem(atPath: link)
            }
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
            _ = try await Backup.run(
                store: try server.sqlite, dataDir: server.dataDir, fileStore: server.dataDir + "/files", to: link,
                chatdVersion: "test", clock: SystemClock())
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == real)
            #expect(BackupVerification.run(path: real).ok)
        }
    }

    /// chatd does not start on an unfinished backup, nor on a backup whose
    /// database is missing, and creates nothing there.
    @Test func chatdRefusesAnUnfinishedBackup() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/" + BackupDirectory.incompleteMarkerName))
        await #expect(throws: DataDirectoryRefused.self) { try await TestServer.start(dataDir: dir, backend: .sqlite) }
        try FileManager.default.removeItem(atPath: dir + "/" + BackupDirectory.incompleteMarkerName)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/" + BackupDirectory.manifestName))
        await #expect(throws: DataDirectoryRefused.self) { try await TestServer.start(dataDir: dir, backend: .sqlite) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [BackupDirectory.manifestName])
    }
}

/// Staging directories (`.<name>.partial-…`) of backups to `target`.
func stagingDirectories(for target: String) -> [String] {
    let parent = (target as NSString).deletingLastPathComponent
    let prefix = "." + (target as NSString).lastPathComponent + ".partial-"
    return ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0.hasPrefix(prefix) }
        .map { (parent as NSString).appendingPathComponent($0) }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct BackupTests {
    /// A backup taken under write load restores to a database that passes
    /// integrity_check and holds every message acknowledged before the
    /// backup began.
    @Test func backupUnderWriteLoadRestores() async throws {
        let d = try await LiveChatd.start()
        // Every backup of this test, and the restored chatd's config, go in base.
        let base = TestServer.tempDir()
        let target = base + "/backup"
        defer {
            Task { await d.stop() }
            try? FileManager.default.removeItem(atPath: base)
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
        #expect(r.stdout.contains("1 files") && r.stdout.contains("1 users"))
        #expect(acked.withLock { $0.count } > before.count, "writes went on during the backup")
        let manifest = try BackupManifest.decode(try Data(contentsOf: URL(fileURLWithPath: target + "/backup.json")))
        // The load goes on until a message is acknowledged after the snapshot (on
        // a loaded machine the few sends during the backup can all precede it).
        let deadline = ContinuousClock.now + .seconds(testWaitSeconds)
        while acked.withLock({ Int64($0.count) }) <= manifest.database.counts.messages && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        stop.store(true, ordering: .relaxed)
        _ = await load.value

        // Complete: the manifest, no marker, no staging directory left; it verifies.
        #expect(!FileManager.default.fileExists(atPath: target + "/BACKUP-INCOMPLETE"))
        #expect(stagingDirectories(for: target).isEmpty)
        #expect(manifest.format == 1 && manifest.sourceDataDir == d.dir && manifest.chatdVersion == chatdVersion)
        #expect(manifest.database.counts.users == 1 && manifest.database.counts.conversations == 1)
        // Counted in the snapshot: every message acknowledged before, not those after it.
        #expect(manifest.database.counts.messages >= Int64(before.count))
        #expect(manifest.database.counts.messages < Int64(acked.withLock { $0.count }))
        #expect(manifest.fileStore == BackupManifest.FileStoreCopy(files: 1, bytes: 1000))
        r = try await chatctl(["backup", "--verify", target])
        #expect(r.status == 0 && r.stdout.contains("complete, verified"), "\(r.stdout)\(r.stderr)")
        let verified = jsonObject(try await chatctl(["backup", "--verify", "--json", target]).stdout)
        #expect(verified["ok"] as? Bool == true && (verified["problems"] as? [Any])?.isEmpty == true)
        let found = (verified["found"] as? [String: Any])?["counts"] as? [String: Any]
        #expect(found?["messages"] as? Int == Int(manifest.database.counts.messages))

        // Refused: the directory is not empty now; --json mode on an empty one.
        r = try await d.run(["backup", target])
        #expect(r.status == 1 && r.stderr.contains("conflict"))
        let second = target + "/../" + (target as NSString).lastPathComponent + "-2"
        let o = try await d.json(["backup", second])
        #expect((o["database_bytes"] as? Int ?? 0) > 0 && o["files"] as? Int == 1 && o["users"] as? Int == 1)
        // An empty directory is replaced by the finished backup, keeping its permission bits.
        let empty = target + "-empty"
        try FileManager.default.createDirectory(
            atPath: empty, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o750])
        r = try await d.run(["backup", empty])
        #expect(r.status == 0, "\(r.stderr)")
        #expect((try FileManager.default.attributesOfItem(atPath: empty)[.posixPermissions] as? NSNumber)?.intValue == 0o750)
        #expect(BackupVerification.run(path: empty).ok && stagingDirectories(for: empty).isEmpty)

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

    /// chatd killed (SIGKILL) while a backup runs: the backup path does not
    /// exist afterwards; the staging directory left behind holds the marker,
    /// and chatd refuses to start on it (exit 78) rather than serve an empty
    /// database; the path can be used by the next backup.
    @Test func backupKilledMidwayLeavesNothingAtPath() async throws {
        let base = TestServer.tempDir()
        let target = base + "/backup"
        // The staging directory is created beside the target, so in base too.
        defer { try? FileManager.default.removeItem(atPath: base) }
        let d = try await LiveChatd.start()
        let backup: Task<CommandResult, any Error>
        var staging: String?
        do {
            try await d.addUsers("alice")
            let c = try await d.client("alice")
            let room = try await c.createRoom(name: "kept")
            for i in 0..<50 { _ = try await c.send(room: room.id, text: "m\(i)") }
            // A file store big enough that copying it takes a while (each file is fsynced).
            try FileManager.default.createDirectory(atPath: d.dir + "/files/bulk", withIntermediateDirectories: true)
            for i in 0..<1500 {
                try Data(repeating: UInt8(i % 251), count: 512).write(to: URL(fileURLWithPath: d.dir + "/files/bulk/f\(i)"))
            }
            backup = Task { try await d.run(["backup", target]) }
            // Kill as soon as the staging directory holds the marker: from then on the copy runs.
            let deadline = ContinuousClock.now + .seconds(30)
            while staging == nil, ContinuousClock.now < deadline {
                staging = stagingDirectories(for: target).first {
                    FileManager.default.fileExists(atPath: $0 + "/" + BackupDirectory.incompleteMarkerName)
                }
                if staging == nil { try await Task.sleep(for: .milliseconds(1)) }
            }
        } catch {
            await d.stop()
            throw error
        }
        d.chatd.signal(SIGKILL)
        _ = await d.chatd.waitExit()
        let r = try await backup.value
        let partial = try #require(staging, "no staging directory appeared")
        #expect(r.status != 0, "the backup finished before the kill: \(r.stdout)")
        #expect(!FileManager.default.fileExists(atPath: target), "a killed backup left \(target)")
        #expect(stagingDirectories(for: target) == [partial])
        #expect(FileManager.default.fileExists(atPath: partial + "/BACKUP-INCOMPLETE"))
        #expect(!FileManager.default.fileExists(atPath: partial + "/backup.json"))

        // Restored by mistake: chatd refuses it, naming the marker, and creates nothing there.
        let before = try FileManager.default.contentsOfDirectory(atPath: partial).sorted()
        let wrong = try ChatdProcess(dataDir: partial)
        #expect(await wrong.waitExit() == 78)
        #expect(await wrong.waitForOutput("BACKUP-INCOMPLETE"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: partial).sorted() == before)
        var v = try await chatctl(["backup", "--verify", partial])
        #expect(v.status == 1 && v.stdout.contains("BACKUP-INCOMPLETE is present"), "\(v.stdout)")

        // The data directory is fine and the path is free for the next backup.
        let restarted = try ChatdProcess(dataDir: d.dir)
        let live = LiveChatd(chatd: restarted, port: try await restarted.waitReady(), dir: d.dir)
        let again = try await live.run(["backup", target])
        #expect(again.status == 0 && again.stdout.contains("50 messages") && again.stdout.contains("1500 files"), "\(again.stderr)")
        v = try await chatctl(["backup", "--verify", target])
        #expect(v.status == 0, "\(v.stdout)")
        await live.stop()
    }

    /// --verify fails, saying why, on a backup that was tampered with.
    @Test func verifyFindsTamperedBackups() async throws {
        let base = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await withLiveChatd { d in try await verifyFindsTamperedBackups(d, base: base) }
    }

    func verifyFindsTamperedBackups(_ d: LiveChatd, base: String) async throws {
        try await d.addUsers("alice", "bob")
        let c = try await d.client("alice")
        let room = try await c.createRoom(name: "tamper")
        for i in 0..<300 { _ = try await c.send(room: room.id, text: "message number \(i) with some text to fill pages") }
        let fm = FileManager.default
        try fm.createDirectory(atPath: d.dir + "/files/ab", withIntermediateDirectories: true)
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: d.dir + "/files/ab/abcdef"))

        /// A fresh backup, changed by `tamper`; --verify's exit status and output.
        func verifyAfter(_ name: String, _ tamper: (String) throws -> Void) async throws -> CommandResult {
            let path = base + "/" + name
            let r = try await d.run(["backup", path])
            #expect(r.status == 0, "\(r.stderr)")
            try tamper(path)
            return try await chatctl(["backup", "--verify", path])
        }
        var r = try await verifyAfter("good") { _ in }
        #expect(r.status == 0 && r.stdout.contains("complete, verified"), "\(r.stdout)")

        r = try await verifyAfter("marker") { try Data("x".utf8).write(to: URL(fileURLWithPath: $0 + "/BACKUP-INCOMPLETE")) }
        #expect(r.status == 1 && r.stdout.contains("BACKUP-INCOMPLETE is present") && r.stderr.contains("not a complete backup"))

        r = try await verifyAfter("truncated") { path in
            let db = path + "/chatd.sqlite3"
            let size = (try fm.attributesOfItem(atPath: db)[.size] as? NSNumber)?.intValue ?? 0
            #expect(truncate(db, off_t(size / 2)) == 0)
        }
        #expect(r.status == 1 && r.stdout.contains("the manifest says"), "\(r.stdout)")
        #expect(r.stdout.contains("integrity NOT ok") || r.stdout.contains("cannot be read"), "\(r.stdout)")

        // A database in WAL mode is not opened (that would create -wal and -shm files in the backup).
        r = try await verifyAfter("wal") { path in
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/chatd.sqlite3"))
            try handle.seek(toOffset: 18)
            try handle.write(contentsOf: Data([2, 2]))
            try handle.close()
        }
        #expect(r.status == 1 && r.stdout.contains("is in WAL mode"), "\(r.stdout)")
        #expect(try fm.contentsOfDirectory(atPath: base + "/wal").sorted() == ["backup.json", "chatd.sqlite3", "files", "token.key"])

        r = try await verifyAfter("counts") { path in
            let file = path + "/backup.json"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let changed = text.replacingOccurrences(of: "\"users\" : 2", with: "\"users\" : 3")
            #expect(changed != text)
            try changed.write(toFile: file, atomically: false, encoding: .utf8)
        }
        #expect(r.status == 1 && r.stdout.contains("the database has 2 users; the manifest says 3"), "\(r.stdout)")

        r = try await verifyAfter("no-manifest") { try fm.removeItem(atPath: $0 + "/backup.json") }
        #expect(r.status == 1 && r.stdout.contains("backup.json is missing"), "\(r.stdout)")

        r = try await verifyAfter("bad-manifest") {
            try Data("{\"format\": 1".utf8).write(to: URL(fileURLWithPath: $0 + "/backup.json"))
        }
        #expect(r.status == 1 && r.stdout.contains("backup.json cannot be read"), "\(r.stdout)")

        r = try await verifyAfter("key-mode") { chmod($0 + "/token.key", 0o644) }
        #expect(r.status == 1 && r.stdout.contains("token.key has mode 644"), "\(r.stdout)")

        r = try await verifyAfter("no-key") { try fm.removeItem(atPath: $0 + "/token.key") }
        #expect(r.status == 1 && r.stdout.contains("token.key is missing"), "\(r.stdout)")

        r = try await verifyAfter("lost-file") { try fm.removeItem(atPath: $0 + "/files/ab/abcdef") }
        #expect(r.status == 1 && r.stdout.contains("files/ holds 0 files"), "\(r.stdout)")

        r = try await verifyAfter("no-database") { try fm.removeItem(atPath: $0 + "/chatd.sqlite3") }
        #expect(r.status == 1 && r.stdout.contains("chatd.sqlite3 is missing"), "\(r.stdout)")
        let json = jsonObject(try await chatctl(["backup", "--verify", "--json", base + "/no-database"]).stdout)
        #expect(json["ok"] as? Bool == false && (json["problems"] as? [String])?.count == 1)
        // chatd refuses it too.
        let refused = try ChatdProcess(dataDir: base + "/no-database")
        #expect(await refused.waitExit() == 78)
        #expect(await refused.waitForOutput("no chatd.sqlite3"))

        r = try await chatctl(["backup", "--verify", base + "/nothing-here"])
        #expect(r.status == 1 && r.stdout.contains("does not exist"), "\(r.stdout)")
    }
}

/// Runs `body` against a chatd process that is stopped, and its data
/// directory removed, before this returns (also when `body` throws).
func withLiveChatd(_ body: (LiveChatd) async throws -> Void) async throws {
    let d = try await LiveChatd.start()
    do {
        try await body(d)
    } catch {
        await d.stop()
        throw error
    }
    await d.stop()
}
