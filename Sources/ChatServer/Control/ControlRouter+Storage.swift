import ChatCore
import ChatProtocol

extension ControlRouter {
    /// chatctl file gc.
    func fileGC(_: Chatd_Control_V1_FileGcRequest) async throws -> Chatd_Control_V1_FileGcResponse {
        let report = try await files.collectGarbage()
        var r = Chatd_Control_V1_FileGcResponse()
        r.expiredUploads = UInt32(clamping: report.expiredUploads)
        r.files = UInt32(clamping: report.files)
        r.contents = UInt32(clamping: report.contents)
        r.contentBytes = UInt64(report.contentBytes)
        r.strays = UInt32(clamping: report.strays)
        logger.info("file garbage collected (chatctl)", metadata: ["chatd.files": "\(report.files)"])
        return r
    }

    /// chatctl file stats.
    func fileStats(_ q: Chatd_Control_V1_FileStatsRequest) async throws -> Chatd_Control_V1_FileStatsResponse {
        let top = q.topUsers == 0 ? 10 : Int(q.topUsers)
        guard top <= 1000 else { throw ChatFailure.invalid("top_users", "top_users is at most 1000") }
        let (stats, disk) = try await files.stats(topUsers: top)
        var r = Chatd_Control_V1_FileStatsResponse()
        r.files = UInt64(stats.files)
        r.contents = UInt64(stats.contents)
        r.contentBytes = UInt64(stats.contentBytes)
        r.fileBytes = UInt64(stats.fileBytes)
        r.referencedFiles = UInt64(stats.referencedFiles)
        r.uploads = UInt64(stats.uploads)
        r.uploadBytes = UInt64(stats.uploadBytes)
        r.diskBytes = UInt64(disk)
        r.topUsers = stats.topUsers.map {
            var u = Chatd_Control_V1_FileUsage()
            u.userID = UInt64($0.userID)
            u.username = $0.username
            u.files = UInt32(clamping: $0.files)
            u.bytes = UInt64($0.bytes)
            u.uploads = UInt32(clamping: $0.uploads)
            u.uploadBytes = UInt64($0.uploadBytes)
            return u
        }
        return r
    }

    /// chatctl retention set.
    func retentionSet(_ q: Chatd_Control_V1_RetentionSetRequest, actor: String) async throws -> Chatd_Control_V1_RetentionSetResponse {
        let id: ConversationID
        if q.roomID != 0 {
            id = ProtoMap.id(q.roomID)
        } else if !q.name.isEmpty, let room = try await admin.room(nameKey: Validate.roomNameKey(q.name)) {
            id = room.id
        } else {
            throw q.name.isEmpty ? ChatFailure.invalid("room_id", "give room_id or name") : ChatFailure(.notFound, "no such room")
        }
        let days: Int?
        switch q.mode {
        case .days:
            guard q.days > 0 else { throw ChatFailure.invalid("days", "days must be at least 1 (use FOREVER to keep everything)") }
            days = Int(q.days)
        case .forever: days = 0
        case .serverDefault: days = nil
        case .UNRECOGNIZED: throw ChatFailure.invalid("mode", "unknown mode")
        }
        let room = try await rooms.setRetention(conversation: id, days: days)
        try await audit(
            .adminRetentionSet, actor: actor, detail: "conversation=\(id) days=\(days.map(String.init) ?? "default")")
        var r = Chatd_Control_V1_RetentionSetResponse()
        r.room = ProtoMap.conversation(room)
        r.retentionDays = UInt32(room.retentionDays ?? rooms.limits.defaultRetentionDays)
        r.serverDefault = room.retentionDays == nil
        return r
    }

    /// chatctl retention purge.
    func retentionPurge(_: Chatd_Control_V1_RetentionPurgeRequest) async throws -> Chatd_Control_V1_RetentionPurgeResponse {
        let report = try await rooms.purgeExpired()
        _ = try await accounts.pruneAudit()
        _ = try await accounts.pruneGrants()
        var r = Chatd_Control_V1_RetentionPurgeResponse()
        r.conversations = UInt32(clamping: report.conversations)
        r.events = UInt64(report.events)
        r.messages = UInt64(report.messages)
        r.defaultDays = UInt32(rooms.limits.defaultRetentionDays)
        return r
    }
}
