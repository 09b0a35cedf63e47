import ChatCore
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
        /// The database's clock when this was read.
        public var nowMs: Millis
    }

    /// What a heartbeat reports of this node.
    public struct NodeLoad: Sendable {
        public var listen: String
        public var version: String
        public var connections: Int
        public var authenticated: Int

        public init(listen: String, version: String, connections: Int, authenticated: Int) {
            self.listen = listen
            self.version = version
            self.connections = connections
            self.authenticated = authenticated
        }
    }

    /// This node's name: in its signals and heartbeats, fresh at each start.
    public var nodeName: String { node }

    static let nowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

    /// Writes this node's heartbeat and returns every node heard from within
    /// `liveWithinMs` (this one included), removing the rows of nodes silent
    /// for ten times that (a node that is gone for good).
    public func heartbeat(_ load: NodeLoad, liveWithinMs: Int64) async throws -> [NodeRecord] {
        try await write { s in
            try s.execute(
                """
                INSERT INTO cluster_nodes (node, started_at, heartbeat_at, listen, version, connections, authenticated)
                VALUES (?, \(Self.nowMs), \(Self.nowMs), ?, ?, ?, ?)
                ON CONFLICT (node) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, listen = excluded.listen,
                  version = excluded.version, connections = excluded.connections, authenticated = excluded.authenticated
                """, [self.node, load.listen, load.version, load.connections, load.authenticated])
            try s.execute("DELETE FROM cluster_nodes WHERE heartbeat_at < \(Self.nowMs) - ?", [liveWithinMs * 10])
            return try s.rows(
                """
                SELECT node, started_at, heartbeat_at, listen, version, connections, authenticated, \(Self.nowMs)
                FROM cluster_nodes WHERE heartbeat_at >= \(Self.nowMs) - ? ORDER BY started_at, node
                """, [liveWithinMs]
            ).map { row in
                NodeRecord(
                    node: row[0].text, startedAtMs: row[1].int, heartbeatAtMs: row[2].int, listen: row[3].text,
                    version: row[4].text, connections: row[5].int, authenticated: row[6].int, nowMs: row[7].int)
            }
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
