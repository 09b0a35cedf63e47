import ChatProtocol
import Foundation

/// Files and search (spec/PROTOCOL.md §13).
extension ChatConnection {
    public func uploadBegin(size: UInt64, name: String, mimeType: String, blake2b: Data) async throws
        -> Chatd_V1_UploadBeginResponse
    {
        var r = Chatd_V1_UploadBeginRequest()
        r.size = size
        r.name = name
        r.mimeType = mimeType
        r.blake2B = blake2b
        return try await call(.uploadBegin, r)
    }

    @discardableResult
    public func uploadChunk(_ uploadID: String, offset: UInt64, data: Data) async throws -> Chatd_V1_UploadStatusResponse {
        var r = Chatd_V1_UploadChunkRequest()
        r.uploadID = uploadID
        r.offset = offset
        r.data = data
        return try await call(.uploadChunk, r)
    }

    public func uploadStatus(_ uploadID: String) async throws -> Chatd_V1_UploadStatusResponse {
        var r = Chatd_V1_UploadRef()
        r.uploadID = uploadID
        return try await call(.uploadStatus, r)
    }

    public func uploadFinish(_ uploadID: String) async throws -> Chatd_V1_FileInfo {
        var r = Chatd_V1_UploadRef()
        r.uploadID = uploadID
        return try await call(.uploadFinish, r, as: Chatd_V1_FileResponse.self).file
    }

    public func uploadCancel(_ uploadID: String) async throws {
        var r = Chatd_V1_UploadRef()
        r.uploadID = uploadID
        _ = try await call(.uploadCancel, r, as: Chatd_V1_Empty.self)
    }

    /// The ranges of [0, size) not in `received`, cut into pieces of at most
    /// `chunk` bytes. Ranges are taken within [0, size) whatever the server
    /// sent (one past the end, or whose end overflows, trapped here before).
    public static func missingPieces(size: UInt64, received: [Chatd_V1_ByteRange], chunk: UInt64) -> [(UInt64, UInt64)] {
        var pieces: [(UInt64, UInt64)] = []
        var at: UInt64 = 0
        func add(_ start: UInt64, _ end: UInt64) {
            var s = start
            while s < end {
                let e = s + min(end - s, max(1, chunk))
                pieces.append((s, e))
                s = e
            }
        }
        for r in received.sorted(by: { $0.offset < $1.offset }) {
            let start = min(r.offset, size)
            let end = start + min(r.length, size - start)
            if start > at { add(at, start) }
            at = max(at, end)
        }
        if at < size { add(at, size) }
        return pieces
    }

    /// Uploads `data` whole: begins (or resumes the unfinished upload of the
    /// same content), sends the missing pieces, finishes. `blake2b` is the
    /// BLAKE2b-256 of `data`. Safe to call again after a failure: it
    /// continues where the server's received ranges end.
    public func uploadFile(
        _ data: Data, name: String, mimeType: String, blake2b: Data
    ) async throws -> Chatd_V1_FileInfo {
        let begin = try await uploadBegin(size: UInt64(data.count), name: name, mimeType: mimeType, blake2b: blake2b)
        let pieces = Self.missingPieces(
            size: UInt64(data.count), received: begin.received, chunk: UInt64(begin.maxChunkBytes))
        for (start, end) in pieces {
            try await uploadChunk(begin.uploadID, offset: start, data: data.subdata(in: Int(start)..<Int(end)))
        }
        return try await uploadFinish(begin.uploadID)
    }

    public func download(_ fileID: String, offset: UInt64 = 0, length: UInt32 = 0) async throws -> Chatd_V1_DownloadResponse {
        var r = Chatd_V1_DownloadRequest()
        r.fileID = fileID
        r.offset = offset
        r.length = length
        return try await call(.download, r)
    }

    /// Downloads a whole file piece by piece.
    public func downloadFile(_ fileID: String) async throws -> Data {
        var out = Data()
        while true {
            let piece = try await download(fileID, offset: UInt64(out.count))
            out.append(piece.data)
            if piece.eof || piece.data.isEmpty { return out }
        }
    }

    public func fileInfo(_ fileID: String) async throws -> Chatd_V1_FileInfo {
        var r = Chatd_V1_FileRef()
        r.fileID = fileID
        return try await call(.getFile, r, as: Chatd_V1_FileResponse.self).file
    }

    public func searchMessages(
        _ query: String, conversation: UInt64 = 0, order: Chatd_V1_SearchOrder = .newest, limit: UInt32 = 0,
        cursor: String = ""
    ) async throws -> Chatd_V1_SearchMessagesResponse {
        var r = Chatd_V1_SearchMessagesRequest()
        r.query = query
        r.conversationID = conversation
        r.order = order
        r.limit = limit
        r.cursor = cursor
        return try await call(.searchMessages, r)
    }
}
