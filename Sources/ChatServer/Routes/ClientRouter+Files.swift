import ChatCore
import ChatProtocol
import Foundation
import SwiftProtobuf

/// Files and search ops (spec/PROTOCOL.md §13).
extension ClientRoutes {
    static let files: [ClientRoute] = [
        .session(.uploadBegin, .small, Chatd_V1_UploadBeginRequest.self) { router, q, session, _ in
            let (upload, resumed) = try await router.files.begin(
                session, size: Int64(clamping: q.size), name: q.name, mimeType: q.mimeType, hash: Array(q.blake2B))
            var r = Chatd_V1_UploadBeginResponse()
            r.uploadID = upload.id
            r.maxChunkBytes = UInt32(clamping: router.files.limits.maxChunkBytes)
            r.expiresAtMs = upload.expiresAt
            r.resumed = resumed
            r.received = ProtoMap.ranges(upload.received)
            r.receivedBytes = UInt64(upload.received.count)
            return r
        },
        .session(.uploadChunk, .small, Chatd_V1_UploadChunkRequest.self) { router, q, session, _ in
            guard q.offset <= UInt64(Int64.max) else { throw ChatFailure.invalid("offset", "offset is out of range") }
            return ProtoMap.uploadStatus(
                try await router.files.chunk(session, upload: q.uploadID, offset: Int64(q.offset), data: Array(q.data)))
        },
        .session(.uploadStatus, .page, Chatd_V1_UploadRef.self) { router, q, session, _ in
            ProtoMap.uploadStatus(try await router.files.status(session, upload: q.uploadID))
        },
        .session(.uploadFinish, .small, Chatd_V1_UploadRef.self) { router, q, session, _ in
            var r = Chatd_V1_FileResponse()
            r.file = ProtoMap.fileInfo(try await router.files.finish(session, upload: q.uploadID))
            return r
        },
        .session(.uploadCancel, .small, Chatd_V1_UploadRef.self) { router, q, session, _ in
            try await router.files.cancel(session, upload: q.uploadID)
            return Chatd_V1_Empty()
        },
        .session(.download, .page, Chatd_V1_DownloadRequest.self) { router, q, session, _ in
            guard q.offset <= UInt64(Int64.max) else { throw ChatFailure.invalid("offset", "offset is out of range") }
            let (file, data) = try await router.files.download(
                session, file: q.fileID, offset: Int64(q.offset), length: Int(q.length))
            var r = Chatd_V1_DownloadResponse()
            r.file = ProtoMap.fileInfo(file)
            r.offset = q.offset
            r.data = Data(data)
            r.eof = Int64(q.offset) + Int64(data.count) == file.size
            return r
        },
        .session(.getFile, .small, Chatd_V1_FileRef.self) { router, q, session, _ in
            var r = Chatd_V1_FileResponse()
            r.file = ProtoMap.fileInfo(try await router.files.info(session, file: q.fileID))
            return r
        },
        .session(.searchMessages, .page, Chatd_V1_SearchMessagesRequest.self) { router, q, session, _ in
            let order: SearchOrder
            switch q.order {
            case .newest: order = .newest
            case .rank: order = .rank
            case .UNRECOGNIZED: throw ChatFailure.invalid("order", "unknown order")
            }
            let (hits, next) = try await router.conversations.search(
                session, query: q.query, conversation: ProtoMap.id(q.conversationID), order: order, cursor: q.cursor,
                limit: Int(q.limit))
            var r = Chatd_V1_SearchMessagesResponse()
            r.hits = hits.map(ProtoMap.searchHit)
            r.nextCursor = next?.text ?? ""
            return r
        },
    ]
}

extension ProtoMap {
    static func ranges(_ ranges: ByteRanges) -> [Chatd_V1_ByteRange] {
        ranges.ranges.map {
            var r = Chatd_V1_ByteRange()
            r.offset = UInt64($0.start)
            r.length = UInt64($0.length)
            return r
        }
    }

    static func uploadStatus(_ u: Upload) -> Chatd_V1_UploadStatusResponse {
        var r = Chatd_V1_UploadStatusResponse()
        r.uploadID = u.id
        r.size = UInt64(u.size)
        r.received = ranges(u.received)
        r.receivedBytes = UInt64(u.received.count)
        r.complete = u.complete
        r.expiresAtMs = u.expiresAt
        return r
    }

    static func fileInfo(_ f: StoredFile) -> Chatd_V1_FileInfo {
        var r = Chatd_V1_FileInfo()
        r.fileID = f.id
        r.name = f.name
        r.size = UInt64(f.size)
        r.mimeType = f.mimeType
        r.blake2B = Data(f.hash)
        r.ownerID = UInt64(f.ownerID ?? 0)
        r.createdAtMs = f.createdAt
        return r
    }

    static func searchHit(_ h: SearchHit) -> Chatd_V1_SearchHit {
        var r = Chatd_V1_SearchHit()
        r.conversationID = UInt64(h.conversationID)
        r.seq = UInt64(h.seq)
        r.senderID = UInt64(h.senderID)
        r.createdAtMs = h.createdAt
        r.messageType = h.messageType.map(messageType) ?? .unspecified
        r.snippet = h.snippet
        return r
    }
}
