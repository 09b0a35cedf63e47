import ArgumentParser
import ChatProtocol

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "List and kick live client connections.", subcommands: [List.self, Kick.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open client connections: user, device, address, since; with several nodes, every node's.",
            discussion: """
                With several nodes on one PostgreSQL database, the other nodes' logged-in connections are listed too, \
                as of their last heartbeat (at most 2 s old), with the node each is on.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this user's connections.") var user: String?
        @Flag(help: "Leave out connections that have not logged in.") var authenticated = false
        @Option(help: "Connections after this connection id.") var after: UInt64 = 0
        @Option(name: .customLong("after-node"), help: "With --after: the node of that connection (several nodes).")
        var afterNode = ""
        @Option(help: "At most this many (max 10000).") var limit: UInt32 = 1000

        func run() async throws {
            var q = Chatd_Control_V1_SessionListRequest()
            if let user { q.user = userRef(user) }
            q.onlyAuthenticated = authenticated
            q.afterConnectionID = after
            q.afterNode = afterNode
            q.limit = limit
            let r = try await global.call(.sessionList, q, as: Chatd_Control_V1_SessionListResponse.self)
            global.output(r) {
                // The node column only when there are several nodes.
                let nodes = r.sessions.contains { !$0.node.isEmpty }
                let more = r.sessions.last.map { last in
                    "(more: --after \(last.connectionID)" + (last.node.isEmpty ? "" : " --after-node \(last.node)") + ")\n"
                }
                return table(
                    (nodes ? ["NODE"] : []) + ["CONN", "USER", "DEVICE", "ADDRESS", "CONNECTED", "LOGGED IN"],
                    r.sessions.map {
                        (nodes ? [$0.node] : []) + [
                            String($0.connectionID), $0.authenticated ? $0.username : "-",
                            $0.authenticated ? $0.deviceID : "-", $0.address, time($0.connectedAtMs),
                            time($0.authenticatedAtMs),
                        ]
                    }) + (r.hasMore_p ? more ?? "" : "")
            }
        }
    }

    struct Kick: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close connections with Goodbye KICKED: by connection id, or all of a user's or a device's.",
            discussion: "The client may reconnect with its token; revoke the device or disable the user to keep it out.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The connection id (see sessions list).") var connection: UInt64?
        @Option(help: "With --connection: the node it is on (several nodes; see sessions list).") var node: String?
        @Option(help: "Every connection of this user.") var user: String?
        @Option(help: "With --user: only this device's connections.") var device: String?

        func validate() throws {
            guard (connection != nil) != (user != nil) else {
                throw ValidationError("give --connection ID or --user USER")
            }
            if device != nil && user == nil { throw ValidationError("--device needs --user") }
            if node != nil && connection == nil { throw ValidationError("--node needs --connection") }
        }

        func run() async throws {
            var q = Chatd_Control_V1_SessionKickRequest()
            if let connection { q.connectionID = connection }
            if let node { q.node = node }
            if let user { q.user = userRef(user) }
            if let device { q.deviceID = device }
            let r = try await global.call(.sessionKick, q, as: Chatd_Control_V1_SessionKickResponse.self)
            global.output(r) { "\(r.closedConnections) connections closed\n" }
        }
    }
}
