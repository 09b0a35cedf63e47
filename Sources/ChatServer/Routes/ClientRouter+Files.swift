import ChatCore
import ChatProtocol
import Foundation
import NIOCore
import SwiftProtobuf

/// Files and search ops (spec/PROTOCOL.md §13).
extension ClientRouter {
    func filesAndSearch(_ op: Op, _ payload: ByteBuffer, _ session: Session) async throws -> any SwiftProtobuf.Message {
        switch op {
        case .uploadBegin:
            let q = try Chatd_V1_UploadBeginRequest(payload: payload)
            let (upload, resumed) = try await files.begin(
                session, size: Int64(clamping: q.size), name: q.name, mimeType: q.mimeType, hash: Array(q.blake2B))
            var r = Chatd_V1_UploadBeginResponse()
            r.uploadID = upload.id
            r.maxChunkBytes = UInt32(clamping: files.limits.maxChunkBytes)
            r.expiresAtMs = upload.expiresAt
            r.resumed = resumed
            r.received = ProtoMap.ranges(upload.received)
            r.receivedBytes = UInt64(upload.received.count)
            return r
        case .uploadChunk:
            let q = try Chatd_V1_UploadChunkRequest(payload: payload)
            guard q.offset <= UInt64(Int64.max) else { throw ChatFailure.invalid("offset", "offset is out of range") }
            return ProtoMap.uploadStatus(
                try await files.chunk(session, upload: q.uploadID, offset: Int64(q.offset), data: Array(q.data)))
        case .uploadStatus:
            let q = try Chatd_V1_UploadRef(payload: payload)
            return ProtoMap.uploadStatus(try await files.status(session, upload: q.uploadID))
        case .uploadFinish:
            let q = try Chatd_V1_UploadRef(payload: payload)
            var r = Chatd_V1_FileResponse()
            r.file = ProtoMap.fileInfo(try await files.finish(session, upload: q.uploadID))
            return r
        case .uploadCancel:
            let q = try Chatd_V1_UploadRef(payload: payload)
            try await files.cancel(session, upload: q.uploadID)
            return Chatd_V1_Empty()
        case .download:
            let q = try Chatd_V1_DownloadRequest(payload: payload)
            guard q.offset <= UInt64(Int64.max) else { throw ChatFailure.invalid("offset", "offset is out of range") }
            let (file, data) = try await files.download(
                session, file: q.fileID, offset: Int64(q.offset), length: Int(q.length))
            var r = Chatd_V1_DownloadResponse()
            r.file = ProtoMap.fileInfo(file)
            r.offset = q.offset
            r.data = Data(data)
            r.eof = Int64(q.offset) + Int64(data.count) == file.size
            return r
        case .getFile:
            let q = try Chatd_V1_FileRef(payload: payload)
            var r = Chatd_V1_FileResponse()
            r.file = ProtoMap.fileInfo(try await files.info(session, file: q.fileID))
            return r
        case .searchMessages:
            let q = try Chatd_V1_SearchMessagesRequest(payload: payload)
            let order: SearchOrder
            switch q.order {
            case .newest: order = .newest
            case .rank: order = .rank
            case .UNRECOGNIZED: throw ChatFailure.invalid("order", "unknown order")
            }
            let (hits, next) = try await conversations.search(
                session, query: q.query, conversation: ProtoMap.id(q.conversationID), order: order, cursor: q.cursor,
                limit: Int(q.limit))
            var r = Chatd_V1_SearchMessagesResponse()
            r.hits = hits.map(ProtoMap.searchHit)
            r.nextCursor = next?.text ?? ""
            return r
        default:
            throw ChatFailure(.wrongState, "op not routed here")
        }
    }
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
