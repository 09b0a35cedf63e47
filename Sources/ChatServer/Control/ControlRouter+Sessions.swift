import ChatCore
import ChatProtocol

/// chatctl sessions: list and kick live connections (ops 15, 16).
extension ControlRouter {
    /// A deleted account stays deleted: it cannot be enabled or given a password.
    func requireLive(_ account: UserAccount) throws(ChatFailure) {
        if AccountService.isTombstone(account) { throw ChatFailure(.conflict, "this account was deleted") }
    }

    func sessionList(_ q: Chatd_Control_V1_SessionListRequest) async throws -> Chatd_Control_V1_SessionListResponse {
        let user: UserAccount? = q.hasUser ? try await resolve(q.user) : nil
        let limit = Validate.pageLimit(Int(q.limit), default: 1000, max: 10_000)
        let matching = registry.sessions().filter {
            $0.connectionID > q.afterConnectionID && (!q.onlyAuthenticated || $0.user != nil)
                && (user == nil || $0.user == user?.user.id)
        }
        var r = Chatd_Control_V1_SessionListResponse()
        var usernames: [UserID: String] = [:]
        var deviceIDs: [DeviceRowID: String] = [:]
        for session in matching.prefix(limit) {
            var s = Chatd_Control_V1_AdminSession()
            s.connectionID = session.connectionID
            s.address = session.address
            s.connectedAtMs = session.connectedAt
            if let id = session.user {
                if usernames[id] == nil {
                    usernames[id] = try await admin.account(id: id)?.user.username ?? "?"
                    for device in try await admin.devices(user: id, includeRevoked: true, limit: 10_000) {
                        deviceIDs[device.rowID] = device.deviceID
                    }
                }
                s.authenticated = true
                s.userID = UInt64(id)
                s.username = usernames[id] ?? "?"
                s.deviceID = session.device.flatMap { deviceIDs[$0] } ?? ""
                s.authenticatedAtMs = session.authenticatedAt ?? 0
            }
            r.sessions.append(s)
        }
        r.hasMore_p = matching.count > limit
        return r
    }

    func sessionKick(_ q: Chatd_Control_V1_SessionKickRequest, actor: String) async throws -> Chatd_Control_V1_SessionKickResponse {
        let selector: SessionSelector
        var subject: UserID?
        if q.connectionID != 0 {
            guard !q.hasUser, q.deviceID.isEmpty else {
                throw ChatFailure.invalid("connection_id", "give connection_id, or user (and device_id), not both")
            }
            selector = .connection(q.connectionID)
            guard let session = registry.sessions().first(where: { $0.connectionID == q.connectionID }) else {
                throw ChatFailure(.notFound, "no open connection \(q.connectionID)")
            }
            subject = session.user
        } else if q.hasUser {
            let account = try await resolve(q.user)
            subject = account.user.id
            if q.deviceID.isEmpty {
                selector = .user(account.user.id)
            } else {
                guard q.deviceID.utf8.count <= WireLimits.maxDeviceIDBytes else {
                    throw ChatFailure.tooLong("device_id", max: WireLimits.maxDeviceIDBytes)
                }
                guard let device = try await admin.device(user: account.user.id, deviceID: q.deviceID) else {
                    throw ChatFailure(.notFound, "no such device")
                }
                selector = .device(device.rowID)
            }
        } else {
            guard q.deviceID.isEmpty else { throw ChatFailure.invalid("user", "device_id needs the user it belongs to") }
            throw ChatFailure.invalid("connection_id", "give connection_id or user")
        }
        let closed = registry.kick(selector, reason: .kicked)
        // A user's or device's connections on the other nodes too (a
        // connection id is this node's own).
        if case .connection = selector {} else { hub.link.send(.kick(selector, node: nil)) }
        try await admin.audit(
            AuditEntry(
                at: clock.nowMs(), action: .adminSessionKick, actor: actor, userID: subject, address: "",
                detail: "\(selector) closed=\(closed)"))
        var r = Chatd_Control_V1_SessionKickResponse()
        r.closedConnections = UInt32(clamping: closed)
        return r
    }
}
