import ChatCore
import Foundation
import NIOCore
import NIOSSL

/// TLS on the client listener, as configured (`[tls]`).
public struct TLSSettings: Sendable, Equatable {
    public enum Version: String, Sendable, CaseIterable {
        case v1_2 = "1.2"
        case v1_3 = "1.3"
    }

    /// PEM file: the server certificate first, then its intermediates.
    public var certificate: String
    /// PEM file: the certificate's private key (unencrypted).
    public var privateKey: String
    public var minimumVersion: Version
    /// PEM file of the CAs whose client certificates are accepted; nil: no
    /// client certificate is asked for.
    public var clientCA: String?

    public init(certificate: String, privateKey: String, minimumVersion: Version = .v1_2, clientCA: String? = nil) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.minimumVersion = minimumVersion
        self.clientCA = clientCA
    }

    /// The ALPN protocol name of this protocol's version 1.
    public static let alpn = "chatd/1"
}

/// A TLS file that cannot be used, naming the config key it came from and why.
public struct TLSSetupError: Error, Sendable, Equatable, CustomStringConvertible {
    /// "tls.certificate", "tls.private_key" or "tls.client_ca".
    public var key: String
    public var path: String
    public var reason: String

    public var description: String { "\(key) \"\(path)\": \(reason)" }
}

/// Certificate, key and client CAs loaded and checked, ready for handshakes:
/// one `NIOSSLContext` shared by every connection until a reload replaces it.
public struct TLSCredentials: Sendable {
    public let settings: TLSSettings
    public let context: NIOSSLContext
    /// The leaf certificate's subject, for logs.
    public let subject: String
    /// When the leaf certificate expires (seconds since 1970).
    public let notValidAfter: Int
    /// Things an operator should fix that do not stop chatd (a group-readable
    /// key, a certificate about to expire).
    public let warnings: [String]

    /// A certificate that expires sooner than this is reported by `warnings`.
    public static let expiryWarning = 14 * 86_400

    /// Reads and checks every file of `settings`. `now` is seconds since 1970.
    public static func load(_ settings: TLSSettings, now: Int) throws(TLSSetupError) -> TLSCredentials {
        var warnings: [String] = []
        let chain = try certificates(key: "tls.certificate", path: settings.certificate)
        let leaf = chain[0]
        let notBefore = Int(leaf.notValidBefore)
        let notAfter = Int(leaf.notValidAfter)
        if now < notBefore {
            throw TLSSetupError(
                key: "tls.certificate", path: settings.certificate, reason: "not valid before \(Self.date(notBefore))")
        }
        if now > notAfter {
            throw TLSSetupError(key: "tls.certificate", path: settings.certificate, reason: "expired on \(Self.date(notAfter))")
        }
        if notAfter - now < expiryWarning {
            warnings.append("tls.certificate \"\(settings.certificate)\" expires on \(Self.date(notAfter))")
        }

        try checkReadable(key: "tls.private_key", path: settings.privateKey)
        let mode = permissions(settings.privateKey)
        if mode & 0o004 != 0 {
            throw TLSSetupError(
                key: "tls.private_key", path: settings.privateKey,
                reason: "readable by every user (mode \(String(mode, radix: 8))); chmod 600 (or 640 for a key group)")
        }
        if mode & 0o040 != 0 {
            warnings.append(
                "tls.private_key \"\(settings.privateKey)\" is group-readable (mode \(String(mode, radix: 8))); 600 keeps it chatd's own")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: settings.privateKey, format: .pem)
        } catch {
            throw TLSSetupError(
                key: "tls.private_key", path: settings.privateKey,
                reason: "not a PEM private key (an encrypted key needs its passphrase removed)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = settings.minimumVersion == .v1_3 ? .tlsv13 : .tlsv12
        configuration.applicationProtocols = [TLSSettings.alpn]
        if let clientCA = settings.clientCA {
            let roots = try certificates(key: "tls.client_ca", path: clientCA)
            // A client without a certificate these CAs signed fails the handshake.
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(roots)
            configuration.sendCANameList = true
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch NIOSSLError.failedToLoadPrivateKey {
            // BoringSSL refuses a key whose public half is not the leaf's.
            throw TLSSetupError(
                key: "tls.private_key", path: settings.privateKey,
                reason: "does not match the certificate in \(settings.certificate)")
        } catch {
            throw TLSSetupError(key: "tls.certificate", path: settings.certificate, reason: "cannot be used: \(error)")
        }
        return TLSCredentials(
            settings: settings, context: context, subject: Self.subject(leaf), notValidAfter: notAfter, warnings: warnings)
    }

    private static func certificates(key: String, path: String) throws(TLSSetupError) -> [NIOSSLCertificate] {
        try checkReadable(key: key, path: path)
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw TLSSetupError(key: key, path: path, reason: "not a PEM certificate file")
        }
        guard !chain.isEmpty else { throw TLSSetupError(key: key, path: path, reason: "holds no PEM certificate") }
        return chain
    }

    private static func checkReadable(key: String, path: String) throws(TLSSetupError) {
        guard !path.isEmpty else { throw TLSSetupError(key: key, path: path, reason: "is not set") }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw TLSSetupError(key: key, path: path, reason: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw TLSSetupError(key: key, path: path, reason: "is not a file") }
        guard access(path, R_OK) == 0 else {
            throw TLSSetupError(key: key, path: path, reason: "not readable by chatd (uid \(getuid())): \(String(cString: strerror(errno)))")
        }
    }

    private static func permissions(_ path: String) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return Int(info.st_mode & 0o777)
    }

    public static func date(_ seconds: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    private static func subject(_ certificate: NIOSSLCertificate) -> String {
        let names = certificate._subjectAlternativeNames().compactMap { name -> String? in
            guard name.nameType == .dnsName else { return nil }
            return String(decoding: name.contents, as: UTF8.self)
        }
        return names.isEmpty ? "certificate" : names.joined(separator: ", ")
    }
}
