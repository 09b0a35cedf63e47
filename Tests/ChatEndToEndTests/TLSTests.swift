import ChatClient
import ChatConfig
import ChatCore
import ChatDaemon
import ChatProtocol
import ChatServer
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing

/// TLS on the client listener, end to end: certificates are made with the
/// `openssl` command for each test.
@Suite(.serialized)
struct TLSTests {
    /// A PKI with CA "ca" and a server certificate "server" for localhost
    /// and 127.0.0.1.
    static func pki() throws -> TestPKI {
        let pki = try TestPKI()
        try pki.makeCA("ca")
        try pki.issue("server", by: "ca")
        return pki
    }

    static func tls(_ pki: TestPKI, certificate: String = "server") -> (Config) -> Config {
        {
            $0.setting("tls.listen", .string("127.0.0.1:0"))
                .setting("tls.certificate", .string(pki.path("\(certificate).pem")))
                .setting("tls.private_key", .string(pki.path("\(certificate).key")))
        }
    }

    static func connect(_ server: TestServer, _ tls: ChatTLS) async throws -> ChatConnection {
        try await ChatConnection.connect(
            host: "127.0.0.1", port: server.daemon.tlsPort ?? 0, tls: tls, requestTimeout: .seconds(20))
    }

    static func expectTLSError(
        _ expected: (ChatTLSError) -> Bool, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> ChatConnection
    ) async {
        do {
            let c = try await body()
            await c.close()
            Issue.record("expected a TLS error, connected", sourceLocation: sourceLocation)
        } catch let error as ChatTLSError {
            #expect(expected(error), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a ChatTLSError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func loginSendAndPushOverTLS() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        try await withServer(Self.tls(pki)) { server in
            let tls = try ChatTLS(caFile: pki.path("ca.pem"))
            let alice = try await Self.connect(server, tls)
            try await alice.hello()
            _ = try await alice.register(username: "alice", password: "password-alice")
            let bob = try await Self.connect(server, tls)
            try await bob.hello()
            _ = try await bob.register(username: "bob", password: "password-bob")
            let room = try await alice.createRoom(name: "tls-room")
            _ = try await bob.joinRoom(room.id)
            let pushes = PushCollector(bob)
            let sent = try await alice.send(room: room.id, text: "over TLS")
            #expect(sent.event.seq > 0)
            #expect(await pushes.wait { $0.contains { if case .event(let e) = $0 { e.text == "over TLS" } else { false } } })
            // The plain listener keeps working beside it.
            let plain = try await server.connect()
            await plain.close()
            await alice.close()
            await bob.close()
        }
    }

    @Test func aClientRefusesACertificateFromAnotherCA() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        try pki.makeCA("other-ca")
        try await withServer(Self.tls(pki)) { server in
            let tls = try ChatTLS(caFile: pki.path("other-ca.pem"))
            await Self.expectTLSError({ if case .untrustedCertificate = $0 { true } else { false } }) {
                try await Self.connect(server, tls)
            }
            // The system's trust store does not know the test CA either.
            await Self.expectTLSError({ if case .untrustedCertificate = $0 { true } else { false } }) {
                try await Self.connect(server, try ChatTLS())
            }
        }
    }

    @Test func aClientRefusesACertificateForAnotherName() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        // NIOSSL accepts a certificate's IP entry for the address connected
        // to whatever name is asked for: this certificate has DNS names only.
        try pki.issue("named", by: "ca", names: ["DNS:chat.internal"])
        try await withServer(Self.tls(pki, certificate: "named")) { server in
            let tls = try ChatTLS(caFile: pki.path("ca.pem"), serverName: "chat.example.org")
            await Self.expectTLSError({ $0 == .hostnameMismatch(expected: "chat.example.org") }) {
                try await Self.connect(server, tls)
            }
            // Without hostname verification (tests only) the CA's signature is enough.
            let lax = try ChatTLS(caFile: pki.path("ca.pem"), serverName: "chat.example.org", verifyHostname: false)
            let c = try await Self.connect(server, lax)
            try await c.hello()
            await c.close()
        }
    }

    @Test func chatdRefusesExpiredNotYetValidMismatchedAndWorldReadableFiles() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        let now = Date()
        try pki.issue("expired", by: "ca", notBefore: now.addingTimeInterval(-10 * 86_400), notAfter: now.addingTimeInterval(-86_400))
        try pki.issue("future", by: "ca", notBefore: now.addingTimeInterval(86_400), notAfter: now.addingTimeInterval(10 * 86_400))
        try pki.issue("soon", by: "ca", notAfter: now.addingTimeInterval(3 * 86_400))
        func load(_ certificate: String, key: String) throws(TLSSetupError) -> TLSCredentials {
            try TLSCredentials.load(
                TLSSettings(certificate: pki.path("\(certificate).pem"), privateKey: pki.path("\(key).key")),
                now: Int(now.timeIntervalSince1970))
        }
        func failure(_ certificate: String, key: String) -> TLSSetupError? {
            do {
                _ = try load(certificate, key: key)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure("expired", key: "expired")?.reason.hasPrefix("expired on") == true)
        #expect(failure("future", key: "future")?.reason.hasPrefix("not valid before") == true)
        let mismatch = failure("server", key: "expired")
        #expect(mismatch?.key == "tls.private_key")
        #expect(mismatch?.reason.hasPrefix("does not match the certificate") == true)
        #expect(failure("missing", key: "server")?.reason == "No such file or directory")
        chmod(pki.path("server.key"), 0o644)
        #expect(failure("server", key: "server")?.reason.hasPrefix("readable by every user") == true)
        chmod(pki.path("server.key"), 0o640)
        #expect(try load("server", key: "server").warnings.contains { $0.contains("group-readable") })
        chmod(pki.path("server.key"), 0o600)
        #expect(try load("server", key: "server").warnings.isEmpty)
        #expect(try load("soon", key: "soon").warnings.contains { $0.contains("expires on") })

        // --check-config names the key and its line.
        let file = pki.path("chatd.conf")
        try Data(
            """
            [tls]
            listen = "127.0.0.1:0"
            certificate = "\(pki.path("server.pem"))"
            private_key = "\(pki.path("expired.key"))"

            """.utf8
        ).write(to: URL(fileURLWithPath: file))
        do {
            _ = try TLSSetup.check(try Config.load(path: file))
            Issue.record("a key that does not match passed the check")
        } catch {
            #expect(error.key == "tls.private_key" && error.line == 4, "\(error)")
        }
    }

    @Test func mutualTLSRefusesAClientWithoutACertificateFromTheClientCA() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        try pki.makeCA("clients")
        try pki.makeCA("strangers")
        try pki.issue("alice-device", by: "clients", names: ["DNS:alice.clients"])
        try pki.issue("mallory-device", by: "strangers", names: ["DNS:mallory.clients"])
        let mutual: (Config) -> Config = { Self.tls(pki)($0).setting("tls.client_ca", .string(pki.path("clients.pem"))) }
        try await withServer(mutual) { server in
            // TLS 1.3: the client's side of the handshake is done before the
            // server checks the client's certificate; its refusal (an alert)
            // reaches the first request, or the connect when it comes first.
            let refused: (ChatTLSError) -> Bool = { if case .refusedByServer = $0 { true } else { false } }
            let noCertificate = try ChatTLS(caFile: pki.path("ca.pem"))
            let stranger = try ChatTLS(
                caFile: pki.path("ca.pem"), certificate: pki.path("mallory-device.pem"),
                privateKey: pki.path("mallory-device.key"))
            for tls in [noCertificate, stranger] {
                await Self.expectTLSError(refused) {
                    let c = try await Self.connect(server, tls)
                    try await c.hello()
                    return c
                }
            }
            let tls = try ChatTLS(
                caFile: pki.path("ca.pem"), certificate: pki.path("alice-device.pem"), privateKey: pki.path("alice-device.key"))
            let c = try await Self.connect(server, tls)
            try await c.hello()
            _ = try await c.register(username: "alice", password: "password-alice")
            await c.close()
        }
    }

    @Test func aReloadServesTheRenewedCertificateAndKeepsOpenConnections() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        try pki.makeCA("new-ca")
        let dataDir = TestServer.tempDir()
        let file = pki.path("chatd.conf")
        try Data(
            """
            [server]
            listen = "127.0.0.1:0"
            event_loop_threads = 2
            [tls]
            listen = "127.0.0.1:0"
            certificate = "\(pki.path("live.pem"))"
            private_key = "\(pki.path("live.key"))"
            [storage]
            data_dir = "\(dataDir)"
            synchronous = "normal"
            [security]
            argon2_ops_limit = 1
            argon2_mem_kib = 8
            [log]
            level = "critical"

            """.utf8
        ).write(to: URL(fileURLWithPath: file))
        let fm = FileManager.default
        func install(_ name: String) throws {
            for ext in ["pem", "key"] {
                let target = pki.path("live.\(ext)")
                try? fm.removeItem(atPath: target)
                try fm.copyItem(atPath: pki.path("\(name).\(ext)"), toPath: target)
            }
        }
        try install("server")
        let server = TestServer(
            daemon: try await Daemon.start(config: try Config.load(path: file), logger: .init(label: "tls-test") { _ in SwiftLogNoOpLogHandler() }),
            dataDir: dataDir, config: try Config.load(path: file))
        let old = try ChatTLS(caFile: pki.path("ca.pem"))
        let renewed = try ChatTLS(caFile: pki.path("new-ca.pem"))
        do {
            let before = try await Self.connect(server, old)
            try await before.hello()
            _ = try await before.register(username: "alice", password: "password-alice")
            await Self.expectTLSError({ if case .untrustedCertificate = $0 { true } else { false } }) {
                try await Self.connect(server, renewed)
            }

            // A renewal whose key does not match: the reload is refused, the old certificate stays.
            try pki.issue("renewed", by: "new-ca")
            try install("renewed")
            try fm.removeItem(atPath: pki.path("live.key"))
            try fm.copyItem(atPath: pki.path("server.key"), toPath: pki.path("live.key"))
            await #expect(throws: ChatFailure.self) { try await server.daemon.reloadFromFile() }
            let stillOld = try await Self.connect(server, old)
            await stillOld.close()

            // The whole renewal: new connections get the new certificate.
            try install("renewed")
            _ = try await server.daemon.reloadFromFile()
            let after = try await Self.connect(server, renewed)
            try await after.hello()
            await after.close()
            await Self.expectTLSError({ if case .untrustedCertificate = $0 { true } else { false } }) {
                try await Self.connect(server, old)
            }
            // The connection made before the reload carries on.
            let me = try await before.me()
            #expect(me.user.username == "alice")
            await before.close()
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func plaintextToTheTLSPortIsClosedAtOnceAndAStalledHandshakeAtTheTimeout() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        try await withServer({ Self.tls(pki)($0).setting("tls.handshake_timeout_seconds", .int(1)) }) { server in
            let port = server.daemon.tlsPort ?? 0
            // A client speaking the plain protocol: a Hello frame.
            let plain = try await CountingPeer.connect(port: port)
            var hello = ByteBuffer()
            hello.writeBytes(Frame(kind: .request, op: Op.hello.rawValue, id: 1, payload: ByteBuffer()).encoded(allocator: .init()).readableBytesView)
            try await plain.write(hello)
            let started = ContinuousClock.now
            let received = await plain.readUntilClosed(seconds: 5)
            #expect(ContinuousClock.now - started < .milliseconds(900), "closed before the handshake timeout")
            #expect(received < 64, "a TLS alert at most, got \(received) bytes")

            // A peer that connects and says nothing is closed at the handshake timeout.
            // Timed from before the connect: the server's timer starts at its accept,
            // which a loaded machine can run well before the connect's await returns.
            let waited = ContinuousClock.now
            let silent = try await CountingPeer.connect(port: port)
            _ = await silent.readUntilClosed(seconds: 10)
            let elapsed = ContinuousClock.now - waited
            #expect(elapsed >= .seconds(1) && elapsed < .seconds(5), "\(elapsed)")
        }
    }

    @Test func chatdCanListenOnTLSAlone() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        try await withServer({ Self.tls(pki)($0).setting("server.listen", .string("")) }) { server in
            #expect(server.daemon.listener == nil)
            #expect(server.port == server.daemon.tlsPort)
            let c = try await Self.connect(server, try ChatTLS(caFile: pki.path("ca.pem")))
            try await c.hello()
            await c.close()
        }
        let neither = Config.defaults.setting("server.listen", .string(""))
        #expect(neither.relationProblem()?.key == "server.listen")
        let noKey = Config.defaults.setting("tls.listen", .string("127.0.0.1:7601")).setting("tls.certificate", .string("/x"))
        #expect(noKey.relationProblem()?.key == "tls.private_key")
    }
}

/// A TCP peer that writes raw bytes and counts what comes back.
final class CountingPeer: Sendable {
    let channel: any Channel
    let counter: ByteCounter

    private init(channel: any Channel, counter: ByteCounter) {
        self.channel = channel
        self.counter = counter
    }

    static func connect(port: Int) async throws -> CountingPeer {
        let counter = ByteCounter()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return CountingPeer(channel: channel, counter: counter)
    }

    func write(_ bytes: ByteBuffer) async throws { try await channel.writeAndFlush(bytes) }

    /// Waits for the server to close (up to `seconds`); returns the bytes received.
    func readUntilClosed(seconds: Double) async -> Int {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while channel.isActive && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        try? await channel.close()
        return counter.count
    }
}

final class ByteCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let total = Mutex<Int>(0)
    var count: Int { total.withLock { $0 } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        total.withLock { $0 += bytes }
    }
}

extension TLSTests {
    @Test func theChatCommandRemembersTLSInItsSession() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        try await withServer(Self.tls(pki)) { server in
            let home = TestServer.tempDir() + "-home"
            defer { try? FileManager.default.removeItem(atPath: home) }
            let env = ["XDG_CONFIG_HOME": home]
            let address = "127.0.0.1:\(server.daemon.tlsPort ?? 0)"
            let registered = try await runTool(
                "chatc", ["register", "carol", "--password", "password-carol", "--server", address, "--ca", pki.path("ca.pem")],
                env: env)
            #expect(registered.status == 0, "\(registered.stderr)")
            // The session remembers the server, TLS and the CA.
            let whoami = try await runTool("chatc", ["whoami"], env: env)
            #expect(whoami.status == 0 && whoami.stdout.contains("carol"), "\(whoami.stdout) \(whoami.stderr)")
            // Trusting only the system's CAs, the test CA's certificate is refused, and the error says why.
            let untrusted = try await runTool("chatc", ["whoami", "--tls"], env: env)
            #expect(untrusted.status != 0 && untrusted.stderr.contains("not signed by a trusted CA"), "\(untrusted.stderr)")
        }
    }
}

extension TLSTests {
    @Test func theHandshakeBudgetDelaysConnectionsInsteadOfRefusingThem() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        // Two handshakes a second: of six connections made at once, two pass
        // at once and the rest wait in the backlog for the budget to refill.
        try await withServer({ Self.tls(pki)($0).setting("tls.max_handshakes_per_second", .int(2)) }) { server in
            let tls = try ChatTLS(caFile: pki.path("ca.pem"))
            let started = ContinuousClock.now
            let connections = try await withThrowingTaskGroup(of: ChatConnection.self) { group in
                for _ in 0..<6 { group.addTask { try await Self.connect(server, tls) } }
                var all: [ChatConnection] = []
                for try await c in group { all.append(c) }
                return all
            }
            let elapsed = ContinuousClock.now - started
            #expect(connections.count == 6)
            #expect(elapsed >= .milliseconds(1400) && elapsed < .seconds(5), "\(elapsed)")
            for c in connections {
                try await c.hello()
                await c.close()
            }
        }
        // The budget as a value: a second's worth at once, then one per 1/rate.
        let endpoint = TLSEndpoint(
            credentials: try TLSCredentials.load(
                TLSSettings(certificate: pki.path("server.pem"), privateKey: pki.path("server.key")),
                now: Int(Date().timeIntervalSince1970)),
            limits: .init(handshakesPerSecond: 4))
        for _ in 0..<4 { #expect(endpoint.admitHandshake(nowMs: 1000) == .allowed) }
        #expect(endpoint.admitHandshake(nowMs: 1000) == .limited(retryAfterMs: 250))
        #expect(endpoint.admitHandshake(nowMs: 1250) == .allowed)
        endpoint.update(.init(handshakesPerSecond: 0))
        for _ in 0..<100 { #expect(endpoint.admitHandshake(nowMs: 1250) == .allowed) }
    }
}

extension TLSTests {
    /// chatd refuses to serve an expired certificate, so a bare TLS server
    /// stands in for a misconfigured one: the client says what is wrong.
    @Test func aClientNamesAnExpiredOrNotYetValidServerCertificate() async throws {
        let pki = try Self.pki()
        defer { pki.remove() }
        let now = Date()
        try pki.issue("expired", by: "ca", notBefore: now.addingTimeInterval(-10 * 86_400), notAfter: now.addingTimeInterval(-86_400))
        try pki.issue("future", by: "ca", notBefore: now.addingTimeInterval(86_400), notAfter: now.addingTimeInterval(10 * 86_400))
        let tls = try ChatTLS(caFile: pki.path("ca.pem"))
        for (name, expected) in [("expired", "expired"), ("future", "notYetValid")] {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(pki.path("\(name).pem")).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.path("\(name).key"), format: .pem)))
            let context = try NIOSSLContext(configuration: configuration)
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            do {
                _ = try await ChatConnection.connect(host: "127.0.0.1", port: listener.localAddress?.port ?? 0, tls: tls)
                Issue.record("connected to a server with a certificate that is \(name)")
            } catch let error as ChatTLSError {
                switch (expected, error) {
                case ("expired", .expiredCertificate(let subject, _)), ("notYetValid", .certificateNotYetValid(let subject, _)):
                    #expect(subject == "localhost")
                default:
                    Issue.record("\(name): \(error)")
                }
            }
            try await listener.close()
        }
    }
}
