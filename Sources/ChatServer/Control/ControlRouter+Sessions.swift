import ChatCore
import ChatProtocol

/// chatctl sessions: list and kick live connections (ops 15, 16).
extension ControlRouter {
    /// A deleted account stays deleted: it cannot be enabled or given a password.
    func requireLive(_ account: UserAccount) throws(ChatFailure) {
        if AccountService.isTombstone(account) { throw ChatFailure(.conflict, "this account was deleted") }
    }

    /// Node names as the control protocol carries them (a node's are 13 characters at most).
    static let maxNodeNameBytes = 64

    func sessionList(_ q: Chatd_Control_V1_SessionListRequest) async throws -> Chatd_Control_V1_SessionListResponse {
        let user: UserAccount? = q.hasUser ? try await resolve(q.user) : nil
        let limit = Validate.pageLimit(Int(q.limit), default: 1000, max: 10_000)
        guard q.afterNode.utf8.count <= Self.maxNodeNameBytes else {
            throw ChatFailure.tooLong("after_node", max: Self.maxNodeNameBytes)
        }
        let me = hooks.cluster().node
        let after = (node: q.afterNode, connectionID: q.afterConnectionID)
        // Ascending by (node, connection id): this node's as they are, the
        // other nodes' as their last heartbeats wrote them.
        let mine = registry.sessions().lazy.filter {
            (me, $0.connectionID) > (after.node, after.connectionID) && (!q.onlyAuthenticated || $0.user != nil)
                && (user == nil || $0.user == user?.user.id)
        }.prefix(limit + 1).map { NodeSession(node: me, session: $0) }
        let others = try await hooks.otherNodesSessions(user?.user.id, after, limit + 1)
        let matching = (Array(mine) + others).sorted { ($0.node, $0.session.connectionID) < ($1.node, $1.session.connectionID) }
        var r = Chatd_Control_V1_SessionListResponse()
        var usernames: [UserID: String] = [:]
        var deviceIDs: [DeviceRowID: String] = [:]
        for entry in matching.prefix(limit) {
            let session = entry.session
            var s = Chatd_Control_V1_AdminSession()
            s.node = entry.node
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
        /// Another node whose connection this is.
        var elsewhere: String?
        guard q.node.utf8.count <= Self.maxNodeNameBytes else { throw ChatFailure.tooLong("node", max: Self.maxNodeNameBytes) }
        if q.connectionID != 0 {
            guard !q.hasUser, q.deviceID.isEmpty else {
                throw ChatFailure.invalid("connection_id", "give connection_id, or user (and device_id), not both")
            }
            selector = .connection(q.connectionID)
            if q.node.isEmpty || q.node == hooks.cluster().node {
                guard let session = registry.sessions().first(where: { $0.connectionID == q.connectionID }) else {
                    throw ChatFailure(.notFound, "no open connection \(q.connectionID)")
                }
                subject = session.user
            } else {
                guard
                    let remote = try await hooks.otherNodesSessions(nil, (q.node, q.connectionID - 1), 1).first,
                    remote.node == q.node, remote.session.connectionID == q.connectionID
                else { throw ChatFailure(.notFound, "no open connection \(q.connectionID) on node \(q.node)") }
                subject = remote.session.user
                elsewhere = q.node
            }
        } else if !q.node.isEmpty {
            throw ChatFailure.invalid("node", "node picks a connection: give connection_id with it")
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
        let closed: Int
        if let elsewhere {
            // That node closes it when the signal reaches it.
            hub.link.send(.kick(selector, node: elsewhere))
            closed = 1
        } else {
            closed = registry.kick(selector, reason: .kicked)
            // A user's or device's connections on the other nodes too (a
            // connection id is this node's own).
            if case .connection = selector {} else { hub.link.send(.kick(selector, node: nil)) }
        }
        try await admin.audit(
            AuditEntry(
                at: clock.nowMs(), action: .adminSessionKick, actor: actor, userID: subject, address: "",
                detail: "\(selector)\(elsewhere.map { " node=\($0)" } ?? "") closed=\(closed)"))
        var r = Chatd_Control_V1_SessionKickResponse()
        r.closedConnections = UInt32(clamping: closed)
        return r
    }
}
