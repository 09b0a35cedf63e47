import ChatDaemon
import Foundation
import Testing

/// A reload parses the file in a child process first (ConfigFileProbe): a
/// parser that dies on some input takes the child down, never the serving chatd.
struct ConfigFileProbeTests {
    func script(_ body: String) throws -> String {
        let path = TestServer.tempDir() + ".sh"
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        return path
    }

    @Test func aChildThatDiesOrHangsRefusesTheReload() async throws {
        let aborts = try script("exec python3 -c 'import os; os.abort()'")
        let hangs = try script("exec sleep 30")
        let refuses = try script("exit 78")
        defer { for p in [aborts, hangs, refuses] { try? FileManager.default.removeItem(atPath: p) } }

        let crashed = await ConfigFileProbe(executable: aborts).problem(path: "/etc/chatd.conf")
        #expect(crashed?.contains("crashed") == true, "\(crashed ?? "nil")")
        let started = ContinuousClock.now
        let hung = await ConfigFileProbe(executable: hangs, timeout: .milliseconds(300)).problem(path: "x")
        #expect(hung?.contains("did not finish") == true)
        #expect(ContinuousClock.now - started < .seconds(10))
        // A clean refusal is left to the parse in the process, which says why.
        let refused = await ConfigFileProbe(executable: refuses, timeout: .seconds(120)).problem(path: "x")
        #expect(refused == nil, "\(refused ?? "")")
        let missing = await ConfigFileProbe(executable: "/nonexistent/chatd").problem(path: "x")
        #expect(missing?.contains("could not be checked") == true)
    }

    @Test func chatdParsesInTheChild() async throws {
        let chatd = ChatdProcess.binDir.appendingPathComponent("chatd").path
        let dir = TestServer.tempDir()
        defer { for p in [dir + ".good", dir + ".bad"] { try? FileManager.default.removeItem(atPath: p) } }
        try "[server]\nlisten = \"127.0.0.1:0\"\n".write(toFile: dir + ".good", atomically: true, encoding: .utf8)
        try "[server\nbroken".write(toFile: dir + ".bad", atomically: true, encoding: .utf8)
        func exit(_ path: String) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: chatd)
            p.arguments = [ConfigFileProbe.option, path]
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        #expect(try exit(dir + ".good") == 0)
        #expect(try exit(dir + ".bad") == 78)
        for file in [dir + ".good", dir + ".bad"] {
            let problem = await ConfigFileProbe(executable: chatd, timeout: .seconds(120)).problem(path: file)
            #expect(problem == nil, "\(file): \(problem ?? "")")
        }
    }
}
