import ChatConfig
import Foundation
import NIOCore

/// Start-up failures in plain words (which address or path, why, what to
/// do), and the checks `chatd --check-config` runs beyond the file itself:
/// that the data, file and socket directories can be made and the listen
/// addresses bound.
public enum StartupChecks {
    public struct Findings: Sendable, Equatable {
        /// Each would stop chatd from starting.
        public var errors: [String] = []
        /// Worth knowing, not fatal (an address in use, perhaps by the running chatd).
        public var warnings: [String] = []
    }

    public static func check(_ c: Config, euid: uid_t = geteuid()) -> Findings {
        var findings = Findings()
        if euid == 0 {
            // Root reads and writes everything: the checks below would pass
            // for paths the service's user cannot use.
            findings.warnings.append(
                "checked as root, who may read and write what chatd's user cannot: run the check as that user "
                    + "(runuser -u chatd -- chatd --check-config --config FILE)")
        }
        if let problem = DataDirectory.problem(creating: c.dataDir, create: false) { findings.errors.append(problem) }
        if !c[.filesDir].isEmpty,
            let problem = DataDirectory.problem(creating: c.filesDir, key: "files.dir", create: false)
        {
            findings.errors.append(problem)
        }
        let socketDir = (c.controlSocketPath as NSString).deletingLastPathComponent
        if !socketDir.isEmpty,
            let problem = DataDirectory.problem(creating: socketDir, key: "control.socket's directory", create: false)
        {
            findings.errors.append(problem)
        }
        let addresses: [(String, ListenAddress?)] = [
            ("server.listen", c.listen), ("tls.listen", c.tlsListen), ("metrics.listen", ListenAddress(c[.metricsListen])),
        ]
        for (key, address) in addresses {
            guard let address, address.port != 0 else { continue }
            switch tryBind(address) {
            case nil: break
            case EADDRINUSE?:
                findings.warnings.append("\(address) (\(key)) is in use now (by the running chatd, or another program)")
            case let code?:
                findings.errors.append(listenProblem(key: key, address: "\(address)", errno: code))
            }
        }
        return findings
    }

    /// Why chatd cannot listen on `address`, and what to do.
    static func listenProblem(key: String, address: String, errno code: CInt) -> String {
        let start = "cannot listen on \(address) (\(key)): "
        switch code {
        case EADDRINUSE:
            return start + "the address is in use; another chatd or another program listens there (ss -ltnp), "
                + "stop it or change \(key)"
        case EADDRNOTAVAIL:
            return start + "no interface of this machine has that address; use 127.0.0.1, 0.0.0.0 or one of its addresses"
        case EACCES:
            return start + "ports below 1024 need root or CAP_NET_BIND_SERVICE (AmbientCapabilities= in the systemd unit)"
        default:
            return start + String(cString: strerror(code))
        }
    }

    /// Runs `bind`, turning its failure into a plain-word DaemonError.
    static func listening<T>(_ key: String, _ address: String, _ bind: () async throws -> T) async throws -> T {
        do {
            return try await bind()
        } catch let error as IOError {
            throw DaemonError(listenProblem(key: key, address: address, errno: error.errnoCode))
        } catch let error as SocketAddressError {
            throw DaemonError("cannot listen on \(address) (\(key)): the host name does not resolve (\(error))")
        }
    }

    /// Binds and closes a socket on `address`; nil when that worked, else errno.
    static func tryBind(_ address: ListenAddress) -> CInt? {
        guard let resolved = try? SocketAddress.makeAddressResolvingHost(address.host, port: address.port) else {
            return EADDRNOTAVAIL
        }
        let family = resolved.protocol.rawValue
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var on: CInt = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<CInt>.size))
        let result = resolved.withSockAddr { bind(fd, $0, socklen_t($1)) }
        return result == 0 ? nil : errno
    }
}
