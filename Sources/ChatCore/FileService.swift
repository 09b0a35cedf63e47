import Synchronization

/// Resumable uploads, downloads and garbage collection (spec/PROTOCOL.md §13).
///
/// Rules kept here:
/// - An upload's chunks are handled one at a time; a chunk is durable on
///   disk before its range is recorded, so the ranges a client reads back
///   (UploadStatus) survive a crash or restart.
/// - A chunk may repeat bytes already received (a retry) but not change them.
/// - Finish checks completeness, the content type against the leading bytes
///   and the BLAKE2b-256 hash; a failed check discards the upload, so nothing
///   partial stays on disk or in anyone's quota.
/// - Placing content and collecting it exclude each other, on every node
///   sharing the database and the file store, so a finish that
///   deduplicates onto a content never races that content's removal.
/// - Nobody learns that a file exists unless they may read it: unknown and
///   forbidden files are both not_found.
public final class FileService: Sendable {
    let catalog: any FileCatalog
    let blobs: any BlobStorage
    let random: @Sendable (Int) -> [UInt8]
    let clock: any WallClock
    private let limitsBox: Mutex<FileLimits>
    private let uploadLocks = KeyedLock<String>()
    /// Serialises content placement against collection on this node; see
    /// `excludingContentChanges` for every node.
    private let contentLock = KeyedLock<Int>()

    public init(
        catalog: any FileCatalog, blobs: any BlobStorage, random: @escaping @Sendable (Int) -> [UInt8], clock: any WallClock,
        limits: FileLimits
    ) {
        self.catalog = catalog
        self.blobs = blobs
        self.random = random
        self.clock = clock
        limitsBox = Mutex(limits)
    }

    public var limits: FileLimits { limitsBox.withLock { $0 } }
    public func reconfigure(limits: FileLimits) { limitsBox.withLock { $0 = limits } }

    /// Strays (files on disk the database does not know) younger than this
    /// are left alone: they may belong to a finish in progress.
    public static let strayAgeMs: Millis = 3600 * 1000

    /// Upload and file ids: 128 random bits in hex.
    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    // MARK: Uploads

    public func begin(_ session: Session, size: Int64, name: String, mimeType: String, hash: [UInt8]) async throws -> (Upload, resumed: Bool) {
        let limits = self.limits
        guard size >= 1 else { throw ChatFailure.invalid("size", "size must be at least 1 byte") }
        guard size <= limits.maxFileBytes else {
            throw ChatFailure(.tooLarge, "files may have at most \(limits.maxFileBytes) bytes", field: "size")
        }
        let name = try Validate.name(name, field: "name", max: FileLimits.maxNameBytes, min: 1)
        guard hash.count == FileLimits.hashBytes else {
            throw ChatFailure.invalid("blake2b", "blake2b must be the 32-byte BLAKE2b-256 of the content")
        }
        try limits.policy.checkDeclared(mimeType)
        try blobs.admitWrite()
        let now = clock.nowMs()
        let upload = Upload(
            id: hex(random(16)), ownerID: session.userID, size: size, name: name,
            mimeType: ContentPolicy.normalize(mimeType), hash: hash, received: ByteRanges(), createdAt: now,
            expiresAt: now + limits.uploadTTLMs)
        return try await catalog.beginUpload(upload, quotaBytes: limits.userQuotaBytes)
    }

    public func status(_ session: Session, upload id: String) async throws -> Upload {
        try await liveUpload(id, session)
    }

    private func liveUpload(_ id: String, _ session: Session) async throws -> Upload {
        guard Self.isValidID(id), let upload = try await catalog.upload(id: id, owner: session.userID),
            upload.expiresAt > clock.nowMs()
        else { throw ChatFailure(.notFound, "no such upload (unknown, finished or expired)") }
        return upload
    }

    /// Stores a chunk; returns the upload with its ranges after it.
    public func chunk(_ session: Session, upload id: String, offset: Int64, data: [UInt8]) async throws -> Upload {
        let limits = self.limits
        guard Self.isValidID(id) else { throw ChatFailure(.notFound, "no such upload") }
        guard !data.isEmpty else { throw ChatFailure.invalid("data", "a chunk carries at least one byte") }
        guard data.count <= limits.maxChunkBytes else {
            throw ChatFailure(.tooLarge, "chunks may have at most \(limits.maxChunkBytes) bytes", field: "data")
        }
        return try await uploadLocks.withLock(id) {
            var upload = try await liveUpload(id, session)
            // Compared without adding first: offset comes from the client.
            guard offset >= 0, offset <= upload.size, Int64(data.count) <= upload.size - offset else {
                throw ChatFailure.invalid("offset", "a chunk of \(data.count) bytes at \(offset) is outside the file's \(upload.size) bytes")
            }
            let end = offset + Int64(data.count)
            let overlaps = upload.received.overlaps(start: offset, end: end)
            for part in overlaps {
                let stored = try await blobs.readPartial(id, offset: part.start, count: Int(part.length))
                let sent = data[Int(part.start - offset)..<Int(part.end - offset)]
                guard stored.elementsEqual(sent) else {
                    throw ChatFailure(.conflict, "bytes at [\(part.start), \(part.end)) differ from those received before", field: "data")
                }
            }
            if overlaps.reduce(0, { $0 + $1.length }) == Int64(data.count) { return upload }  // a retry
            var after = upload.received
            after.insert(start: offset, end: end)
            guard after.ranges.count <= FileLimits.maxRanges else {
                throw ChatFailure.invalid("offset", "too many separate ranges: send chunks in order")
            }
            try await blobs.writePartial(id, offset: offset, data: data)
            upload.received = try await catalog.recordChunk(upload: id, owner: session.userID, start: offset, end: end)
            return upload
        }
    }

    public func finish(_ session: Session, upload id: String) async throws -> StoredFile {
        guard Self.isValidID(id) else { throw ChatFailure(.notFound, "no such upload") }
        return try await uploadLocks.withLock(id) {
            guard let upload = try await catalog.upload(id: id, owner: session.userID) else {
                // A retried finish gets the file it made.
                if let file = try await catalog.fileFromUpload(id: id, owner: session.userID) { return file }
                throw ChatFailure(.notFound, "no such upload")
            }
            guard upload.expiresAt > clock.nowMs() else { throw ChatFailure(.notFound, "the upload expired") }
            guard upload.complete else {
                throw ChatFailure(
                    .uploadIncomplete, "received \(upload.received.count) of \(upload.size) bytes; UploadStatus lists what arrived")
            }
            do {
                let head = try await blobs.readPartial(id, offset: 0, count: Int(min(upload.size, Int64(ContentPolicy.sniffBytes))))
                try limits.policy.check(declared: upload.mimeType, head: head)
                let hash = try await blobs.hashPartial(id, size: upload.size)
                guard hash == upload.hash else {
                    throw ChatFailure(.hashMismatch, "the content's BLAKE2b-256 is not the one declared at UploadBegin; the upload is discarded")
                }
            } catch let failure as ChatFailure {
                try await discard(id, owner: session.userID)
                throw failure
            }
            let file = StoredFile(
                id: hex(random(16)), ownerID: session.userID, name: upload.name, mimeType: upload.mimeType,
                size: upload.size, hash: upload.hash, createdAt: clock.nowMs())
            let stored = try await excludingContentChanges {
                try await blobs.place(id, hash: upload.hash)
                return try await catalog.finishUpload(id: id, owner: session.userID, file: file)
            }
            // Failing here leaves a stray partial file for the collector, nothing more.
            try? await blobs.removePartial(id)
            return stored
        }
    }

    public func cancel(_ session: Session, upload id: String) async throws {
        guard Self.isValidID(id) else { throw ChatFailure(.notFound, "no such upload") }
        try await uploadLocks.withLock(id) {
            _ = try await liveUpload(id, session)
            guard try await catalog.cancelUpload(id: id, owner: session.userID) else {
                throw ChatFailure(.notFound, "no such upload")
            }
            try await blobs.removePartial(id)
        }
    }

    private func discard(_ id: String, owner: UserID) async throws {
        _ = try await catalog.cancelUpload(id: id, owner: owner)
        try await blobs.removePartial(id)
    }

    // MARK: Downloads

    public func info(_ session: Session, file id: String) async throws -> StoredFile {
        guard Self.isValidID(id), let file = try await catalog.file(id: id, viewer: session.userID) else {
            throw ChatFailure(.notFound, "no such file")
        }
        return file
    }

    /// Up to `length` bytes (0: the chunk limit) from `offset`; an offset at
    /// the end gives no bytes.
    public func download(_ session: Session, file id: String, offset: Int64, length: Int) async throws -> (StoredFile, [UInt8]) {
        let file = try await info(session, file: id)
        guard offset >= 0, offset <= file.size else {
            throw ChatFailure.invalid("offset", "offset is past the file's \(file.size) bytes")
        }
        guard length >= 0 else { throw ChatFailure.invalid("length", "length must not be negative") }
        let chunk = limits.maxChunkBytes
        let count = Int(min(Int64(length == 0 ? chunk : min(length, chunk)), file.size - offset))
        let bytes = count == 0 ? [] : try await blobs.readContent(file.hash, offset: offset, count: count)
        return (file, bytes)
    }

    /// Runs `body` while no content is placed (UploadFinish) or collected,
    /// on this node or any other sharing the database and the file store
    /// (also backups: the database snapshot and the content copy then agree).
    public func excludingContentChanges<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await contentLock.withLock(0) { try await catalog.excludingOtherNodes(body) }
    }

    // MARK: Collection

    /// Removes expired uploads, files no message refers to (after the grace
    /// time), contents no file uses, and strays.
    public func collectGarbage() async throws -> GarbageReport {
        var report = GarbageReport()
        let now = clock.nowMs()
        let limits = self.limits
        while true {
            let ids = try await catalog.expiredUploads(before: now, limit: 500)
            for id in ids {
                try await uploadLocks.withLock(id) {
                    try await catalog.removeUploads([id])
                    try await blobs.removePartial(id)
                }
            }
            report.expiredUploads += ids.count
            if ids.count < 500 { break }
        }
        try await excludingContentChanges {
            while true {
                let (files, contents) = try await catalog.collectFiles(unreferencedBefore: now - limits.unreferencedGraceMs, limit: 500)
                for (hash, size) in contents {
                    try await blobs.removeContent(hash)
                    report.contentBytes += size
                }
                report.files += files
                report.contents += contents.count
                if files < 500 { break }
            }
        }
        // Strays: found without the lock (a long scan must not hold up
        // finishes), confirmed and removed under it.
        var candidates: [[UInt8]] = []
        for hash in try await blobs.listContents(modifiedBefore: now - Self.strayAgeMs) where try await !catalog.contentExists(hash) {
            candidates.append(hash)
        }
        if !candidates.isEmpty {
            try await excludingContentChanges {
                for hash in candidates where try await !catalog.contentExists(hash) {
                    try await blobs.removeContent(hash)
                    report.strays += 1
                }
            }
        }
        for id in try await blobs.listPartials(modifiedBefore: now - Self.strayAgeMs) where try await !catalog.uploadExists(id) {
            try await uploadLocks.withLock(id) { try await blobs.removePartial(id) }
            report.strays += 1
        }
        return report
    }

    public func stats(topUsers: Int = 10) async throws -> (FileStats, diskBytes: Int64) {
        (try await catalog.fileStats(topUsers: topUsers), try await blobs.diskBytes())
    }
}
