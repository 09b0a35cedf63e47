import ChatCore
import Foundation
import GRDB

extension SQLiteStore: FileCatalog {
    static let uploadColumns = "id, owner_id, size, name, mime, hash, received, created_at, expires_at"
    static let fileColumns = "f.id, f.owner_id, f.name, f.mime, f.size, f.hash, f.created_at"

    static func upload(_ row: Row) -> Upload {
        Upload(
            id: row[0], ownerID: row[1], size: row[2], name: row[3], mimeType: row[4], hash: Array(row[5] as Data),
            received: ByteRanges(parsing: row[6]) ?? ByteRanges(), createdAt: row[7], expiresAt: row[8])
    }

    static func storedFile(_ row: Row) -> StoredFile {
        StoredFile(
            id: row[0], ownerID: row[1], name: row[2], mimeType: row[3], size: row[4], hash: Array(row[5] as Data),
            createdAt: row[6])
    }

    static func file(_ db: Database, id: String) throws -> StoredFile? {
        try Row.decodeOne(db.cachedStatement(sql: "SELECT \(fileColumns) FROM files f WHERE f.id = ?"), arguments: [id], storedFile)
    }

    /// Whether a message (not deleted) refers to the file in a conversation `user` is a member of.
    static func isFileShared(_ db: Database, id: String, withMember user: UserID) throws -> Bool {
        try Bool.fetchOneCached(db,
            sql: """
                SELECT 1 FROM file_refs r JOIN members m ON m.conversation_id = r.conversation_id AND m.user_id = ?
                WHERE r.file_id = ? LIMIT 1
                """, arguments: [user, id]) == true
    }

    /// Bytes counted against a user's quota: their files and their unfinished uploads.
    /// Expired uploads count for nothing, even before the collector removes them.
    static func usedBytes(_ db: Database, user: UserID, now: Millis) throws -> Int64 {
        let files = try Int64.fetchOneCached(db, sql: "SELECT coalesce(sum(size), 0) FROM files WHERE owner_id = ?", arguments: [user]) ?? 0
        let uploads = try Int64.fetchOneCached(db,
            sql: "SELECT coalesce(sum(size), 0) FROM uploads WHERE owner_id = ? AND expires_at > ?", arguments: [user, now]) ?? 0
        return files + uploads
    }

    public func beginUpload(_ upload: Upload, quotaBytes: Int64) async throws -> (Upload, resumed: Bool) {
        try await write { db in
            if let existing = try Row.decodeOne(
                db.cachedStatement(
                    sql: "SELECT \(Self.uploadColumns) FROM uploads WHERE owner_id = ? AND hash = ? AND size = ? AND expires_at > ?"),
                arguments: [upload.ownerID, Data(upload.hash), upload.size, upload.createdAt], Self.upload)
            {
                return (existing, true)
            }
            let open = try Int.fetchOneCached(db,
                sql: "SELECT count(*) FROM uploads WHERE owner_id = ? AND expires_at > ?", arguments: [upload.ownerID, upload.createdAt]) ?? 0
            try FilePolicy.checkNewUpload(
                size: upload.size, openUploads: open, usedBytes: Self.usedBytes(db, user: upload.ownerID, now: upload.createdAt),
                quotaBytes: quotaBytes)
            try db.cachedExecute(sql: """
                    INSERT INTO uploads (id, owner_id, size, name, mime, hash, received, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)
                    """,
                arguments: [
                    upload.id, upload.ownerID, upload.size, upload.name, upload.mimeType, Data(upload.hash), upload.createdAt,
                    upload.expiresAt,
                ])
            return (upload, false)
        }
    }

    public func upload(id: String, owner: UserID) async throws -> Upload? {
        try await read { db in
            try Row.decodeOne(
                db.cachedStatement(sql: "SELECT \(Self.uploadColumns) FROM uploads WHERE id = ? AND owner_id = ?"), arguments: [id, owner],
                Self.upload)
        }
    }

    public func recordChunk(upload id: String, owner: UserID, start: Int64, end: Int64) async throws -> ByteRanges {
        try await write { db in
            guard
                let text = try String.fetchOneCached(db, sql: "SELECT received FROM uploads WHERE id = ? AND owner_id = ?",
                    arguments: [id, owner])
            else { throw ChatFailure(.notFound, "no such upload") }
            var ranges = ByteRanges(parsing: text) ?? ByteRanges()
            ranges.insert(start: start, end: end)
            try db.cachedExecute(sql: "UPDATE uploads SET received = ? WHERE id = ?", arguments: [ranges.description, id])
            return ranges
        }
    }

    public func finishUpload(id: String, owner: UserID, file: StoredFile) async throws -> StoredFile {
        try await write { db in
            try db.cachedExecute(sql: "DELETE FROM uploads WHERE id = ? AND owner_id = ?", arguments: [id, owner])
            guard db.changesCount == 1 else { throw ChatFailure(.notFound, "no such upload") }
            try db.cachedExecute(sql: "INSERT OR IGNORE INTO contents (hash, size, created_at) VALUES (?, ?, ?)",
                arguments: [Data(file.hash), file.size, file.createdAt])
            try db.cachedExecute(sql: """
                    INSERT INTO files (id, hash, owner_id, upload_id, name, mime, size, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [file.id, Data(file.hash), owner, id, file.name, file.mimeType, file.size, file.createdAt])
            return file
        }
    }

    public func fileFromUpload(id: String, owner: UserID) async throws -> StoredFile? {
        try await read { db in
            try Row.decodeOne(
                db.cachedStatement(sql: "SELECT \(Self.fileColumns) FROM files f WHERE f.upload_id = ? AND f.owner_id = ?"),
                arguments: [id, owner], Self.storedFile)
        }
    }

    public func cancelUpload(id: String, owner: UserID) async throws -> Bool {
        try await write(.freesSpace) { db in
            try db.cachedExecute(sql: "DELETE FROM uploads WHERE id = ? AND owner_id = ?", arguments: [id, owner])
            return db.changesCount > 0
        }
    }

    public func file(id: String, viewer: UserID) async throws -> StoredFile? {
        try await read { db in
            guard let file = try Self.file(db, id: id),
                try FilePolicy.canRead(file, viewer: viewer, shared: { try Self.isFileShared(db, id: id, withMember: viewer) })
            else { return nil }
            return file
        }
    }

    public func expiredUploads(before cutoff: Millis, limit: Int) async throws -> [String] {
        try await read { db in
            try String.fetchAllCached(db, sql: "SELECT id FROM uploads WHERE expires_at <= ? ORDER BY expires_at LIMIT ?",
                arguments: [cutoff, limit])
        }
    }

    public func removeUploads(_ ids: [String]) async throws {
        try await write(.freesSpace) { db in
            for id in ids { try db.cachedExecute(sql: "DELETE FROM uploads WHERE id = ?", arguments: [id]) }
        }
    }

    public func collectFiles(unreferencedBefore cutoff: Millis, limit: Int) async throws -> (files: Int, contents: [([UInt8], Int64)]) {
        try await write(.freesSpace) { db in
            let ids = try String.fetchAll(db,
                sql: """
                    SELECT f.id FROM files f WHERE f.created_at < ?
                      AND NOT EXISTS (SELECT 1 FROM file_refs r WHERE r.file_id = f.id) LIMIT ?
                    """, arguments: [cutoff, limit])
            var hashes = Set<Data>()
            for id in ids {
                if let hash = try Data.fetchOne(db, sql: "DELETE FROM files WHERE id = ? RETURNING hash", arguments: [id]) {
                    hashes.insert(hash)
                }
            }
            var contents: [([UInt8], Int64)] = []
            for hash in hashes {
                if let size = try Int64.fetchOne(db,
                    sql: """
                        DELETE FROM contents WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM files WHERE hash = ?) RETURNING size
                        """, arguments: [hash, hash])
                {
                    contents.append((Array(hash), size))
                }
            }
            return (ids.count, contents)
        }
    }

    public func contentExists(_ hash: [UInt8]) async throws -> Bool {
        try await read { db in
            try Int.fetchOneCached(db, sql: "SELECT 1 FROM contents WHERE hash = ?", arguments: [Data(hash)]) != nil
        }
    }

    public func uploadExists(_ id: String) async throws -> Bool {
        try await read { db in try Int.fetchOneCached(db, sql: "SELECT 1 FROM uploads WHERE id = ?", arguments: [id]) != nil }
    }

    public func fileStats(topUsers: Int) async throws -> FileStats {
        try await read { db in
            let files = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(size), 0) FROM files")
            let contents = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(size), 0) FROM contents")
            let uploads = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(size), 0) FROM uploads")
            let referenced = try Int.fetchOne(db, sql: "SELECT count(DISTINCT file_id) FROM file_refs") ?? 0
            let users = try Row.fetchAll(db,
                sql: """
                    SELECT u.id, u.username,
                      (SELECT count(*) FROM files WHERE owner_id = u.id) AS files,
                      (SELECT coalesce(sum(size), 0) FROM files WHERE owner_id = u.id) AS bytes,
                      (SELECT count(*) FROM uploads WHERE owner_id = u.id) AS uploads,
                      (SELECT coalesce(sum(size), 0) FROM uploads WHERE owner_id = u.id) AS upload_bytes
                    FROM users u
                    WHERE u.id IN (SELECT owner_id FROM files UNION SELECT owner_id FROM uploads)
                    ORDER BY bytes + upload_bytes DESC, u.id LIMIT ?
                    """, arguments: [topUsers]
            ).map {
                FileUsage(
                    userID: $0["id"], username: $0["username"], files: $0["files"], bytes: $0["bytes"], uploads: $0["uploads"],
                    uploadBytes: $0["upload_bytes"])
            }
            return FileStats(
                files: files?[0] ?? 0, contents: contents?[0] ?? 0, contentBytes: contents?[1] ?? 0, fileBytes: files?[1] ?? 0,
                referencedFiles: referenced, uploads: uploads?[0] ?? 0, uploadBytes: uploads?[1] ?? 0, topUsers: users)
        }
    }
}
