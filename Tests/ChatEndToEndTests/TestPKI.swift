import ChatDaemon
import Foundation

/// Certificates made at test time with the `openssl` command (P-256 keys):
/// CAs, and leaves they sign with any validity window and names. Each PKI
/// lives in its own temporary directory.
struct TestPKI {
    let dir: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init() throws {
        dir = TestServer.tempDir() + "-pki"
        try FileManager.default.createDirectory(atPath: dir + "/issued", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: dir + "/index.txt"))
        try Data("01\n".utf8).write(to: URL(fileURLWithPath: dir + "/serial"))
        try Data(
            """
            [ ca ]
            default_ca = test
            [ test ]
            dir = \(dir)
            database = \(dir)/index.txt
            new_certs_dir = \(dir)/issued
            serial = \(dir)/serial
            default_md = sha256
            policy = any
            copy_extensions = copy
            unique_subject = no
            [ any ]
            commonName = supplied

            """.utf8
        ).write(to: URL(fileURLWithPath: dir + "/ca.cnf"))
    }

    func path(_ name: String) -> String { dir + "/" + name }

    /// A self-signed CA: `<name>.pem` and `<name>.key`.
    @discardableResult
    func makeCA(_ name: String) throws -> String {
        try run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).pem"), "-subj", "/CN=\(name)", "-days", "30")
        return path("\(name).pem")
    }

    /// A leaf `<name>.pem` / `<name>.key` signed by CA `ca`, valid from
    /// `notBefore` to `notAfter` (default: an hour ago to 30 days ahead),
    /// with subject alternative names `names` ("DNS:…", "IP:…").
    @discardableResult
    func issue(
        _ name: String, by ca: String, names: [String] = ["DNS:localhost", "IP:127.0.0.1"], notBefore: Date? = nil,
        notAfter: Date? = nil
    ) throws -> (certificate: String, key: String) {
        try run(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).csr"), "-subj", "/CN=\(name)", "-addext", "subjectAltName=\(names.joined(separator: ","))")
        let from = notBefore ?? Date().addingTimeInterval(-3600)
        let until = notAfter ?? Date().addingTimeInterval(30 * 86_400)
        try run(
            "ca", "-batch", "-config", path("ca.cnf"), "-cert", path("\(ca).pem"), "-keyfile", path("\(ca).key"), "-in",
            path("\(name).csr"), "-out", path("\(name).pem"), "-notext", "-startdate", Self.asn1(from), "-enddate",
            Self.asn1(until))
        chmod(path("\(name).key"), 0o600)
        return (path("\(name).pem"), path("\(name).key"))
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    private static func asn1(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss'Z'"
        return formatter.string(from: date)
    }

    private func run(_ arguments: String...) throws {
        // In the PKI's directory (the arguments name files there); a ChildProcess, not Foundation's Process.
        let errors = dir + "/openssl.err"
        defer { unlink(errors) }
        let child = try ChildProcess(["/bin/sh", "-c", "cd \"$0\" && exec openssl \"$@\"", dir] + arguments, stderr: errors)
        guard child.waitBlocking() == .exited(0) else {
            let output = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw Failure(description: "openssl \(arguments.joined(separator: " ")): \(output)")
        }
    }
}
