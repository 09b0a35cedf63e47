import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// How a client connection speaks TLS to chatd's TLS listener: which CAs it
/// trusts (the system's by default), an optional client certificate (for a
/// server with `tls.client_ca`), and the name the server's certificate must
/// carry. Made once and shared by any number of connections.
public struct ChatTLS: Sendable {
    let context: NIOSSLContext
    /// The name checked against the server's certificate and sent as SNI;
    /// nil: the host connected to (an IP address is checked against the
    /// certificate's IP entries).
    public let serverName: String?
    public let verifiesHostname: Bool
    let caFile: String?

    /// - Parameters:
    ///   - caFile: PEM file of the CAs to trust instead of the system's.
    ///   - certificate: PEM file of a client certificate (and its chain).
    ///   - privateKey: PEM file of the client certificate's key.
    ///   - serverName: check the server's certificate for this name instead
    ///     of the host connected to.
    ///   - verifyHostname: false accepts any certificate the CAs signed,
    ///     whatever names it carries (a test setup, never over a network).
    public init(
        caFile: String? = nil, certificate: String? = nil, privateKey: String? = nil, serverName: String? = nil,
        verifyHostname: Bool = true
    ) throws(ChatTLSError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["chatd/1"]
        configuration.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
        if let caFile {
            configuration.trustRoots = .certificates(try Self.certificates(caFile, what: "CA file"))
        }
        switch (certificate, privateKey) {
        case (nil, nil):
            break
        case (let certificate?, let privateKey?):
            configuration.certificateChain = try Self.certificates(certificate, what: "client certificate").map {
                .certificate($0)
            }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKey, format: .pem))
            } catch {
                throw .unusableFile(what: "client key", path: privateKey, reason: Self.reason(privateKey, "not a PEM private key"))
            }
        default:
            throw .unusableFile(
                what: "client certificate", path: certificate ?? privateKey ?? "",
                reason: "a client certificate needs both the certificate and its key")
        }
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .unusableFile(
                what: "client key", path: privateKey ?? "", reason: "does not match the client certificate (\(error))")
        }
        self.serverName = serverName
        self.verifiesHostname = verifyHostname
        self.caFile = caFile
    }

    /// The TLS handler for one connection to `host`, first in the pipeline
    /// (for clients that build their own, such as chatbench).
    public func makeHandler(host: String) throws -> NIOSSLClientHandler {
        let name = serverName ?? host
        // SNI carries names only; an IP address is matched against the
        // certificate's IP entries from the peer address.
        return try NIOSSLClientHandler(context: context, serverHostname: Self.isIPAddress(name) ? nil : name)
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return text.withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
    }

    private static func certificates(_ path: String, what: String) throws(ChatTLSError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .unusableFile(what: what, path: path, reason: reason(path, "not a PEM certificate file"))
        }
        guard !certificates.isEmpty else { throw .unusableFile(what: what, path: path, reason: "holds no PEM certificate") }
        return certificates
    }

    /// Why a file could not be loaded: the system's reason when it cannot be
    /// read at all, else `otherwise`.
    private static func reason(_ path: String, _ otherwise: String) -> String {
        guard access(path, R_OK) == 0 else { return String(cString: strerror(errno)) }
        return otherwise
    }
}

/// Why a TLS connection to chatd could not be made, saying which part failed.
public enum ChatTLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file given to `ChatTLS` cannot be used.
    case unusableFile(what: String, path: String, reason: String)
    /// The server's certificate is not signed by a CA this client trusts.
    case untrustedCertificate(subject: String)
    case expiredCertificate(subject: String, notAfter: Date)
    case certificateNotYetValid(subject: String, notBefore: Date)
    /// The certificate is trusted but not for the name connected to.
    case hostnameMismatch(expected: String)
    /// The server ended the handshake: it wants a client certificate, or did
    /// not accept the one given, or shares no TLS version with this client.
    case refusedByServer(String)
    /// The other end does not speak TLS (a plain chatd port?).
    case notTLS
    case handshakeFailed(String)

    public var description: String {
        switch self {
        case .unusableFile(let what, let path, let reason): "TLS: \(what) \(path): \(reason)"
        case .untrustedCertificate(let subject):
            "TLS: the server's certificate (\(subject)) is not signed by a trusted CA (give the CA with --ca)"
        case .expiredCertificate(let subject, let date): "TLS: the server's certificate (\(subject)) expired on \(date)"
        case .certificateNotYetValid(let subject, let date):
            "TLS: the server's certificate (\(subject)) is not valid before \(date) (check the clocks)"
        case .hostnameMismatch(let expected): "TLS: the server's certificate is not for \(expected)"
        case .refusedByServer(let detail): "TLS: the server refused the handshake (\(detail))"
        case .notTLS: "TLS: the server does not speak TLS on this port"
        case .handshakeFailed(let detail): "TLS: handshake failed (\(detail))"
        }
    }
}

extension ChatTLSError {
    /// `.refusedByServer` naming the alert, when `error` is a TLS alert the
    /// server sent (e.g. TLSV1_ALERT_CERTIFICATE_REQUIRED, SSLV3_ALERT_BAD_CERTIFICATE).
    static func alert(in error: any Error) -> ChatTLSError? {
        let detail: String
        switch error {
        case NIOSSLError.handshakeFailed(let inner): detail = "\(inner)"
        case let inner as BoringSSLError: detail = "\(inner)"
        default: return nil
        }
        guard let range = detail.range(of: #"[A-Z0-9_]*ALERT[A-Z0-9_]*"#, options: .regularExpression) else { return nil }
        return .refusedByServer(String(detail[range]))
    }
}

/// Completes `ready` when the TLS handshake finishes (or fails, or the
/// connection closes first), so that `connect` returns a connection that is
/// ready or throws the reason it is not.
final class TLSReadyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    let ready: EventLoopPromise<Void>

    init(ready: EventLoopPromise<Void>) { self.ready = ready }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            ready.succeed(())
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready.fail(ChatClientError.connectionClosed)
        context.fireChannelInactive()
    }
}

extension ChatTLS {
    /// Turns NIOSSL's handshake error into one that names the failed part.
    /// A failed certificate check is diagnosed by looking at the server's
    /// certificate over a second, unverified handshake (nothing is sent on it).
    func explain(_ error: any Error, host: String, port: Int, group: any EventLoopGroup) async -> any Error {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return ChatTLSError.hostnameMismatch(expected: serverName ?? host)
        }
        guard case NIOSSLError.handshakeFailed(let inner) = error else {
            if case ChatClientError.connectionClosed = error { return ChatTLSError.refusedByServer("connection closed") }
            return error
        }
        let detail = "\(inner)"
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            return await diagnoseCertificate(host: host, port: port, group: group)
        }
        if detail.contains("WRONG_VERSION_NUMBER") || detail.contains("PACKET_LENGTH_TOO_LONG")
            || detail.contains("HTTP_REQUEST") || detail.contains("RECORD_LENGTH_MISMATCH")
        {
            return ChatTLSError.notTLS
        }
        return ChatTLSError.alert(in: error) ?? ChatTLSError.handshakeFailed(detail)
    }

    private func diagnoseCertificate(host: String, port: Int, group: any EventLoopGroup) async -> ChatTLSError {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        configuration.applicationProtocols = ["chatd/1"]
        guard let context = try? NIOSSLContext(configuration: configuration) else {
            return .untrustedCertificate(subject: "unknown")
        }
        let name = serverName ?? host
        do {
            let ready = group.next().makePromise(of: Void.self)
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(
                            NIOSSLClientHandler(context: context, serverHostname: Self.isIPAddress(name) ? nil : name))
                        try sync.addHandler(TLSReadyHandler(ready: ready))
                    }
                }
                .connect(address: host, port: port).always { if case .failure(let error) = $0 { ready.fail(error) } }
                .get()
            defer { channel.close(promise: nil) }
            try await ready.futureResult.get()
            let peer = channel.pipeline.handler(type: NIOSSLClientHandler.self).map { $0.peerCertificate }
            guard let certificate = try await peer.get() else {
                return .untrustedCertificate(subject: "unknown")
            }
            let subject = Self.describe(certificate)
            let now = Int(Date().timeIntervalSince1970)
            if now > Int(certificate.notValidAfter) {
                return .expiredCertificate(subject: subject, notAfter: Date(timeIntervalSince1970: TimeInterval(certificate.notValidAfter)))
            }
            if now < Int(certificate.notValidBefore) {
                return .certificateNotYetValid(
                    subject: subject, notBefore: Date(timeIntervalSince1970: TimeInterval(certificate.notValidBefore)))
            }
            return .untrustedCertificate(subject: subject)
        } catch {
            return .untrustedCertificate(subject: "unknown")
        }
    }

    static func describe(_ certificate: NIOSSLCertificate) -> String {
        let names = certificate._subjectAlternativeNames().compactMap { name -> String? in
            name.nameType == .dnsName ? String(decoding: name.contents, as: UTF8.self) : nil
        }
        return names.isEmpty ? "no DNS names" : names.joined(separator: ", ")
    }
}
