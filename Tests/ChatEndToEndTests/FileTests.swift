import ChatClient
import ChatConfig
import ChatCore
import ChatCrypto
import ChatProtocol
import Foundation
import Testing

let pngHeader: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

/// A PNG-looking file of `size` bytes (signature + pseudo-random bytes).
func pngBytes(_ size: Int, seed: UInt64 = 1) -> Data {
    var state = seed &* 0x9E37_79B9_7F4A_7C15
    var bytes = pngHeader
    while bytes.count < size {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        bytes.append(UInt8(truncatingIfNeeded: state >> 33))
    }
    return Data(bytes.prefix(size))
}

func blake(_ data: Data) -> Data { Data(Sodium.blake2b(Array(data))) }

/// Uploads a small PNG for `c` and returns its file.
func uploadPNG(_ c: ChatConnection, size: Int = 3000, seed: UInt64 = 1) async throws -> Chatd_V1_FileInfo {
    let data = pngBytes(size, seed: seed)
    return try await c.uploadFile(data, name: "cat.png", mimeType: "image/png", blake2b: blake(data))
}

func fileAttachment(_ file: Chatd_V1_FileInfo) -> Chatd_V1_Attachment {
    var a = Chatd_V1_Attachment()
    a.fileID = file.fileID
    return a
}

@Suite(.timeLimit(.minutes(3)))
struct FileTransferTests {
    /// A client learns the file limits from Hello (issue 15 item 8), and a
    /// reload's new values from the next Hello.
    @Test func helloAnnouncesTheFileLimitsAndAReloadChangesThem() async throws {
        try await withServer({
            $0.setting("files.max_file_bytes", .int(5_000_000)).setting("files.allowed_types", .strings(["text/plain", "image/png"]))
        }) { server in
            let c = try await ChatConnection.connect(host: "127.0.0.1", port: server.port)
            let limits = try await c.hello().limits
            #expect(limits.maxFileBytes == 5_000_000)
            #expect(limits.maxChunkBytes == 262_144)
            #expect(limits.userQuotaBytes == 1 << 30)
            #expect(limits.allowedTypes == ["image/png", "text/plain"])
            #expect(limits.maxOpenUploads == 16)
            #expect(limits.uploadTtlMs == 24 * 3600 * 1000)
            await c.close()
            server.daemon.reload(server.daemon.config.setting("files.max_file_bytes", .int(7_000_000)))
            let later = try await ChatConnection.connect(host: "127.0.0.1", port: server.port)
            #expect(try await later.hello().limits.maxFileBytes == 7_000_000)
            await later.close()
        }
    }

    @Test func multiChunkUploadResumesAcrossARestartAndDownloadsIntact() async throws {
        let dir = TestServer.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let adjust = { (c: Config) in c.setting("files.max_chunk_bytes", .int(4096)) }
        let data = pngBytes(50_000, seed: 7)
        var server = try await TestServer.start(dataDir: dir, adjust)
        var (alice, _) = try await server.user("alice", password: "password1")
        // Half the pieces, then the connection and the server go away.
        let begin = try await alice.uploadBegin(size: UInt64(data.count), name: "big.png", mimeType: "image/png", blake2b: blake(data))
        #expect(begin.maxChunkBytes == 4096 && !begin.resumed)
        for start in stride(from: 0, to: 24_576, by: 4096) {
            try await alice.uploadChunk(begin.uploadID, offset: UInt64(start), data: data.subdata(in: start..<start + 4096))
        }
        // A piece near the end, out of order.
        try await alice.uploadChunk(begin.uploadID, offset: 45_056, data: data.subdata(in: 45_056..<49_152))
        await alice.close()
        await server.stop(removeData: false)

        server = try await TestServer.start(dataDir: dir, adjust)
        alice = try await server.connect()
        _ = try await alice.login(username: "alice", password: "password1")
        let status = try await alice.uploadStatus(begin.uploadID)
        #expect(status.receivedBytes == 28_672 && !status.complete)
        #expect(status.received.map { [$0.offset, $0.length] } == [[0, 24_576], [45_056, 4096]])
        await expectError(.uploadIncomplete) { try await alice.uploadFinish(begin.uploadID) }
        // The reference algorithm resumes: begin again, send what is missing, finish.
        let again = try await alice.uploadBegin(size: UInt64(data.count), name: "big.png", mimeType: "image/png", blake2b: blake(data))
        #expect(again.resumed && again.uploadID == begin.uploadID && again.receivedBytes == 28_672)
        let file = try await alice.uploadFile(data, name: "big.png", mimeType: "image/png", blake2b: blake(data))
        #expect(file.size == 50_000 && file.mimeType == "image/png" && file.name == "big.png" && file.blake2B == blake(data))
        let back = try await alice.downloadFile(file.fileID)
        #expect(back == data)
        let piece = try await alice.download(file.fileID, offset: 49_000, length: 100_000)
        #expect(piece.data.count == 1000 && piece.eof && piece.offset == 49_000)
        // The finished upload is gone.
        await expectError(.notFound) { try await alice.uploadStatus(begin.uploadID) }
        await alice.close()
        await server.stop(removeData: false)
    }

    @Test func onlyTheUploaderAndMembersWhereItWasSentCanReadAFile() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice")
            let (bob, _) = try await server.user("bobby")
            let (carol, _) = try await server.user("carol")
            let (dave, _) = try await server.user("dave")
            let file = try await uploadPNG(alice)
            #expect(try await alice.fileInfo(file.fileID).fileID == file.fileID)
            // Unsent: nobody else can see it, and it is indistinguishable from nothing.
            await expectError(.notFound) { try await bob.fileInfo(file.fileID) }
            await expectError(.notFound) { try await bob.download(file.fileID) }
            await expectError(.notFound) { try await bob.download("00000000000000000000000000000000") }
            await expectError(.notFound) { try await bob.download("not-an-id") }
            let bobRoom = try await bob.createRoom(name: "bobs")
            await expectError(.notFound) { try await bob.send(room: bobRoom.id, text: "", type: .image, attachment: fileAttachment(file)) }

            // Sent in a group with carol: carol can read it, bob still cannot.
            let group = try await alice.createGroup(name: "pics", usernames: ["carol"]).conversation
            let sent = try await alice.send(room: group.id, text: "look", type: .image, attachment: fileAttachment(file))
            #expect(sent.event.attachment.size == file.size && sent.event.attachment.name == "cat.png")
            #expect(try await carol.downloadFile(file.fileID) == pngBytes(3000))
            await expectError(.notFound) { try await bob.fileInfo(file.fileID) }
            // Carol can forward it to dave; then dave can read it.
            let direct = try await carol.openDirect(username: "dave")
            _ = try await carol.send(room: direct.id, text: "", type: .file, attachment: fileAttachment(file))
            #expect(try await dave.fileInfo(file.fileID).size == 3000)
            // Deleting the group message ends carol's group access, not the direct chat's.
            _ = try await alice.deleteMessage(group.id, seq: sent.event.seq)
            #expect(try await carol.fileInfo(file.fileID).fileID == file.fileID)
            // A text file is not an image.
            let text = Data("hello".utf8)
            let notImage = try await alice.uploadFile(text, name: "a.txt", mimeType: "text/plain", blake2b: blake(text))
            await expectError(.invalidField) { try await alice.send(room: group.id, text: "", type: .image, attachment: fileAttachment(notImage)) }
            _ = try await alice.send(room: group.id, text: "", type: .file, attachment: fileAttachment(notImage))
        }
    }

    @Test func badUploadsAreRefusedWithTheirCodesAndLeaveNothing() async throws {
        try await withServer({ $0.setting("files.user_quota_bytes", .int(20_000)).setting("files.max_chunk_bytes", .int(4096)) }) { server in
            let (alice, _) = try await server.user("alice")
            let exe = Data([0x7F, 0x45, 0x4C, 0x46] + Array(repeating: 1, count: 100))
            // A program declared as an image.
            var u = try await alice.uploadBegin(size: UInt64(exe.count), name: "cat.png", mimeType: "image/png", blake2b: blake(exe))
            try await alice.uploadChunk(u.uploadID, offset: 0, data: exe)
            await expectError(.unsupportedType) { try await alice.uploadFinish(u.uploadID) }
            await expectError(.notFound) { try await alice.uploadStatus(u.uploadID) }
            // A declared type that is not allowed at all.
            await expectError(.unsupportedType) {
                try await alice.uploadBegin(size: 10, name: "x.exe", mimeType: "application/x-msdownload", blake2b: blake(exe))
            }
            // A hash that does not match.
            let png = pngBytes(5000)
            u = try await alice.uploadBegin(size: 5000, name: "a.png", mimeType: "image/png", blake2b: blake(pngBytes(5000, seed: 2)))
            try await alice.uploadChunk(u.uploadID, offset: 0, data: png.prefix(4096))
            try await alice.uploadChunk(u.uploadID, offset: 4096, data: png.suffix(from: 4096))
            await expectError(.hashMismatch) { try await alice.uploadFinish(u.uploadID) }
            // Chunks: too big, out of range, changed bytes, unknown upload.
            u = try await alice.uploadBegin(size: 5000, name: "a.png", mimeType: "image/png", blake2b: blake(png))
            await expectError(.tooLarge) { try await alice.uploadChunk(u.uploadID, offset: 0, data: Data(count: 4097)) }
            await expectError(.invalidField) { try await alice.uploadChunk(u.uploadID, offset: 4990, data: Data(count: 11)) }
            // Offsets that would overflow a sum (this once trapped the server).
            await expectError(.invalidField) { try await alice.uploadChunk(u.uploadID, offset: UInt64(Int64.max), data: Data([1])) }
            await expectError(.invalidField) { try await alice.uploadChunk(u.uploadID, offset: UInt64.max, data: Data([1])) }
            await expectError(.invalidField) { try await alice.download("00000000000000000000000000000000", offset: UInt64.max) }
            try await alice.uploadChunk(u.uploadID, offset: 0, data: png.prefix(100))
            await expectError(.conflict) { try await alice.uploadChunk(u.uploadID, offset: 50, data: Data(count: 100)) }
            await expectError(.notFound) { try await alice.uploadChunk("ffffffffffffffffffffffffffffffff", offset: 0, data: Data([1])) }
            // Quota: 5000 reserved by the open upload; 16 000 more do not fit in 20 000.
            await expectError(.quotaExceeded) {
                try await alice.uploadBegin(size: 16_000, name: "b.png", mimeType: "image/png", blake2b: blake(pngBytes(16_000)))
            }
            try await alice.uploadCancel(u.uploadID)
            _ = try await alice.uploadBegin(size: 16_000, name: "b.png", mimeType: "image/png", blake2b: blake(pngBytes(16_000)))
            await expectError(.tooLarge) {
                try await alice.uploadBegin(size: 200 * 1024 * 1024, name: "huge", mimeType: "image/png", blake2b: blake(png))
            }
            // Nothing of the refused uploads is left on disk or in the quota.
            let (stats, _) = try await server.daemon.files.stats()
            #expect(stats.uploads == 1 && stats.uploadBytes == 16_000 && stats.files == 0)
            let partials = try FileManager.default.contentsOfDirectory(atPath: server.dataDir + "/files/uploads")
            #expect(partials.count <= 1)
        }
    }

    @Test func chatctlFileStatsAndGC() async throws {
        try await withServer({ $0.setting("files.unreferenced_grace_hours", .int(0)) }) { server in
            let (alice, _) = try await server.user("alice")
            let (bob, _) = try await server.user("bobby")
            let room = try await alice.createRoom(name: "share")
            _ = try await bob.joinRoom(room.id)
            let kept = try await uploadPNG(alice, seed: 1)
            _ = try await alice.send(room: room.id, text: "", type: .image, attachment: fileAttachment(kept))
            _ = try await uploadPNG(bob, seed: 1)  // same bytes: deduplicated
            _ = try await uploadPNG(bob, seed: 2)  // never sent
            let s = ["--socket", server.daemon.controlSocketPath]

            var r = try await chatctl(s + ["file", "stats"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("files:       3") && r.stdout.contains("contents:    2 distinct"), "\(r.stdout)")
            #expect(r.stdout.contains("bobby") && r.stdout.contains("alice"))
            r = try await chatctl(s + ["--json", "file", "stats", "--top", "1"])
            var json = jsonObject(r.stdout)
            #expect(json["files"] as? Int == 3 && json["contents"] as? Int == 2 && json["referenced_files"] as? Int == 1)
            #expect((json["top_users"] as? [Any])?.count == 1)

            r = try await chatctl(s + ["file", "gc"])
            #expect(r.status == 0 && r.stdout.contains("files removed:           2"), "\(r.stdout)")
            r = try await chatctl(s + ["file", "gc", "--json"])
            json = jsonObject(r.stdout)
            #expect(r.status == 0 && json["files"] as? Int == 0)  // nothing left to remove
            #expect(try await bob.downloadFile(kept.fileID) == pngBytes(3000, seed: 1))
            r = try await chatctl(s + ["file", "stats", "--top", "5000"])
            #expect(r.status != 0)
        }
    }
}

@Suite(.timeLimit(.minutes(3)))
struct MessageSearchTests {
    @Test func searchFollowsEditsAndDeletesAndStaysInTheCallersConversations() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice")
            let (bob, _) = try await server.user("bobby")
            let (carol, _) = try await server.user("carol")
            let room = try await alice.createRoom(name: "fruit")
            _ = try await bob.joinRoom(room.id)
            let secret = try await alice.createGroup(name: "secret", usernames: ["carol"]).conversation
            let apple = try await alice.send(room: room.id, text: "I like the Apple pie").event.seq
            _ = try await bob.send(room: room.id, text: "apples and pears")
            _ = try await alice.send(room: room.id, text: "bananas are yellow")
            _ = try await carol.send(room: secret.id, text: "the secret apple plan")

            var r = try await bob.searchMessages("apple")
            #expect(r.hits.map(\.seq) == [apple] && r.hits[0].conversationID == room.id)
            #expect(r.hits[0].snippet.contains("\u{2}Apple\u{3}"))
            r = try await bob.searchMessages("apple*")
            #expect(r.hits.count == 2)
            // Alice sees her group's message too; carol only the group's.
            #expect(try await alice.searchMessages("apple").hits.count == 2)
            #expect(try await carol.searchMessages("apple").hits.map(\.conversationID) == [secret.id])
            // Scoped to one conversation; a conversation bob cannot see is not_found.
            #expect(try await alice.searchMessages("apple", conversation: secret.id).hits.count == 1)
            await expectError(.notFound) { try await bob.searchMessages("apple", conversation: secret.id) }
            // Syntax: phrases, OR, exclusion, accents.
            #expect(try await bob.searchMessages("\"apple pie\"").hits.count == 1)
            #expect(try await bob.searchMessages("\"pie apple\"").hits.isEmpty)
            #expect(try await bob.searchMessages("pears OR bananas").hits.count == 2)
            #expect(try await bob.searchMessages("apple* -pie").hits.count == 1)
            _ = try await bob.send(room: room.id, text: "Crème brûlée")
            #expect(try await bob.searchMessages("creme brulee").hits.count == 1)

            // An edited-away word is not found; the new one is.
            _ = try await alice.edit(room.id, seq: apple, text: "I like the cherry tart")
            #expect(try await bob.searchMessages("pie").hits.isEmpty)
            #expect(try await bob.searchMessages("cherry").hits.map(\.seq) == [apple])
            // A deleted message is not found.
            _ = try await alice.deleteMessage(room.id, seq: apple)
            #expect(try await bob.searchMessages("cherry").hits.isEmpty)
            // A member who leaves no longer finds the room's messages.
            try await bob.leave(room.id)
            #expect(try await bob.searchMessages("bananas").hits.isEmpty)

            for bad in ["", "\"open", "OR x", "-only", "x*y", "*"] {
                await expectError(.invalidField, "\(bad)") { try await alice.searchMessages(bad) }
            }
            await expectError(.tooLarge) { try await alice.searchMessages(String(repeating: "a", count: 300)) }
            await expectError(.invalidField) { try await alice.searchMessages("apple", cursor: "r:1") }
        }
    }

    @Test func pagesNewestFirstAndByRank() async throws {
        try await withServer { server in
            let (alice, _) = try await server.user("alice")
            let room = try await alice.createRoom(name: "paging")
            var seqs: [UInt64] = []
            for i in 0..<25 {
                let text = i == 7 ? "kiwi kiwi kiwi kiwi" : "kiwi number \(i) with many other words around it"
                seqs.append(try await alice.send(room: room.id, text: text).event.seq)
            }
            var seen: [UInt64] = []
            var cursor = ""
            repeat {
                let page = try await alice.searchMessages("kiwi", limit: 10, cursor: cursor)
                seen += page.hits.map(\.seq)
                cursor = page.nextCursor
            } while !cursor.isEmpty
            #expect(seen == seqs.reversed())
            let ranked = try await alice.searchMessages("kiwi", order: .rank, limit: 5)
            #expect(ranked.hits.first?.seq == seqs[7] && ranked.hits.count == 5 && !ranked.nextCursor.isEmpty)
            let rest = try await alice.searchMessages("kiwi", order: .rank, limit: 100, cursor: ranked.nextCursor)
            #expect(rest.hits.count == 20 && rest.nextCursor.isEmpty)
            #expect(Set(ranked.hits.map(\.seq) + rest.hits.map(\.seq)) == Set(seqs))
        }
    }
}

/// The client library's resumable upload plan (`missingPieces`) from the
/// server's received ranges, which it must not trust to lie within the file.
struct MissingPiecesTests {
    static func range(_ offset: UInt64, _ length: UInt64) -> Chatd_V1_ByteRange {
        var r = Chatd_V1_ByteRange()
        r.offset = offset
        r.length = length
        return r
    }

    static func pieces(_ size: UInt64, _ received: [Chatd_V1_ByteRange], chunk: UInt64) -> [[UInt64]] {
        ChatConnection.missingPieces(size: size, received: received, chunk: chunk).map { [$0.0, $0.1] }
    }

    @Test func piecesStayWithinTheFileWhateverTheServerSays() {
        #expect(Self.pieces(10, [Self.range(2, 3)], chunk: 4) == [[0, 2], [5, 9], [9, 10]])
        #expect(Self.pieces(10, [], chunk: 0).count == 10)
        // Past the end, and ends that overflow: they trapped before.
        #expect(Self.pieces(10, [Self.range(UInt64.max - 1, 5)], chunk: 4) == [[0, 4], [4, 8], [8, 10]])
        #expect(Self.pieces(10, [Self.range(8, UInt64.max)], chunk: 4) == [[0, 4], [4, 8]])
        #expect(Self.pieces(10, [Self.range(0, 10), Self.range(3, 1)], chunk: UInt64.max) == [])
        #expect(Self.pieces(10, [], chunk: UInt64.max) == [[0, 10]])
    }
}
