import ArgumentParser
import ChatClient
import ChatProtocol
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A registered, connected, authenticated bench user.
struct BenchUser: Sendable {
    let connection: BenchConnection
    let id: UInt64
    let username: String
    let token: Data
}

struct Target: Sendable {
    /// The first server (--server's first address).
    var host: String { servers[0].host }
    var port: Int { servers[0].port }
    /// Every server given: several chatd nodes on one database, which
    /// connections take in turn (users made by `makeUsers`: user i on
    /// server i mod n, so a pair or a room spans the nodes).
    let servers: [(host: String, port: Int)]
    let group: MultiThreadedEventLoopGroup
    /// Set when the server is chatd's TLS listener.
    let tls: ChatTLS?
    private let turn = Turn()

    final class Turn: Sendable {
        private let next = Atomic<Int>(0)
        func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
    }

    init(host: String, port: Int, group: MultiThreadedEventLoopGroup, tls: ChatTLS? = nil) {
        self.init(servers: [(host, port)], group: group, tls: tls)
    }

    init(servers: [(host: String, port: Int)], group: MultiThreadedEventLoopGroup, tls: ChatTLS? = nil) {
        precondition(!servers.isEmpty)
        self.servers = servers
        self.group = group
        self.tls = tls
    }

    /// From a --server option (host:port, or several separated by commas),
    /// with its own event loop threads.
    init(server: String, threads: Int, tls: ChatTLS? = nil) throws {
        let servers = try server.split(separator: ",").map { item -> (host: String, port: Int) in
            guard let colon = item.lastIndex(of: ":"), let port = Int(item[item.index(after: colon)...]) else {
                throw ValidationError("--server must be host:port, or several separated by commas")
            }
            return (String(item[..<colon]), port)
        }
        guard !servers.isEmpty else { throw ValidationError("--server must be host:port, or several separated by commas") }
        self.init(servers: servers, group: MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads)), tls: tls)
    }

    /// The server of connection number `index` (nil: the next in turn).
    func server(_ index: Int?) -> (host: String, port: Int) {
        servers[(index ?? turn.take()) % servers.count]
    }

    /// A ChatClient connection (setup steps, file and torture scenarios).
    func client(requestTimeout: TimeAmount = .seconds(30), on index: Int? = nil) async throws -> ChatConnection {
        let (host, port) = server(index)
        return try await ChatConnection.connect(host: host, port: port, tls: tls, group: group, requestTimeout: requestTimeout)
    }

    /// A connection that has said Hello. `receiveBuffer`: SO_RCVBUF for a
    /// peer meant to read slowly or not at all. `index`: the server, as in
    /// `server(_:)`.
    func connect(source: String? = nil, receiveBuffer: Int? = nil, on index: Int? = nil) async throws -> BenchConnection {
        let (host, port) = server(index)
        let c = try await BenchConnection.connect(
            host: host, port: port, source: source, receiveBuffer: receiveBuffer, tls: tls, group: group
        ).get()
        var hello = Chatd_V1_HelloRequest()
        hello.protocolVersion = chatProtocolVersion
        hello.clientName = "chatbench"
        _ = try await c.call(.hello, hello)
        return c
    }

    /// Registers `count` users (in parallel), each left connected and authenticated.
    func makeUsers(_ count: Int, prefix: String, password: String = "bench-password") async throws -> [BenchUser] {
        try await withThrowingTaskGroup(of: (Int, BenchUser).self) { group in
            var users: [BenchUser?] = Array(repeating: nil, count: count)
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask {
                    let c = try await connect(on: i)
                    var r = Chatd_V1_RegisterRequest()
                    r.username = "\(prefix)\(i)"
                    r.password = password
                    r.device.deviceID = "bench"
                    // Registration hashes a password: when the server's hashing
                    // queue is full it answers rate_limited; wait and retry, for
                    // up to a minute (a count of tries ran out on a slow machine
                    // with 64 MiB hashes: 16 registrations race for each slot).
                    let deadline = ContinuousClock.now + .seconds(60)
                    while true {
                        do {
                            let auth = try Chatd_V1_AuthResponse(payload: try await c.call(.register, r).payload)
                            return (i, BenchUser(connection: c, id: auth.user.id, username: r.username, token: auth.token))
                        } catch let error as BenchError where error.code == 19 && ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(20 + Int.random(in: 0..<50)))
                        }
                    }
                }
            }
            for _ in 0..<min(16, count) { add() }
            while let (i, user) = try await group.next() {
                users[i] = user
                if next < count { add() }
            }
            return users.compactMap { $0 }
        }
    }
}

/// A short random prefix so repeated runs against one server do not collide.
func runPrefix() -> String {
    let letters = Array("abcdefghijklmnopqrstuvwxyz")
    return "b" + String((0..<5).map { _ in letters[Int.random(in: 0..<letters.count)] }) + "-"
}
