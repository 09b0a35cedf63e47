import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child started with posix_spawn and reaped with waitpid, for programs
/// that close the descriptors they inherit (tmux's server,
/// systemd-socket-activate).
///
/// Foundation's `Process` on Linux hands each child one end of a socket
/// pair and takes its closing for the child's exit: its one process thread
/// then blocks in `waitpid` until the child really exits. A child that
/// closes its descriptors at start and lives on stops every other `Process`
/// in the test process from being reaped or started: the whole suite once
/// hung for ten minutes behind systemd-socket-activate waiting for its
/// first connection.
struct SpawnedChild: Sendable {
    let pid: pid_t
    /// Where the child's stdout and stderr go.
    let output: String

    init(_ argv: [String], output: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard spawned == 0 else { throw ProcessTestError("cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
        self.pid = pid
        self.output = output
    }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Blocks until the child exits (call it off the cooperative pool):
    /// its exit status, 255 for a signal.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 255
    }

    /// What the child wrote so far.
    var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    /// Runs `argv` to its end: its status and output (the output file is removed).
    static func run(_ argv: [String], output: String) async throws -> CommandResult {
        try await offPool {
            let child = try SpawnedChild(argv, output: output)
            let status = child.wait()
            defer { unlink(output) }
            return CommandResult(status: status, stdout: child.text, stderr: "")
        }
    }
}
