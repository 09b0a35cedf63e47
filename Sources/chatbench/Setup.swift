import ArgumentParser
import ChatClient
import ChatProtocol
import Foundation
import NIOCore
import NIOPosix

/// A registered, connected, authenticated bench user.
struct BenchUser: Sendable {
    let connection: BenchConnection
    let id: UInt64
    let username: String
    let token: Data
}

struct Target: Sendable {
    let host: String
    let port: Int
    let group: MultiThreadedEventLoopGroup
    /// Set when the server is chatd's TLS listener.
    let tls: ChatTLS?

    init(host: String, port: Int, group: MultiThreadedEventLoopGroup, tls: ChatTLS? = nil) {
        self.host = host
        self.port = port
        self.group = group
        self.tls = tls
    }

    /// From a --server host:port option, with its own event loop threads.
    init(server: String, threads: Int, tls: ChatTLS? = nil) throws {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]) else {
            throw ValidationError("--server must be host:port")
        }
        self.init(
            host: String(server[..<colon]), port: port, group: MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads)),
            tls: tls)
    }

    /// A ChatClient connection (setup steps, file and torture scenarios).
    func client(requestTimeout: TimeAmount = .seconds(30)) async throws -> ChatConnection {
        try await ChatConnection.connect(host: host, port: port, tls: tls, group: group, requestTimeout: requestTimeout)
    }

    /// A connection that has said Hello. `receiveBuffer`: SO_RCVBUF for a
    /// peer meant to read slowly or not at all.
    func connect(source: String? = nil, receiveBuffer: Int? = nil) async throws -> BenchConnection {
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
                    let c = try await connect()
                    var r = Chatd_V1_RegisterRequest()
                    r.username = "\(prefix)\(i)"
                    r.password = password
                    r.device.deviceID = "bench"
                    // Registration hashes a password: when the server's hashing
                    // queue is full it answers rate_limited; wait and retry.
                    var attempt = 0
                    while true {
                        do {
                            let auth = try Chatd_V1_AuthResponse(payload: try await c.call(.register, r).payload)
                            return (i, BenchUser(connection: c, id: auth.user.id, username: r.username, token: auth.token))
                        } catch let error as BenchError where error.code == 19 && attempt < 200 {
                            attempt += 1
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
