import ChatCore
import Foundation
import NIOConcurrencyHelpers
import PostgresNIO
import Synchronization

/// Several nodes on one database (DESIGN §9): the nodes' heartbeats and
/// the signals they send each other (typing, read pushes, presence, ended
/// sessions), which are never stored. Signals travel on the channel of the
/// committed changes as "<node>!<line>\n<line>…", a node's in the order it
/// sent them.
extension PostgresStore {
    /// A running node, as its heartbeat row says.
    public struct NodeRecord: Sendable, Equatable {
        public var node: String
        public var startedAtMs: Millis
        public var heartbeatAtMs: Millis
        public var listen: String
        public var version: String
        public var connections: Int64
        public var authenticated: Int64
        public var writeQueueDepth: Int64
        public var writes: Int64
        public var writeBatches: Int64
        /// The database's clock when this was read.
        public var nowMs: Millis
    }

    /// What a heartbeat reports of this node.
    public struct NodeLoad: Sendable {
        public var listen: String
        public var version: String
        public var connections: Int
        public var authenticated: Int
        public var writeQueueDepth: Int
        public var writes: Int
        public var writeBatches: Int
        /// Its logged-in connections (the rows of cluster_sessions).
        public var sessions: [ClusterSession]

        public init(
            listen: String, version: String, connections: Int, authenticated: Int, writeQueueDepth: Int = 0, writes: Int = 0,
            writeBatches: Int = 0, sessions: [ClusterSession] = []
        ) {
            self.listen = listen
            self.version = version
            self.connections = connections
            self.authenticated = authenticated
            self.writeQueueDepth = writeQueueDepth
            self.writes = writes
            self.writeBatches = writeBatches
            self.sessions = sessions
        }
    }

    /// A node's logged-in connection (chatctl sessions list on any node).
    public struct ClusterSession: Sendable, Equatable, Codable {
        public var connectionID: UInt64
        public var userID: UserID
        public var deviceRowID: Int64?
        public var address: String
        public var connectedAtMs: Millis
        public var authenticatedAtMs: Millis

        public init(
            connectionID: UInt64, userID: UserID, deviceRowID: Int64?, address: String, connectedAtMs: Millis,
            authenticatedAtMs: Millis
        ) {
            self.connectionID = connectionID
            self.userID = userID
            self.deviceRowID = deviceRowID
            self.address = address
            self.connectedAtMs = connectedAtMs
            self.authenticatedAtMs = authenticatedAtMs
        }

        enum CodingKeys: String, CodingKey {
            case connectionID = "c", userID = "u", deviceRowID = "d", address = "a", connectedAtMs = "t"
            case authenticatedAtMs = "l"
        }
    }

    /// This node's name: in its signals and heartbeats, fresh at each start.
    public var nodeName: String { node }

    static let nowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    /// Writes this node's heartbeat and returns every node heard from within
    /// `liveWithinMs` (this one included), removing the rows of nodes silent
    /// for ten times that (a node that is gone for good). The node's
    /// sessions are written as what changed since the last heartbeat; all of
    /// them when that is unknown or the node's row was gone.
    public func heartbeat(_ load: NodeLoad, liveWithinMs: Int64) async throws -> [NodeRecord] {
        let written = sessionsWritten.withLockedValue { $0 }
        var current: [UInt64: ClusterSession] = [:]
        for session in load.sessions { current[session.connectionID] = session }
        let now = current
        do {
            let nodes = try await write { s in
                let inserted =
                    try s.row(
                        """
                        INSERT INTO cluster_nodes (node, started_at, heartbeat_at, listen, version, connections, authenticated,
                          write_queue_depth, writes, write_batches)
                        VALUES (?, \(Self.nowMs), \(Self.nowMs), ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (node) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, listen = excluded.listen,
                          version = excluded.version, connections = excluded.connections, authenticated = excluded.authenticated,
                          write_queue_depth = excluded.write_queue_depth, writes = excluded.writes,
                          write_batches = excluded.write_batches
                        RETURNING (xmax = 0)
                        """,
                        [
                            self.node, load.listen, load.version, load.connections, load.authenticated, load.writeQueueDepth,
                            load.writes, load.writeBatches,
                        ])?[0].bool ?? true
                try Self.writeSessions(s, node: self.node, now: now, written: inserted ? nil : written)
                try s.execute("DELETE FROM cluster_nodes WHERE heartbeat_at < \(Self.nowMs) - ?", [liveWithinMs * 10])
                return try Self.liveNodes(s, liveWithinMs: liveWithinMs)
            }
            sessionsWritten.withLockedValue { $0 = now }
            return nodes
        } catch {
            sessionsWritten.withLockedValue { $0 = nil }
            throw error
        }
    }

    /// Every node heard from within `liveWithinMs`, oldest first.
    static func liveNodes(_ s: PGSession, liveWithinMs: Int64) throws -> [NodeRecord] {
        try s.rows(
            """
            SELECT node, started_at, heartbeat_at, listen, version, connections, authenticated, write_queue_depth,
              writes, write_batches, \(Self.nowMs)
            FROM cluster_nodes WHERE heartbeat_at >= \(Self.nowMs) - ? ORDER BY started_at, node
            """, [liveWithinMs]
        ).map { row in
            NodeRecord(
                node: row[0].text, startedAtMs: row[1].int, heartbeatAtMs: row[2].int, listen: row[3].text,
                version: row[4].text, connections: row[5].int, authenticated: row[6].int,
                writeQueueDepth: row[7].int, writes: row[8].int, writeBatches: row[9].int, nowMs: row[10].int)
        }
    }

    /// Rows per statement when sessions are written (one JSON parameter).
    static let sessionsPerStatement = 2_000

    /// Makes `node`'s rows of cluster_sessions `now`: only the difference
    /// from `written`, or (nil) all of them.
    static func writeSessions(_ s: PGSession, node: String, now: [UInt64: ClusterSession], written: [UInt64: ClusterSession]?)
        throws
    {
        var gone: [UInt64] = []
        var changed: [ClusterSession] = []
        if let written {
            gone = written.keys.filter { now[$0] == nil }
            changed = now.values.filter { written[$0.connectionID] != $0 }
        } else {
            try s.execute("DELETE FROM cluster_sessions WHERE node = ?", [node])
            changed = Array(now.values)
        }
        for start in stride(from: 0, to: gone.count, by: sessionsPerStatement) {
            let ids = gone[start..<min(gone.count, start + sessionsPerStatement)].map(String.init).joined(separator: ",")
            try s.execute(
                "DELETE FROM cluster_sessions WHERE node = ? AND connection_id = ANY(string_to_array(?, ',')::bigint[])",
                [node, ids])
        }
        let encoder = JSONEncoder()
        for start in stride(from: 0, to: changed.count, by: sessionsPerStatement) {
            let rows = Array(changed[start..<min(changed.count, start + sessionsPerStatement)])
            let json = String(decoding: try encoder.encode(rows), as: UTF8.self)
            try s.execute(
                """
                INSERT INTO cluster_sessions (node, connection_id, user_id, device_id, address, connected_at, authenticated_at)
                SELECT ?, x.c, x.u, x.d, x.a, x.t, x.l
                FROM jsonb_to_recordset(?::jsonb) AS x(c bigint, u bigint, d bigint, a text, t bigint, l bigint)
                ON CONFLICT (node, connection_id) DO UPDATE SET user_id = excluded.user_id, device_id = excluded.device_id,
                  address = excluded.address, connected_at = excluded.connected_at, authenticated_at = excluded.authenticated_at
                """, [node, json])
        }
    }

    /// The other live nodes' logged-in connections, ascending by (node,
    /// connection id) after `after`; `user`: only theirs. As of each node's
    /// last heartbeat.
    public func otherNodesSessions(
        user: UserID?, after: (node: String, connectionID: UInt64), limit: Int, liveWithinMs: Int64
    ) async throws -> [(node: String, session: ClusterSession)] {
        try await read { s in
            var args: [any PGBindable] = [self.node, liveWithinMs, after.node, after.node, Int64(clamping: after.connectionID)]
            if let user { args.append(user) }
            args.append(limit)
            return try s.rows(
                """
                SELECT s.node, s.connection_id, s.user_id, s.device_id, s.address, s.connected_at, s.authenticated_at
                FROM cluster_sessions s JOIN cluster_nodes n ON n.node = s.node
                WHERE s.node <> ? AND n.heartbeat_at >= \(Self.nowMs) - ?
                  AND (s.node > ? OR (s.node = ? AND s.connection_id > ?))
                  \(user == nil ? "" : "AND s.user_id = ?")
                ORDER BY s.node, s.connection_id LIMIT ?
                """, args
            ).map { row in
                (
                    row[0].text,
                    ClusterSession(
                        connectionID: UInt64(clamping: row[1].int), userID: row[2].int, deviceRowID: row[3].intOrNil,
                        address: row[4].text, connectedAtMs: row[5].int, authenticatedAtMs: row[6].int)
                )
            }
        }
    }

    /// The live nodes and the users logged in on the others, as their last
    /// heartbeats wrote them (one read, so the two agree).
    public func clusterLoad(liveWithinMs: Int64) async throws -> (nodes: [NodeRecord], otherNodesUsers: Set<UserID>) {
        try await read { s in
            let nodes = try Self.liveNodes(s, liveWithinMs: liveWithinMs)
            let users = try s.rows(
                """
                SELECT DISTINCT s.user_id FROM cluster_sessions s JOIN cluster_nodes n ON n.node = s.node
                WHERE s.node <> ? AND n.heartbeat_at >= \(Self.nowMs) - ?
                """, [self.node, liveWithinMs]
            ).map { $0[0].int }
            return (nodes, Set(users))
        }
    }

    /// Removes this node's heartbeat (clean shutdown: the others need not wait to see it gone).
    public func leaveCluster() async {
        _ = try? await write { s in try s.execute("DELETE FROM cluster_nodes WHERE node = ?", [self.node]) }
    }

    /// Records the token key's fingerprint on first use; false when the
    /// database already holds another one (this node's key differs from the
    /// other nodes': its tokens would not resume anywhere else).
    public func claimTokenKey(fingerprint: String) async throws -> Bool {
        try await write { s in
            try s.execute(
                "INSERT INTO cluster_settings (key, value) VALUES ('token_key_fingerprint', ?) ON CONFLICT (key) DO NOTHING",
                [fingerprint])
            return try s.rows("SELECT value FROM cluster_settings WHERE key = 'token_key_fingerprint'").first?[0].text
                == fingerprint
        }
    }

    /// Of these devices (this node's sessions), those whose sessions must
    /// end, and why: revoked, their user disabled or deleted, or their
    /// token ended (password changed, logged out). Another node's signal
    /// ends such sessions at once; this finds the ones whose signal was
    /// lost while this node was not listening.
    public func endedDevices(_ devices: some Collection<DeviceRowID>) async throws -> [(DeviceRowID, SessionEndReason)] {
        let ids = Array(Set(devices)).sorted()
        guard !ids.isEmpty else { return [] }
        return try await read { s in
            var ended: [(DeviceRowID, SessionEndReason)] = []
            for start in stride(from: 0, to: ids.count, by: Self.devicesPerStatement) {
                let list = ids[start..<min(ids.count, start + Self.devicesPerStatement)].map(String.init)
                for row in try s.rows(
                    """
                    SELECT x.id, d.id IS NULL, d.revoked_at IS NOT NULL, coalesce(u.disabled, true), d.token_hash IS NULL
                    FROM unnest(string_to_array(?, ',')::bigint[]) AS x(id)
                    LEFT JOIN devices d ON d.id = x.id LEFT JOIN users u ON u.id = d.user_id
                    """, [list.joined(separator: ",")])
                {
                    let (device, deleted, revoked, disabled, tokenEnded) =
                        (row[0].int, row[1].bool, row[2].bool, row[3].bool, row[4].bool)
                    if revoked {
                        ended.append((device, .deviceRevoked))
                    } else if deleted || disabled {
                        ended.append((device, .accountDisabled))
                    } else if tokenEnded {
                        ended.append((device, .tokenEnded))
                    }
                }
            }
            return ended
        }
    }

    static let devicesPerStatement = 10_000

    // MARK: Signals

    /// Sends `line` to the other nodes, after every line sent before it.
    /// Lines queued while one NOTIFY is under way go together in the next.
    /// Past `maxQueuedSignals` waiting, new lines are dropped (and counted):
    /// a signal is a courtesy (typing, presence), never data.
    public func signal(_ line: String) {
        let start = signals.withLockedValue { q -> Bool in
            guard q.lines.count < Self.maxQueuedSignals else {
                q.dropped += 1
                return false
            }
            q.lines.append(line)
            guard !q.sending else { return false }
            q.sending = true
            return true
        }
        if start { Task { await self.sendSignals() } }
    }

    static let maxQueuedSignals = 100_000

    /// Signals dropped because the queue was full, since start.
    public var droppedSignals: Int { signals.withLockedValue { $0.dropped } }

    private func sendSignals() async {
        while true {
            let lines = signals.withLockedValue { q -> [String] in
                let lines = q.lines
                q.lines = []
                if lines.isEmpty { q.sending = false }
                return lines
            }
            if lines.isEmpty { return }
            for payload in Self.signalPayloads(lines, node: node) {
                // Not once the store closes (close waits for what is under way).
                guard !closing.load(ordering: .acquiring) else { return }
                operations.add(1, ordering: .acquiringAndReleasing)
                defer { operations.subtract(1, ordering: .acquiringAndReleasing) }
                do {
                    _ = try await client.query("SELECT pg_notify(\(Self.channel), \(payload))", logger: logger)
                } catch {
                    logger.warning("could not signal the other nodes", metadata: ["chatd.error": "\(Self.translate(error))"])
                }
            }
        }
    }

    /// "<node>!" and as many lines as fit one NOTIFY payload, in order.
    static func signalPayloads(_ lines: [String], node: String) -> [String] {
        var payloads: [String] = []
        var current = ""
        for line in lines where node.utf8.count + 1 + line.utf8.count <= maxPayloadBytes {
            if !current.isEmpty, node.utf8.count + 1 + current.utf8.count + 1 + line.utf8.count > maxPayloadBytes {
                payloads.append(node + "!" + current)
                current = ""
            }
            current += current.isEmpty ? line : "\n" + line
        }
        if !current.isEmpty { payloads.append(node + "!" + current) }
        return payloads
    }

    /// The (node, lines) of a signal payload; nil for an announcement of commits.
    static func signalLines(_ payload: String) -> (node: Substring, lines: [Substring])? {
        guard let bang = payload.firstIndex(of: "!"), !payload[..<bang].contains(";") else { return nil }
        return (payload[..<bang], payload[payload.index(after: bang)...].split(separator: "\n"))
    }

    /// Sets the function that receives other nodes' signals (node, line), in each node's order.
    public func setSignalObserver(_ body: @escaping @Sendable (Substring, Substring) -> Void) {
        signalObserver.withLockedValue { $0 = SignalObserver(body) }
    }

    /// Sets the function told that the listening connection is (again) up:
    /// whatever was signalled while it was down is lost, so views built
    /// from signals (presence) are rebuilt.
    public func setListeningObserver(_ body: @escaping @Sendable () -> Void) {
        listeningObserver.withLockedValue { $0 = ListeningObserver(body) }
    }

    final class SignalObserver: Sendable {
        let body: @Sendable (Substring, Substring) -> Void
        init(_ body: @escaping @Sendable (Substring, Substring) -> Void) { self.body = body }
    }

    final class ListeningObserver: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    struct SignalQueue {
        var lines: [String] = []
        var sending = false
        var dropped = 0
    }
}
