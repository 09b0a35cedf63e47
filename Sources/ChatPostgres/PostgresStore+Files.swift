import ChatCore
import NIOConcurrencyHelpers
import PostgresNIO

/// File metadata and reference counts (SQLiteStore+Files's statements; the
/// references are kept by the events trigger). Where SQLite's single writer
/// serialises a read-then-write, a row lock does here: the uploader's row
/// for the quota check, the upload's row for its received ranges.
extension PostgresStore: FileCatalog {
    static let uploadColumns = "id, owner_id, size, name, mime, hash, received, created_at, expires_at"

    static func upload(_ row: PGRow) -> Upload {
        Upload(
            id: row[0].text, ownerID: row[1].int, size: row[2].int, name: row[3].text, mimeType: row[4].text,
            hash: row[5].bytesOrNil ?? [], received: ByteRanges(parsing: row[6].text) ?? ByteRanges(), createdAt: row[7].int,
            expiresAt: row[8].int)
    }

    /// Bytes counted against a user's quota: their files and their unexpired uploads.
    static func usedBytes(_ s: PGSession, user: UserID, now: Millis) throws -> Int64 {
        let files = try s.int("SELECT coalesce(sum(size), 0)::bigint FROM files WHERE owner_id = ?", [user]) ?? 0
        let uploads = try s.int("SELECT coalesce(sum(size), 0)::bigint FROM uploads WHERE owner_id = ? AND expires_at > ?", [user, now]) ?? 0
        return files + uploads
    }

    public func beginUpload(_ upload: Upload, quotaBytes: Int64) async throws -> (Upload, resumed: Bool) {
        try await write { s in
            try s.execute("SELECT 1 FROM users WHERE id = ? FOR UPDATE", [upload.ownerID])
            if let existing = try s.row(
                "SELECT \(Self.uploadColumns) FROM uploads WHERE owner_id = ? AND hash = ? AND size = ? AND expires_at > ?",
                [upload.ownerID, upload.hash, upload.size, upload.createdAt]
            ).map(Self.upload) {
                return (existing, true)
            }
            let open = try s.int("SELECT count(*) FROM uploads WHERE owner_id = ? AND expires_at > ?", [upload.ownerID, upload.createdAt]) ?? 0
            try FilePolicy.checkNewUpload(
                size: upload.size, openUploads: Int(open), usedBytes: Self.usedBytes(s, user: upload.ownerID, now: upload.createdAt),
                quotaBytes: quotaBytes)
            try s.execute(
                """
                INSERT INTO uploads (id, owner_id, size, name, mime, hash, received, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)
                """,
                [
                    upload.id, upload.ownerID, upload.size, upload.name, upload.mimeType, upload.hash, upload.createdAt,
                    upload.expiresAt,
                ])
            return (upload, false)
        }
    }

    public func upload(id: String, owner: UserID) async throws -> Upload? {
        try await read { s in
            try s.row("SELECT \(Self.uploadColumns) FROM uploads WHERE id = ? AND owner_id = ?", [id, owner]).map(Self.upload)
        }
    }

    public func recordChunk(upload id: String, owner: UserID, start: Int64, end: Int64) async throws -> ByteRanges {
        try await write { s in
            guard let row = try s.row("SELECT received FROM uploads WHERE id = ? AND owner_id = ? FOR UPDATE", [id, owner])
            else { throw ChatFailure(.notFound, "no such upload") }
            var ranges = ByteRanges(parsing: row[0].text) ?? ByteRanges()
            ranges.insert(start: start, end: end)
            try s.execute("UPDATE uploads SET received = ? WHERE id = ?", [ranges.description, id])
            return ranges
        }
    }

    public func finishUpload(id: String, owner: UserID, file: StoredFile) async throws -> StoredFile {
        try await write { s in
            try s.execute("DELETE FROM uploads WHERE id = ? AND owner_id = ?", [id, owner])
            guard s.changesCount == 1 else { throw ChatFailure(.notFound, "no such upload") }
            try s.execute(
                "INSERT INTO contents (hash, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [file.hash, file.size, file.createdAt])
            try s.execute(
                """
                INSERT INTO files (id, hash, owner_id, upload_id, name, mime, size, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [file.id, file.hash, owner, id, file.name, file.mimeType, file.size, file.createdAt])
            return file
        }
    }

    public func fileFromUpload(id: String, owner: UserID) async throws -> StoredFile? {
        try await read { s in
            try s.row("SELECT \(Self.fileColumns) FROM files f WHERE f.upload_id = ? AND f.owner_id = ?", [id, owner])
                .map(Self.storedFile)
        }
    }

    public func cancelUpload(id: String, owner: UserID) async throws -> Bool {
        try await write { s in
            try s.execute("DELETE FROM uploads WHERE id = ? AND owner_id = ?", [id, owner])
            return s.changesCount > 0
        }
    }

    public func file(id: String, viewer: UserID) async throws -> StoredFile? {
        try await read { s in
            guard let file = try Self.file(s, id: id),
                try FilePolicy.canRead(file, viewer: viewer, shared: { try Self.isFileShared(s, id: id, withMember: viewer) })
            else { return nil }
            return file
        }
    }

    public func expiredUploads(before cutoff: Millis, limit: Int) async throws -> [String] {
        try await read { s in
            try s.rows("SELECT id FROM uploads WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", [cutoff, limit]).map { $0[0].text }
        }
    }

    public func removeUploads(_ ids: [String]) async throws {
        try await write { s in
            for id in ids { try s.execute("DELETE FROM uploads WHERE id = ?", [id]) }
        }
    }

    public func collectFiles(unreferencedBefore cutoff: Millis, limit: Int) async throws -> (files: Int, contents: [([UInt8], Int64)]) {
        let (count, contents) = try await write { s -> (Int, [PGRow]) in
            let ids = try s.rows(
                """
                SELECT f.id FROM files f WHERE f.created_at < ?
                  AND NOT EXISTS (SELECT 1 FROM file_refs r WHERE r.file_id = f.id) LIMIT ? FOR UPDATE OF f
                """, [cutoff, limit]
            ).map { $0[0].text }
            var hashes = Set<[UInt8]>()
            for id in ids {
                if let hash = try s.row("DELETE FROM files WHERE id = ? RETURNING hash", [id])?[0].bytesOrNil { hashes.insert(hash) }
            }
            var contents: [PGRow] = []
            for hash in hashes {
                if let row = try s.row(
                    "DELETE FROM contents WHERE hash = ?1 AND NOT EXISTS (SELECT 1 FROM files WHERE hash = ?1) RETURNING hash, size", [hash])
                {
                    contents.append(row)
                }
            }
            return (ids.count, contents)
        }
        return (count, contents.map { ($0[0].bytesOrNil ?? [], $0[1].int) })
    }

    public func contentExists(_ hash: [UInt8]) async throws -> Bool {
        try await read { s in try s.exists("SELECT 1 FROM contents WHERE hash = ?", [hash]) }
    }

    public func uploadExists(_ id: String) async throws -> Bool {
        try await read { s in try s.exists("SELECT 1 FROM uploads WHERE id = ?", [id]) }
    }

    public func fileStats(topUsers: Int) async throws -> FileStats {
        try await read { s in
            let files = try s.row("SELECT count(*), coalesce(sum(size), 0)::bigint FROM files")
            let contents = try s.row("SELECT count(*), coalesce(sum(size), 0)::bigint FROM contents")
            let uploads = try s.row("SELECT count(*), coalesce(sum(size), 0)::bigint FROM uploads")
            let referenced = try s.int("SELECT count(DISTINCT file_id) FROM file_refs") ?? 0
            let users = try s.rows(
                """
                SELECT * FROM (SELECT u.id, u.username,
                  (SELECT count(*) FROM files WHERE owner_id = u.id) AS files,
                  (SELECT coalesce(sum(size), 0)::bigint FROM files WHERE owner_id = u.id) AS bytes,
                  (SELECT count(*) FROM uploads WHERE owner_id = u.id) AS uploads,
                  (SELECT coalesce(sum(size), 0)::bigint FROM uploads WHERE owner_id = u.id) AS upload_bytes
                FROM users u
                WHERE u.id IN (SELECT owner_id FROM files UNION SELECT owner_id FROM uploads)) usage
                ORDER BY bytes + upload_bytes DESC, id LIMIT ?
                """, [topUsers]
            ).map {
                FileUsage(
                    userID: $0["id"].int, username: $0["username"].text, files: Int($0["files"].int), bytes: $0["bytes"].int,
                    uploads: Int($0["uploads"].int), uploadBytes: $0["upload_bytes"].int)
            }
            return FileStats(
                files: Int(files?[0].int ?? 0), contents: Int(contents?[0].int ?? 0), contentBytes: contents?[1].int ?? 0,
                fileBytes: files?[1].int ?? 0, referencedFiles: Int(referenced), uploads: Int(uploads?[0].int ?? 0),
                uploadBytes: uploads?[1].int ?? 0, topUsers: users)
        }
    }

    // MARK: One node at a time

    /// The session-level advisory lock that content placement and
    /// collection hold on every node ("chatdfil" as a number).
    static let contentLockKey: Int64 = 0x6368_6174_6466_696C

    /// Holds `contentLockKey` around `body` on a connection of its own,
    /// opened for the call (a pooled one could be the one `body`'s writes
    /// wait for, and a kept one could be lost unnoticed; placing and
    /// collecting content are rare next to messages). Waiting for another
    /// node is bounded by `statement_timeout`. PostgreSQL frees the lock when
    /// its connection ends, so a node that dies holding it frees it.
    public func excludingOtherNodes<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        guard !closing.load(ordering: .acquiring) else { throw ChatFailure(.unavailable, "the database is closing") }
        return try await contentLockGate.withLock(0) {
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    configuration: Self.connectionConfiguration(settings), id: 2, logger: logger)
            } catch {
                throw Self.translate(error)
            }
            do {
                try await advisory(connection, "SELECT pg_advisory_lock(\(Self.contentLockKey))")
            } catch {
                try? await connection.close()
                throw Self.translate(error)
            }
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            do {
                try await advisory(connection, "SELECT pg_advisory_unlock(\(Self.contentLockKey))")
            } catch {
                // Closing the connection frees the lock too.
                logger.warning("releasing the content lock failed", metadata: ["chatd.error": "\(Self.translate(error))"])
            }
            try? await connection.close()
            return try result.get()
        }
    }

    /// Runs a lock statement, giving up after the statement timeout and 5 s
    /// (10 minutes and 5 s without one): a query written to a connection
    /// that closes at that moment is never answered (postgres-nio 1.33), and
    /// waiting for it is not cancellable, so the wait is left behind.
    private func advisory(_ connection: PostgresConnection, _ query: PostgresQuery) async throws {
        let limit = Duration.milliseconds((settings.statementTimeoutMs > 0 ? settings.statementTimeoutMs : 600_000) + 5_000)
        let logger = self.logger
        let answer = FirstAnswer()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            answer.set(c)
            let timer = Task {
                try? await Task.sleep(for: limit)
                answer.resume(.failure(ChatFailure(.unavailable, "the database did not answer the content lock in time")))
            }
            Task {
                do {
                    for try await _ in try await connection.query(query, logger: logger) {}
                    answer.resume(.success(()))
                } catch {
                    answer.resume(.failure(error))
                }
                timer.cancel()
            }
        }
    }

    /// Resumes a continuation with the first of several answers.
    private final class FirstAnswer: Sendable {
        private let continuation = NIOLockedValueBox<CheckedContinuation<Void, any Error>?>(nil)
        func set(_ c: CheckedContinuation<Void, any Error>) { continuation.withLockedValue { $0 = c } }
        func resume(_ result: Result<Void, any Error>) {
            continuation.withLockedValue { c in defer { c = nil }; return c }?.resume(with: result)
        }
    }
}
