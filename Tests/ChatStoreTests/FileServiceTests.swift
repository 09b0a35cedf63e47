import ChatCore
import ChatCrypto
@testable import ChatStore
import ChatTestSupport
import Foundation
import Synchronization
import Testing

/// FileService against the real store (in memory) and a real disk store in
/// a temporary directory, with a manual clock.
struct FileServiceTests {
    let store: any FileTestStore
    let blobs: DiskBlobStore
    let clock: ManualClock
    let root: String
    let service: FileService

    init(limits: FileLimits = FileLimits(), clockStart: Millis = 1_700_000_000_000) throws {
        try self.init(store: SQLiteStore.inMemory(), limits: limits, clockStart: clockStart)
    }

    /// The same on a new, empty store of `backend`.
    init(_ backend: StoreBackend, limits: FileLimits = FileLimits(), clockStart: Millis = 1_700_000_000_000) async throws {
        let store: any FileTestStore =
            switch backend {
            case .sqlite: try SQLiteStore.inMemory()
            case .postgresql: try await PostgresTestCluster.shared.freshStore()
            }
        try self.init(store: store, limits: limits, clockStart: clockStart)
    }

    init(store: any FileTestStore, limits: FileLimits, clockStart: Millis) throws {
        self.store = store
        root = NSTemporaryDirectory() + "chatd-files-" + UUID().uuidString.prefix(8)
        blobs = try DiskBlobStore(root: root, makeHasher: { Blake2bStream() })
        clock = ManualClock(clockStart)
        service = FileService(catalog: store, blobs: blobs, random: { Sodium.randomBytes($0) }, clock: clock, limits: limits)
    }

    func session(_ name: String) async throws -> Session {
        let account = try await store.createUser(
            NewUser(username: name, usernameKey: name, email: "", displayName: name, passwordHash: "x", role: .user, now: clock.nowMs()))
        return Session(user: account.user, deviceRowID: 1, deviceID: "d", tokenExpiresAt: .max)
    }

    /// A public room owned by `owner`.
    func room(_ name: String, owner: Session) async throws -> ConversationID {
        try await store.createConversation(
            NewConversation(
                kind: .room, name: name, nameKey: name, description: "", visibility: .public, creator: owner.userID, members: [],
                now: clock.nowMs())
        ).id
    }

    /// A message (a file message when `attachment` is given) from `sender`.
    @discardableResult
    func send(_ room: ConversationID, _ sender: Session, _ text: String, attachment: ChatCore.Attachment? = nil) async throws -> Seq {
        try await store.appendMessage(
            NewMessage(
                conversation: room, sender: sender.userID, clientMsgID: UUID().uuidString, type: attachment == nil ? .text : .file,
                text: text, attachment: attachment, replyTo: nil, mentionKeys: [], now: clock.nowMs())
        ).event.seq
    }

    static func text(_ n: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<n).map { UInt8(97 + (Int(seed) + $0) % 26) }
    }

    func files(in dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: root + "/" + dir)?.allObjects as? [String] ?? [])
            .filter { !$0.contains("/") || $0.count > 3 }
            .filter { name in
                var isDir: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: root + "/" + dir + "/" + name, isDirectory: &isDir)
                return exists && !isDir.boolValue
            }
    }

    /// Uploads `content` in chunks of `chunk` bytes and finishes it.
    func upload(_ s: Session, _ content: [UInt8], chunk: Int = 1000, mime: String = "text/plain") async throws -> StoredFile {
        let (u, _) = try await service.begin(s, size: Int64(content.count), name: "a.txt", mimeType: mime, hash: Sodium.blake2b(content))
        var at = 0
        while at < content.count {
            let end = min(content.count, at + chunk)
            _ = try await service.chunk(s, upload: u.id, offset: Int64(at), data: Array(content[at..<end]))
            at = end
        }
        return try await service.finish(s, upload: u.id)
    }

    @Test(arguments: StoreBackend.allCases) static func chunksInAnyOrderRetriesAndConflicts(_ backend: StoreBackend) async throws {
        let t = try await FileServiceTests(backend)
        defer { try? FileManager.default.removeItem(atPath: t.root) }
        try await t.chunksInAnyOrderRetriesAndConflicts()
    }

    func chunksInAnyOrderRetriesAndConflicts() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let alice = try await session("alice")
        let content = Self.text(2500)
        let (u, resumed) = try await service.begin(alice, size: 2500, name: "a.txt", mimeType: "text/plain", hash: Sodium.blake2b(content))
        #expect(!resumed)
        _ = try await service.chunk(alice, upload: u.id, offset: 2000, data: Array(content[2000...]))
        var status = try await service.chunk(alice, upload: u.id, offset: 0, data: Array(content[0..<1000]))
        #expect(status.received.description == "0-1000,2000-2500" && !status.complete)
        // Finishing early names what is missing.
        #expect(await failureKind { _ = try await service.finish(alice, upload: u.id) } == .uploadIncomplete)
        // The same bytes again are a retry; other bytes over received ones a conflict.
        status = try await service.chunk(alice, upload: u.id, offset: 500, data: Array(content[500..<1000]))
        #expect(status.received.description == "0-1000,2000-2500")
        var changed = Array(content[900..<1100])
        changed[0] ^= 1
        #expect(await failureKind { _ = try await service.chunk(alice, upload: u.id, offset: 900, data: changed) } == .conflict)
        // Out of range, empty, and someone else's upload.
        #expect(await failureKind { _ = try await service.chunk(alice, upload: u.id, offset: 2400, data: Self.text(200)) } == .invalidField)
        #expect(await failureKind { _ = try await service.chunk(alice, upload: u.id, offset: -1, data: [1]) } == .invalidField)
        #expect(await failureKind { _ = try await service.chunk(alice, upload: u.id, offset: 0, data: []) } == .invalidField)
        let bob = try await session("bobby")
        #expect(await failureKind { _ = try await service.chunk(bob, upload: u.id, offset: 1000, data: Array(content[1000..<2000])) } == .notFound)
        #expect(await failureKind { _ = try await service.status(bob, upload: u.id) } == .notFound)
        // Beginning again with the same content resumes the same upload.
        let (again, resumedNow) = try await service.begin(alice, size: 2500, name: "a.txt", mimeType: "text/plain", hash: Sodium.blake2b(content))
        #expect(resumedNow && again.id == u.id && again.received.count == 1500)
        _ = try await service.chunk(alice, upload: u.id, offset: 1000, data: Array(content[1000..<2000]))
        let file = try await service.finish(alice, upload: u.id)
        #expect(file.size == 2500 && file.mimeType == "text/plain")
        // A retried finish returns the same file.
        #expect(try await service.finish(alice, upload: u.id) == file)
        let (_, bytes) = try await service.download(alice, file: file.id, offset: 0, length: 0)
        #expect(bytes == content)
        let (_, tail) = try await service.download(alice, file: file.id, offset: 2400, length: 1000)
        #expect(tail == Array(content[2400...]))
        #expect(try await service.download(alice, file: file.id, offset: 2500, length: 10).1.isEmpty)
        #expect(await failureKind { _ = try await service.download(alice, file: file.id, offset: 2501, length: 1) } == .invalidField)
        #expect(await failureKind { _ = try await service.download(bob, file: file.id, offset: 0, length: 1) } == .notFound)
        #expect(files(in: "uploads").isEmpty)
    }

    /// A partial file left by a first chunk that failed after creating it
    /// (a full disk) gets its directory entry synced by the retry: once per
    /// upload, not only by the write that created the file.
    @Test static func aRetriedFirstChunkSyncsTheDirectoryEntry() async throws {
        let root = NSTemporaryDirectory() + "chatd-files-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let blobs = try DiskBlobStore(root: root, makeHasher: { Blake2bStream() })
        #expect(FileManager.default.createFile(atPath: blobs.partialPath("0a1b"), contents: nil))
        try await blobs.writePartial("0a1b", offset: 0, data: [1, 2, 3])
        try await blobs.writePartial("0a1b", offset: 3, data: [4])
        #expect(blobs.entrySyncs.load(ordering: .relaxed) == 1)
        try await blobs.removePartial("0a1b")
        try await blobs.writePartial("0a1b", offset: 0, data: [1])
        #expect(blobs.entrySyncs.load(ordering: .relaxed) == 2)
    }

    @Test(arguments: StoreBackend.allCases) static func failedFinishesLeaveNothingBehind(_ backend: StoreBackend) async throws {
        let t = try await FileServiceTests(backend)
        defer { try? FileManager.default.removeItem(atPath: t.root) }
        try await t.failedFinishesLeaveNothingBehind()
    }

    func failedFinishesLeaveNothingBehind() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let alice = try await session("alice")
        // Wrong hash.
        let content = Self.text(1500)
        let (u, _) = try await service.begin(alice, size: 1500, name: "a.txt", mimeType: "text/plain", hash: Sodium.blake2b(Self.text(1500, seed: 1)))
        _ = try await service.chunk(alice, upload: u.id, offset: 0, data: content)
        #expect(await failureKind { _ = try await service.finish(alice, upload: u.id) } == .hashMismatch)
        #expect(await failureKind { _ = try await service.status(alice, upload: u.id) } == .notFound)
        // A type the bytes contradict.
        let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46] + Self.text(100)
        let (v, _) = try await service.begin(alice, size: 104, name: "cat.png", mimeType: "image/png", hash: Sodium.blake2b(elf))
        _ = try await service.chunk(alice, upload: v.id, offset: 0, data: elf)
        #expect(await failureKind { _ = try await service.finish(alice, upload: v.id) } == .unsupportedType)
        #expect(files(in: "uploads").isEmpty && files(in: "contents").isEmpty)
        let (stats, _) = try await service.stats()
        #expect(stats.uploads == 0 && stats.files == 0)
        // A disallowed declared type and a bad hash length never start.
        #expect(await failureKind { _ = try await service.begin(alice, size: 4, name: "x", mimeType: "application/x-msdownload", hash: Array(repeating: 0, count: 32)) } == .unsupportedType)
        #expect(await failureKind { _ = try await service.begin(alice, size: 4, name: "x", mimeType: "text/plain", hash: [1, 2]) } == .invalidField)
        #expect(await failureKind { _ = try await service.begin(alice, size: 0, name: "x", mimeType: "text/plain", hash: Array(repeating: 0, count: 32)) } == .invalidField)
    }

    @Test(arguments: StoreBackend.allCases) static func quotaCountsFilesAndUnfinishedUploads(_ backend: StoreBackend) async throws {
        let t = try await FileServiceTests(backend)
        defer { try? FileManager.default.removeItem(atPath: t.root) }
        try await t.quotaCountsFilesAndUnfinishedUploads()
    }

    func quotaCountsFilesAndUnfinishedUploads() async throws {
        var limits = FileLimits()
        limits.userQuotaBytes = 5000
        limits.maxFileBytes = 4000
        let t = try FileServiceTests(limits: limits)
        defer { try? FileManager.default.removeItem(atPath: t.root) }
        let alice = try await t.session("alice")
        #expect(await failureKind { _ = try await t.service.begin(alice, size: 4001, name: "x", mimeType: "text/plain", hash: Sodium.blake2b([])) } == .tooLarge)
        _ = try await t.upload(alice, Self.text(3000))
        let (open, _) = try await t.service.begin(alice, size: 2000, name: "b", mimeType: "text/plain", hash: Sodium.blake2b(Self.text(2000)))
        // 3000 stored + 2000 reserved: nothing more fits.
        #expect(await failureKind { _ = try await t.service.begin(alice, size: 1, name: "c", mimeType: "text/plain", hash: Sodium.blake2b([9])) } == .quotaExceeded)
        try await t.service.cancel(alice, upload: open.id)
        _ = try await t.service.begin(alice, size: 2000, name: "b", mimeType: "text/plain", hash: Sodium.blake2b(Self.text(2000, seed: 3)))
        // Another user has their own quota.
        let bob = try await t.session("bobby")
        _ = try await t.upload(bob, Self.text(3000, seed: 5))
    }

    @Test(arguments: StoreBackend.allCases) static func dedupeAndCollectionRemoveExactlyTheUnreferenced(_ backend: StoreBackend) async throws {
        let t = try await FileServiceTests(backend)
        defer { try? FileManager.default.removeItem(atPath: t.root) }
        try await t.dedupeAndCollectionRemoveExactlyTheUnreferenced()
    }

    func dedupeAndCollectionRemoveExactlyTheUnreferenced() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let alice = try await session("alice")
        let bob = try await session("bobby")
        let shared = Self.text(3000)
        let a = try await upload(alice, shared)
        let b = try await upload(bob, shared)
        let other = try await upload(alice, Self.text(100, seed: 9))
        #expect(a.id != b.id && a.hash == b.hash)
        var (stats, _) = try await service.stats()
        #expect(stats.files == 3 && stats.contents == 2 && stats.contentBytes == 3100 && stats.fileBytes == 6100)
        #expect(files(in: "contents").count == 2)

        // Alice sends her copy in a room; an expired upload is left behind.
        let room = try await self.room("r", owner: alice)
        let sent = try await store.appendMessage(
            NewMessage(
                conversation: room, sender: alice.userID, clientMsgID: "m1", type: .file, text: "",
                attachment: Attachment(fileID: a.id, name: "", size: 0, mimeType: "bogus/claim"), replyTo: nil, mentionKeys: [],
                now: clock.nowMs()))
        // The server's metadata, not the client's claim.
        #expect(sent.event.attachment == Attachment(fileID: a.id, name: "a.txt", size: 3000, mimeType: "text/plain"))
        let (stale, _) = try await service.begin(alice, size: 10, name: "s", mimeType: "text/plain", hash: Sodium.blake2b(Self.text(10)))
        _ = try await service.chunk(alice, upload: stale.id, offset: 0, data: Self.text(5))

        // Within the grace time nothing goes.
        clock.advance(byMs: 3600 * 1000)
        #expect(try await service.collectGarbage() == GarbageReport())
        // After it: bob's copy and alice's unsent file go, the shared content stays (alice's message uses it).
        clock.advance(byMs: 24 * 3600 * 1000)
        var report = try await service.collectGarbage()
        #expect(report.expiredUploads == 1 && report.files == 2 && report.contents == 1 && report.contentBytes == 100)
        #expect(files(in: "contents").count == 1 && files(in: "uploads").isEmpty)
        #expect(try await service.info(alice, file: a.id) == a)
        #expect(await failureKind { _ = try await service.info(bob, file: b.id) } == .notFound)
        (stats, _) = try await service.stats()
        #expect(stats.files == 1 && stats.contents == 1 && stats.referencedFiles == 1)

        // Deleting the message releases the last reference.
        _ = try await store.deleteMessage(conversation: room, seq: sent.event.seq, by: alice.userID, asModerator: false, clientMsgID: "d1", now: clock.nowMs())
        report = try await service.collectGarbage()
        #expect(report.files == 1 && report.contents == 1 && report.contentBytes == 3000)
        #expect(files(in: "contents").isEmpty)
        _ = other
    }

    @Test(arguments: StoreBackend.allCases) static func straysOnDiskAreCollected(_ backend: StoreBackend) async throws {
        let t = try await FileServiceTests(backend)
        defer { try? FileManager.default.removeItem(atPath: t.root) }
        try await t.straysOnDiskAreCollected()
    }

    func straysOnDiskAreCollected() async throws {
        // A clock ahead of the files' modification times, so they count as old.
        let t = try FileServiceTests(clockStart: Int64(Date().timeIntervalSince1970 * 1000) + 2 * 3600 * 1000)
        defer { try? FileManager.default.removeItem(atPath: t.root) }
        let alice = try await t.session("alice")
        let kept = try await t.upload(alice, Self.text(50))
        try await t.blobs.writePartial("0123456789abcdef0123456789abcdef", offset: 0, data: [1, 2, 3])
        let strayHash = Sodium.blake2b([7, 7, 7])
        try await t.blobs.writePartial("ffffffffffffffffffffffffffffffff", offset: 0, data: [7, 7, 7])
        try await t.blobs.place("ffffffffffffffffffffffffffffffff", hash: strayHash)
        let report = try await t.service.collectGarbage()
        // The placed content, its partial file (kept until a finish commits), and the other partial.
        #expect(report.strays == 3)
        #expect(t.files(in: "uploads").isEmpty && t.files(in: "contents").count == 1)
        #expect(try await t.blobs.readContent(kept.hash, offset: 0, count: 50) == Self.text(50))
    }
}

struct ContentHashTests {
    @Test func streamingBlake2bMatchesTheSpecVectorAndTheOneShotHash() {
        // spec/vectors: upload-begin-request declares BLAKE2b-256("hello").
        let expected = "324dcf027dd4a30a932c441f365a25e86b173defa4b8e58948253471b81b72cf"
        #expect(Sodium.blake2b(Array("hello".utf8)).map { String(format: "%02x", $0) }.joined() == expected)
        let data = FileServiceTests.text(100_000)
        let stream = Blake2bStream()
        for start in stride(from: 0, to: data.count, by: 7777) {
            data[start..<min(data.count, start + 7777)].withUnsafeBytes { stream.update($0) }
        }
        #expect(stream.finish() == Sodium.blake2b(data))
    }
}
