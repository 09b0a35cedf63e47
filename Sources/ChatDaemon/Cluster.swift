import ChatBuildInfo
import ChatCore
import ChatCrypto
import ChatPostgres
import ChatProtocol
import ChatServer
import Logging
import ServiceLifecycle
import Synchronization

/// Several chatd nodes on one PostgreSQL database (DESIGN §9): committed
/// changes reach every node through the store (`listenForOtherNodes`);
/// what is never stored (typing, read pushes, presence, ended sessions)
/// goes as signals on the same channel; heartbeats say which nodes live.
enum Cluster {
    /// Heartbeat period; a node silent for `liveWithin` is taken for dead
    /// and its users offline (unless connected elsewhere).
    static let heartbeatInterval: Duration = .seconds(2)
    static let liveWithinMs: Int64 = 10_000

    /// Wires the fan-out to the other nodes; returns the link the services send through.
    static func join(
        store: PostgresStore, hub: FanoutHub, registry: SessionRegistry, presence: PresenceHub, link: any ClusterLink,
        clock: any WallClock, logger: Logger
    ) {
        let me = store.nodeName
        store.setSignalObserver { node, line in
            guard let signal = ClusterSignal(line) else { return }
            hub.received(signal, from: String(node), me: me)
        }
        // Listening (again): what others signalled meanwhile is lost, so ask
        // them who is connected to them, and end the sessions they ended.
        store.setListeningObserver {
            presence.forgetRemote()
            link.send(.hello)
            Task { await endSessionsEndedElsewhere(store: store, registry: registry, clock: clock, logger: logger) }
        }
    }

    /// Ends this node's sessions whose device was revoked, whose user was
    /// disabled or deleted, or whose token ended while this node was not
    /// listening: the other node's signal that would have ended them is
    /// lost. (A revocation also reaches this node as a committed event.)
    static func endSessionsEndedElsewhere(
        store: PostgresStore, registry: SessionRegistry, clock: any WallClock, logger: Logger
    ) async {
        let cutoff = clock.nowMs()
        let devices = registry.sessions().compactMap(\.device)
        do {
            let ended = try await store.endedDevices(devices)
            guard !ended.isEmpty else { return }
            let closed = registry.endSessions(Dictionary(ended, uniquingKeysWith: { a, _ in a }), authenticatedBy: cutoff)
            logger.notice(
                "ended sessions that other nodes ended while this node was not listening",
                metadata: ["chatd.devices": "\(ended.count)", "chatd.connections": "\(closed)"])
        } catch {
            logger.warning(
                "could not check this node's sessions after listening again", metadata: ["chatd.error": "\(error)"])
        }
    }

    /// This node's logged-in connections, for the cluster's session table.
    static func sessions(_ registry: SessionRegistry) -> [PostgresStore.ClusterSession] {
        registry.sessions().compactMap { s in
            guard let user = s.user else { return nil }
            return PostgresStore.ClusterSession(
                connectionID: s.connectionID, userID: user, deviceRowID: s.device, address: s.address,
                connectedAtMs: s.connectedAt, authenticatedAtMs: s.authenticatedAt ?? s.connectedAt)
        }
    }

    /// Another node's session as the control router lists it.
    static func nodeSession(_ n: (node: String, session: PostgresStore.ClusterSession)) -> NodeSession {
        NodeSession(
            node: n.node,
            session: LiveSession(
                connectionID: n.session.connectionID, address: n.session.address, connectedAt: n.session.connectedAtMs,
                user: n.session.userID, device: n.session.deviceRowID, authenticatedAt: n.session.authenticatedAtMs))
    }

    /// The token key's fingerprint (never the key): every node must hold
    /// the same key, or a session made on one node does not resume on another.
    static func checkTokenKey(_ key: [UInt8], store: PostgresStore, dataDir: String) async throws {
        let fingerprint = hex(Sodium.blake2b(Array("chatd token key fingerprint".utf8) + key, outputLength: 16))
        guard try await store.claimTokenKey(fingerprint: fingerprint) else {
            throw DataDirectoryRefused(
                "\(dataDir)/token.key differs from the key of the other nodes on this database: copy token.key from a node that ran on it (every node needs the same key)")
        }
    }
}

/// Carries this node's signals to the others through PostgreSQL.
struct PostgresClusterLink: ClusterLink {
    let store: PostgresStore

    func send(_ signal: ClusterSignal) { store.signal(signal.encoded) }
}

/// The nodes on the database, as the last heartbeat saw them (chatctl status).
final class ClusterMembers: Sendable {
    private let nodes = Mutex<[PostgresStore.NodeRecord]>([])

    var current: [PostgresStore.NodeRecord] { nodes.withLock { $0 } }

    func update(_ records: [PostgresStore.NodeRecord]) { nodes.withLock { $0 = records } }
}

/// Heartbeats this node every `Cluster.heartbeatInterval`, and turns
/// offline the users of nodes that stopped; on shutdown, leaves.
struct ClusterHeartbeatService: Service, CustomStringConvertible {
    let store: PostgresStore
    let registry: SessionRegistry
    let presence: PresenceHub
    let members: ClusterMembers
    let listen: String
    let logger: Logger

    var description: String { "cluster heartbeat" }

    func run() async {
        try? await cancelWhenGracefulShutdown {
            var failing = false
            while true {
                do {
                    let (batches, writes) = store.groupCommitStatistics
                    let load = PostgresStore.NodeLoad(
                        listen: listen, version: BuildInfo.version, connections: registry.connectionCount,
                        authenticated: registry.authenticatedCount, writeQueueDepth: store.writeQueueDepth, writes: writes,
                        writeBatches: batches, sessions: Cluster.sessions(registry))
                    let nodes = try await store.heartbeat(load, liveWithinMs: Cluster.liveWithinMs)
                    members.update(nodes)
                    presence.keepOnly(nodes: Set(nodes.map(\.node)).subtracting([store.nodeName]))
                    if failing { logger.notice("cluster heartbeat written again") }
                    failing = false
                } catch {
                    if !failing { logger.warning("cluster heartbeat failed", metadata: ["chatd.error": "\(error)"]) }
                    failing = true
                }
                try await Task.sleep(for: Cluster.heartbeatInterval)
            }
        }
        await store.leaveCluster()
    }
}

extension Daemon {
    static func clusterNode(_ n: PostgresStore.NodeRecord) -> Chatd_Control_V1_ClusterNode {
        var p = Chatd_Control_V1_ClusterNode()
        p.node = n.node
        p.listen = n.listen
        p.version = n.version
        p.startedAtMs = n.startedAtMs
        p.heartbeatAgeMs = max(0, n.nowMs - n.heartbeatAtMs)
        p.connections = UInt32(clamping: n.connections)
        p.authenticatedConnections = UInt32(clamping: n.authenticated)
        p.writeQueueDepth = UInt32(clamping: n.writeQueueDepth)
        p.writes = UInt64(clamping: n.writes)
        p.writeBatches = UInt64(clamping: n.writeBatches)
        return p
    }
}
