import ChatConfig
import ChatServer
import Foundation
import NIOCore

/// `[tls]` of the config: the settings, loading and checking the files
/// (startup, `--check-config`, reload), and the reloadable limits.
public enum TLSSetup {
    /// Nil when `tls.listen` is "" (no TLS listener).
    static func settings(_ c: Config) -> TLSSettings? {
        guard c.tlsListen != nil else { return nil }
        let clientCA = c[.tlsClientCa]
        return TLSSettings(
            certificate: c[.tlsCertificate], privateKey: c[.tlsPrivateKey],
            minimumVersion: TLSSettings.Version(rawValue: c[.tlsMinVersion]) ?? .v1_2,
            clientCA: clientCA.isEmpty ? nil : clientCA)
    }

    /// Handshakes per second per event-loop thread when
    /// `tls.max_handshakes_per_second` is 0: at about 0.4 ms of CPU each
    /// (BENCHMARKS.md), a fifth of each thread.
    static let handshakesPerThread = 200

    static func limits(_ c: Config) -> TLSEndpoint.Limits {
        var rate = Int(c[.tlsMaxHandshakesPerSecond])
        if rate == 0 {
            let threads = Int(c[.serverEventLoopThreads])
            rate = handshakesPerThread * (threads > 0 ? threads : System.coreCount)
        }
        return TLSEndpoint.Limits(handshakeTimeout: .seconds(c[.tlsHandshakeTimeoutSeconds]), handshakesPerSecond: rate)
    }

    /// Loads and checks the files `c` names; nil without a TLS listener. A
    /// file that cannot be used is a config error at the key's line.
    static func credentials(_ c: Config, now: Date = Date()) throws(ConfigError) -> TLSCredentials? {
        guard let settings = settings(c) else { return nil }
        do {
            return try TLSCredentials.load(settings, now: Int(now.timeIntervalSince1970))
        } catch {
            throw c.error(key: error.key, reason: "\"\(error.path)\" \(error.reason)")
        }
    }

    /// `chatd --check-config`: loads the files as a start would; returns the
    /// warnings (a group-readable key, a certificate about to expire).
    public static func check(_ c: Config) throws(ConfigError) -> [String] {
        try credentials(c)?.warnings ?? []
    }
}
