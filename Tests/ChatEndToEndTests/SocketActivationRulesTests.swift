import ChatConfig
import NIOCore
import Testing

@testable import ChatDaemon

/// A socket the service manager passes (socket activation) is a plain
/// listener, and its address, not `server.listen`, decides where chatd
/// listens.
struct SocketActivationRulesTests {
    /// TLS only (`server.listen = ""`): adopting the socket would serve
    /// clients in the clear, so chatd refuses to start (exit 78), naming the key.
    @Test func aTLSOnlyConfigRefusesAnActivatedSocket() throws {
        let tlsOnly = try Config.parse(
            """
            [server]
            listen = ""
            [tls]
            listen = "127.0.0.1:7601"
            certificate = "/etc/chatd/tls/cert.pem"
            private_key = "/etc/chatd/tls/key.pem"
            """, file: "chatd.conf")
        #expect(throws: ConfigError.self) { try Daemon.checkActivation(tlsOnly) }
        do {
            try Daemon.checkActivation(tlsOnly)
        } catch {
            #expect(error.key == "server.listen" && error.file == "chatd.conf")
        }
        #expect(throws: Never.self) { try Daemon.checkActivation(Config.defaults) }
    }

    /// Another address than server.listen's is said; the same one (or
    /// localhost for a loopback socket, or port 0) is not.
    @Test func anAdoptedAddressOtherThanServerListenIsSaid() throws {
        let config = try Config.parse("[server]\nlisten = \"127.0.0.1:7600\"\n", file: "t")
        let same = try SocketAddress(ipAddress: "127.0.0.1", port: 7600)
        #expect(Daemon.activationMismatch(config, adopted: same) == nil)
        let other = try SocketAddress(ipAddress: "0.0.0.0", port: 7600)
        #expect(Daemon.activationMismatch(config, adopted: other)?.contains("listening on 0.0.0.0:7600") == true)
        let localhost = try Config.parse("[server]\nlisten = \"localhost:7600\"\n", file: "t")
        #expect(Daemon.activationMismatch(localhost, adopted: same) == nil)
        let v6 = try SocketAddress(ipAddress: "::1", port: 7700)
        #expect(Daemon.activationMismatch(config, adopted: v6)?.contains("[::1]:7700") == true)
    }
}
