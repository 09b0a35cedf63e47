import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn and reaped with waitpid.
///
/// Not Foundation's `Process`: in the Swift 6.3 toolchain its `run()` on
/// Linux copies a whole `d_name` out of each `/proc/self/fd` entry and, when
/// an entry ends a page, reads past it and crashes the caller (fixed
/// upstream in swift-corelibs-foundation#5472; it killed the test process
/// in 2 of ~14 local full runs). It also takes a child's closing of the
/// descriptors it inherited for the child's exit, and then blocks its one
/// process thread in `waitpid` until the child really exits.
public final class ChildProcess: Sendable {
    public enum Exit: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    public let pid: pid_t
    private let exit = Mutex<Exit?>(nil)

    /// `argv[0]` is the executable's path. `stdin`, `stdout`, `stderr`:
    /// files opened in the child (nil: /dev/null; stdout and stderr are
    /// created or truncated); `stderrToStdout` sends stderr where stdout goes.
    /// `environment` nil: this process's.
    public init(
        _ argv: [String], environment: [String: String]? = nil, stdin: String? = nil, stdout: String? = nil, stderr: String? = nil,
        stderrToStdout: Bool = false
    ) throws {
        guard let path = argv.first else { throw ChildProcessError("nothing to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if stderrToStdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        // Nothing else of this process's: a socket the child held open would
        // outlive its close here (Foundation's Process closes them too).
        guard let closeFrom = Self.closeFrom else { throw ChildProcessError("posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later)") }
        _ = closeFrom(&actions, 3)
        // A clean signal state: the spawning thread's mask (a dispatch or NIO
        // thread blocks signals) and ignored signals would otherwise carry over.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let spawned: Int32
        if let environment {
            var cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for entry in cEnv { free(entry) } }
            spawned = posix_spawn(&pid, path, &actions, &attributes, &cArgs, &cEnv)
        } else {
            spawned = posix_spawn(&pid, path, &actions, &attributes, &cArgs, environ)
        }
        guard spawned == 0 else { throw ChildProcessError("cannot run \(path): \(String(cString: strerror(spawned)))") }
        self.pid = pid
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc ≥ 2.34's posix_spawn_file_actions_addclosefrom_np (Swift's
    /// Glibc module does not declare it).
    private static let closeFrom: CloseFrom? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: CloseFrom.self) }

    public func signal(_ signal: Int32) {
        if exit.withLock({ $0 }) == nil { kill(pid, signal) }
    }

    /// How the child ended; nil while it runs (never blocks).
    public var exitStatus: Exit? {
        exit.withLock { exit in
            if exit == nil {
                var status: Int32 = 0
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid {
                    exit = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
                } else if reaped < 0 && errno == ECHILD {
                    // Reaped elsewhere (SIGCHLD ignored): gone, status unknown; waiting would never end.
                    exit = .exited(255)
                }
            }
            return exit
        }
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Blocks the calling thread until the child exits (keep it off the
    /// concurrency pool).
    public func waitBlocking() -> Exit {
        while true {
            if let exit = exitStatus { return exit }
            usleep(2_000)
        }
    }

    /// Until the child exits, or nil after `timeout`.
    public func wait(timeout: Duration) async -> Exit? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let exit = exitStatus { return exit }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return exitStatus
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
