import ChatClient
import ChatProtocol
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// chatd's data directory on a small filesystem (a 12 MiB tmpfs, so the
/// test needs root, as CI has; skipped otherwise) filled by one client:
/// writes answer `unavailable` with a retry-after before the wall and at it,
/// reads, Resume and chatctl keep working, and after a restart on a larger
/// disk exactly the acknowledged messages are there.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct DiskFullTests {
    static let canMount: Bool = {
        guard geteuid() == 0 else { return false }
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil,
            run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]) == 0
        else { return false }
        return run("/bin/umount", [dir]) == 0
    }()

    @discardableResult
    static func run(_ tool: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test(.enabled(if: DiskFullTests.canMount, "needs root to mount a small tmpfs"))
    func fillingTheDiskAnswersUnavailableAndLosesNothing() async throws {
        let mount = TestServer.tempDir()
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        #expect(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=12m", "tmpfs", mount]) == 0)
        var mounted = true
        defer {
            if mounted { Self.run("/bin/umount", ["-l", mount]) }
            try? FileManager.default.removeItem(atPath: mount)
        }
        let dataDir = mount + "/data"
        let chatd = try ChatdProcess(
            dataDir: dataDir, storageConfig: "min_free_bytes = 3145728",
            extraConfig: "[files]\nmin_free_bytes = 3145728")
        let port = try await chatd.waitReady()

        let c = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        _ = try await c.hello()
        let auth = try await c.register(username: "filler", password: "password-1")
        let room = try await c.createRoom(name: "fill").id
        let text = String(repeating: "4", count: 4000)
        var acknowledged: [String] = []
        var refusals: [ChatClientError] = []

        /// Sends until `stopAfter` refusals in a row; every refusal must be `unavailable` with a retry-after.
        func fill(stopAfter: Int) async throws {
            var inARow = 0
            for _ in 0..<20_000 where inARow < stopAfter {
                let id = UUID().uuidString
                do {
                    _ = try await c.send(room: room, text: text, clientMsgID: id)
                    acknowledged.append(id)
                    inARow = 0
                } catch let error as ChatClientError {
                    refusals.append(error)
                    inARow += 1
                }
            }
        }

        // 1. Before the wall: refused below storage.min_free_bytes.
        try await fill(stopAfter: 3)
        #expect(acknowledged.count > 100)
        #expect(refusals.allSatisfy { $0.code == .unavailable }, "\(refusals)")
        if case .server(_, let message, let retry, _)? = refusals.first {
            #expect(retry > 0 && message.contains("nearly full"), "\(message)")
        }
        // Reads, Resume, chatctl still work; health says why writes stop.
        #expect(try await c.history(room: room, limit: 10).events.count == 10)
        let again = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        _ = try await again.hello()
        _ = try await again.resume(token: auth.token)
        await expectError(.unavailable) {
            try await again.uploadBegin(size: 10, name: "a.txt", mimeType: "text/plain", blake2b: Data(repeating: 0, count: 32))
        }
        await again.close()
        var r = try await chatctl(["--socket", chatd.socketPath, "health"])
        #expect(r.status == 1 && r.stderr.contains("nearly full"), "\(r.stdout) \(r.stderr)")
        r = try await chatctl(["--socket", chatd.socketPath, "stats"])
        #expect(r.status == 0 && r.stdout.contains("refusing writes"), "\(r.stdout) \(r.stderr)")
        #expect(await chatd.waitForOutput("database storage: refusing writes"))

        // 2. At the wall: with no minimum, SQLite itself finds the disk full.
        let config = try String(contentsOfFile: chatd.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "min_free_bytes = 3145728", with: "min_free_bytes = 0")
            .write(toFile: chatd.configPath, atomically: false, encoding: .utf8)
        chatd.signal(SIGHUP)
        #expect(await chatd.waitForOutput("configuration reloaded"))
        let before = acknowledged.count
        refusals.removeAll()
        try await fill(stopAfter: 20)
        #expect(acknowledged.count > before, "the first refusals came from the wall, not the minimum")
        #expect(refusals.count >= 20)
        #expect(refusals.allSatisfy { $0.code == .unavailable }, "\(refusals.prefix(3))")
        #expect(!chatd.output.contains("internal error"))
        print("disk full: \(before) messages acknowledged before the minimum, \(acknowledged.count) in all")
        await c.close()

        // 3. A restart on a larger disk has exactly the acknowledged messages.
        chatd.signal(SIGKILL)
        _ = await chatd.waitExit()
        let moved = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: moved); try? FileManager.default.removeItem(atPath: moved + ".conf") }
        try? FileManager.default.removeItem(atPath: chatd.socketPath)  // a socket cannot be copied
        try FileManager.default.copyItem(atPath: dataDir, toPath: moved)
        Self.run("/bin/umount", [mount])
        mounted = false
        let restarted = try ChatdProcess(dataDir: moved)
        defer { restarted.signal(SIGKILL) }
        let port2 = try await restarted.waitReady()
        let d = try await ChatConnection.connect(host: "127.0.0.1", port: port2)
        _ = try await d.hello()
        _ = try await d.login(username: "filler", password: "password-1")
        var stored: [String] = []
        var after: UInt64 = 0
        while true {
            let page = try await d.history(room: room, after: after, limit: 200)
            stored += page.events.filter { $0.kind == .message }.map(\.clientMsgID)
            guard let last = page.events.last?.seq, page.hasMore_p else { break }
            after = last
        }
        #expect(stored == acknowledged)
        await d.close()
    }
}

extension DiskFullTests {
    /// A backup to a filesystem with less room than the data is refused
    /// before anything is written there.
    @Test(.enabled(if: DiskFullTests.canMount, "needs root to mount a small tmpfs"))
    func aBackupToANearlyFullDiskIsRefusedBeforeItStarts() async throws {
        let small = TestServer.tempDir()
        #expect(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]) == 0)
        defer {
            Self.run("/bin/umount", ["-l", small])
            try? FileManager.default.removeItem(atPath: small)
        }
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".conf") }
        let chatd = try ChatdProcess(dataDir: dir)
        defer { chatd.signal(SIGKILL) }
        _ = try await chatd.waitReady()
        let r = try await chatctl(["--socket", chatd.socketPath, "backup", small + "/b"])
        #expect(r.status == 1 && r.stderr.contains("not enough free space"), "\(r.stdout) \(r.stderr)")
        #expect((try FileManager.default.contentsOfDirectory(atPath: small)).isEmpty)
    }
}

extension DiskFullTests {
    /// The file store on a 4 MiB tmpfs: a 6 MiB upload's chunks are stored
    /// until the disk is full, then answered `unavailable`; UploadStatus
    /// holds exactly the acknowledged chunks; once the filesystem is grown
    /// the same chunks are sent again and the file finishes intact.
    @Test(.enabled(if: DiskFullTests.canMount, "needs root to mount a small tmpfs"))
    func anUploadOnAFullFileStoreResumesWhenSpaceReturns() async throws {
        let files = TestServer.tempDir()
        #expect(Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", files]) == 0)
        defer {
            Self.run("/bin/umount", ["-l", files])
            try? FileManager.default.removeItem(atPath: files)
        }
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: dir + ".conf") }
        let chatd = try ChatdProcess(
            dataDir: dir, extraConfig: "[files]\ndir = \"\(files)\"\nmin_free_bytes = 0\nmax_file_bytes = 16777216")
        defer { chatd.signal(SIGKILL) }
        let port = try await chatd.waitReady()
        let c = try await ChatConnection.connect(host: "127.0.0.1", port: port)
        _ = try await c.hello()
        _ = try await c.register(username: "uploader", password: "password-1")

        let data = pngBytes(6 << 20, seed: 7)
        let begin = try await c.uploadBegin(size: UInt64(data.count), name: "big.png", mimeType: "image/png", blake2b: blake(data))
        let chunk = Int(begin.maxChunkBytes)
        var acknowledged: [Range<Int>] = []
        var refusedAt: Int?
        for start in stride(from: 0, to: data.count, by: chunk) {
            let range = start..<min(start + chunk, data.count)
            do {
                try await c.uploadChunk(begin.uploadID, offset: UInt64(start), data: data[range])
                acknowledged.append(range)
            } catch let error as ChatClientError {
                #expect(error.code == .unavailable, "\(error)")
                refusedAt = start
                break
            }
        }
        let firstRefused = try #require(refusedAt, "the 4 MiB file store took a 6 MiB upload")
        let status = try await c.uploadStatus(begin.uploadID)
        #expect(status.receivedBytes == UInt64(acknowledged.reduce(0) { $0 + $1.count }))

        // More room: the refused chunk and the rest go through, the file is intact.
        #expect(Self.run("/bin/mount", ["-o", "remount,size=32m", files]) == 0)
        for start in stride(from: firstRefused, to: data.count, by: chunk) {
            let range = start..<min(start + chunk, data.count)
            var stored = false
            for _ in 0..<50 where !stored {
                do {
                    try await c.uploadChunk(begin.uploadID, offset: UInt64(start), data: data[range])
                    stored = true
                } catch let error as ChatClientError where error.code == .unavailable {
                    try await Task.sleep(for: .milliseconds(200))  // until the store measures the new space
                }
            }
            #expect(stored)
        }
        let file = try await c.uploadFinish(begin.uploadID)
        #expect(try await c.downloadFile(file.fileID) == data)
        await c.close()
    }
}
