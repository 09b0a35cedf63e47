// Files: uploads in progress, stored files, and the ports FileService needs.

/// A file as users see it: one upload's result. Several files may share
/// one content (deduplication): the content is stored once under its hash.
public struct StoredFile: Sendable, Equatable {
    public var id: String
    public var ownerID: UserID?
    public var name: String
    public var mimeType: String
    public var size: Int64
    /// BLAKE2b-256 of the content.
    public var hash: [UInt8]
    public var createdAt: Millis

    public init(id: String, ownerID: UserID?, name: String, mimeType: String, size: Int64, hash: [UInt8], createdAt: Millis) {
        self.id = id
        self.ownerID = ownerID
        self.name = name
        self.mimeType = mimeType
        self.size = size
        self.hash = hash
        self.createdAt = createdAt
    }
}

public struct Upload: Sendable, Equatable {
    public var id: String
    public var ownerID: UserID
    public var size: Int64
    public var name: String
    public var mimeType: String
    public var hash: [UInt8]
    public var received: ByteRanges
    public var createdAt: Millis
    public var expiresAt: Millis

    public init(
        id: String, ownerID: UserID, size: Int64, name: String, mimeType: String, hash: [UInt8], received: ByteRanges,
        createdAt: Millis, expiresAt: Millis
    ) {
        self.id = id
        self.ownerID = ownerID
        self.size = size
        self.name = name
        self.mimeType = mimeType
        self.hash = hash
        self.received = received
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public var complete: Bool { received.covers(size: size) }
}

/// File limits from configuration; the defaults are ConfigTable's.
public struct FileLimits: Sendable, Equatable {
    public var maxFileBytes = Setting.filesMaxFileBytes.defaultValue
    public var maxChunkBytes = Int(Setting.filesMaxChunkBytes.defaultValue)
    public var userQuotaBytes = Setting.filesUserQuotaBytes.defaultValue
    public var uploadTTLMs: Millis = Setting.filesUploadTtlHours.defaultValue * 3_600_000
    /// How long a file no message refers to is kept (the uploader has this
    /// long to send it; a deleted message's file goes after it).
    public var unreferencedGraceMs: Millis = Setting.filesUnreferencedGraceHours.defaultValue * 3_600_000
    public var policy = ContentPolicy(allowed: Setting.filesAllowedTypes.defaultValue)

    public init() {}

    /// Unfinished uploads one user may have.
    public static let maxOpenUploads = 16
    /// Disjoint received ranges one upload may have (bounds the stored form).
    public static let maxRanges = 256
    public static let maxNameBytes = 255
    public static let hashBytes = 32
}

/// Quota and storage totals.
public struct FileUsage: Sendable, Equatable {
    public var userID: UserID
    public var username: String
    public var files: Int
    public var bytes: Int64
    public var uploads: Int
    public var uploadBytes: Int64

    public init(userID: UserID, username: String, files: Int, bytes: Int64, uploads: Int, uploadBytes: Int64) {
        self.userID = userID
        self.username = username
        self.files = files
        self.bytes = bytes
        self.uploads = uploads
        self.uploadBytes = uploadBytes
    }
}

public struct FileStats: Sendable, Equatable {
    public var files: Int
    public var contents: Int
    /// Bytes of distinct contents (what the disk holds).
    public var contentBytes: Int64
    /// Bytes of files (what users' quotas count).
    public var fileBytes: Int64
    public var referencedFiles: Int
    public var uploads: Int
    public var uploadBytes: Int64
    public var topUsers: [FileUsage]

    public init(
        files: Int, contents: Int, contentBytes: Int64, fileBytes: Int64, referencedFiles: Int, uploads: Int,
        uploadBytes: Int64, topUsers: [FileUsage]
    ) {
        self.files = files
        self.contents = contents
        self.contentBytes = contentBytes
        self.fileBytes = fileBytes
        self.referencedFiles = referencedFiles
        self.uploads = uploads
        self.uploadBytes = uploadBytes
        self.topUsers = topUsers
    }
}

/// What one garbage-collection pass removed.
public struct GarbageReport: Sendable, Equatable {
    public var expiredUploads: Int = 0
    public var files: Int = 0
    public var contents: Int = 0
    public var contentBytes: Int64 = 0
    /// Content or upload files on disk the database did not know (a crash
    /// between writing and recording them).
    public var strays: Int = 0

    public init() {}
}

/// The database side of files.
public protocol FileCatalog: Sendable {
    /// Creates an upload, or returns the caller's unfinished upload of the
    /// same content (same hash and size): beginning again is how a client
    /// that lost the upload id resumes. Checks quota and the open-upload
    /// bound in the same transaction.
    func beginUpload(_ upload: Upload, quotaBytes: Int64) async throws -> (Upload, resumed: Bool)
    /// The caller's upload, or nil.
    func upload(id: String, owner: UserID) async throws -> Upload?
    /// Records a received range; returns the ranges after it.
    func recordChunk(upload: String, owner: UserID, start: Int64, end: Int64) async throws -> ByteRanges
    /// Removes the upload and records the file (and its content, unless
    /// stored already) in one transaction.
    func finishUpload(id: String, owner: UserID, file: StoredFile) async throws -> StoredFile
    /// The file made by this (finished) upload, if any: a retried finish.
    func fileFromUpload(id: String, owner: UserID) async throws -> StoredFile?
    func cancelUpload(id: String, owner: UserID) async throws -> Bool
    /// The file when `viewer` may read it (uploader, or member of a
    /// conversation where a message refers to it); nil otherwise.
    func file(id: String, viewer: UserID) async throws -> StoredFile?
    /// Unfinished uploads created before `cutoff` (deleted by `removeUploads`).
    func expiredUploads(before cutoff: Millis, limit: Int) async throws -> [String]
    func removeUploads(_ ids: [String]) async throws
    /// Deletes files no message refers to that are older than `cutoff`,
    /// and the contents no file uses any more; returns those contents' hashes.
    func collectFiles(unreferencedBefore cutoff: Millis, limit: Int) async throws -> (files: Int, contents: [([UInt8], Int64)])
    /// Whether a content hash is recorded (stray detection).
    func contentExists(_ hash: [UInt8]) async throws -> Bool
    func uploadExists(_ id: String) async throws -> Bool
    func fileStats(topUsers: Int) async throws -> FileStats
    /// Runs `body` while no other node places or collects content: nodes
    /// that share one database and one file store (PostgreSQL, several
    /// nodes) exclude each other here as one node's own lock excludes its
    /// tasks. The caller holds that lock, so a node asks one at a time. One
    /// node per database (SQLite): just runs `body`.
    func excludingOtherNodes<T: Sendable>(_ body: () async throws -> T) async throws -> T
}

extension FileCatalog {
    public func excludingOtherNodes<T: Sendable>(_ body: () async throws -> T) async throws -> T { try await body() }
}

/// The bytes of files: uploads being received and stored contents.
/// Implementations do blocking I/O off the event loops.
public protocol BlobStorage: Sendable {
    /// Throws `unavailable` when the store's disk is below its configured
    /// free space or has failed (asked before an upload starts).
    func admitWrite() throws
    /// Writes `data` at `offset` (creating the partial file if needed) and
    /// makes it durable before returning.
    func writePartial(_ upload: String, offset: Int64, data: [UInt8]) async throws
    func readPartial(_ upload: String, offset: Int64, count: Int) async throws -> [UInt8]
    /// BLAKE2b-256 of the first `size` bytes of the partial file.
    func hashPartial(_ upload: String, size: Int64) async throws -> [UInt8]
    /// Makes the partial file's bytes the stored content under `hash`,
    /// durably, leaving the partial file in place (removed once the database
    /// has recorded the file). When that content is stored already, nothing
    /// changes.
    func place(_ upload: String, hash: [UInt8]) async throws
    func removePartial(_ upload: String) async throws
    func readContent(_ hash: [UInt8], offset: Int64, count: Int) async throws -> [UInt8]
    func removeContent(_ hash: [UInt8]) async throws
    /// Contents and partial uploads on disk older than `before` (to find strays).
    func listContents(modifiedBefore: Millis) async throws -> [[UInt8]]
    func listPartials(modifiedBefore: Millis) async throws -> [String]
    /// Bytes on disk under the store.
    func diskBytes() async throws -> Int64
}

/// An incremental BLAKE2b-256 (contents are hashed in pieces, never held whole).
public protocol ContentHasher: AnyObject {
    func update(_ bytes: UnsafeRawBufferPointer)
    func finish() -> [UInt8]
}
