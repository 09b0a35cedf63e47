import Foundation
import Testing

/// tools/torture at a small size with the debug binaries: three rounds of
/// load, kill -9, restart and verification, each with a backup, so the crash
/// test keeps working. Long runs are made by
/// hand: `tools/torture 200`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TortureTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    static var hasPython3: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/python3")
        }
    }

    @Test(.enabled(if: hasPython3, "the integrity check of tools/torture needs python3"))
    func threeRoundsOfKillAndVerify() async throws {
        let env = [
            "TORTURE_BIN": ChatdProcess.binDir.path,
            // Small: the other suites run in parallel on the same cores.
            "TORTURE_CLIENTS": "4", "TORTURE_WINDOW": "4", "TORTURE_UPLOADERS": "1",
            "TORTURE_MIN_MS": "300", "TORTURE_MAX_MS": "1200", "TORTURE_BACKUP_EVERY": "1",
        ]
        let result = try await offPool { () throws -> CommandResult in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [Self.repository.appendingPathComponent("tools/torture").path, "3"]
            p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
            // One pipe for both streams: the round lines and any failure's detail, in order.
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return CommandResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: "")
        }
        #expect(result.status == 0, "\(result.stdout)")
        let rounds = result.stdout.split(separator: "\n").filter { $0.hasPrefix("round ") }
        #expect(rounds.count == 3, "\(result.stdout)")
        #expect(rounds.allSatisfy { $0.contains("integrity ok") })
        // Every round backs up: rounds 1 and 3 start it shortly before the kill, round 2 lets it finish first.
        #expect(rounds.allSatisfy { $0.contains("backup: ") })
        #expect(rounds.count < 2 || rounds[1].contains("backup: complete, verified (finished before the kill)"))
        #expect(result.stdout.contains("0 violations"))
        // Something was acknowledged and then checked after the restarts.
        let final = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let checked = final.firstMatch(of: /, (\d+) in the final check/).flatMap { Int($0.1) } ?? 0
        #expect(checked > 0, "\(final)")
    }
}
