import ChatDaemon
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One chatd per data directory, in process (the binary's exit status 73 is
/// ProcessTests.secondChatdOnTheSameDataDirectoryExits73). Three starts on
/// PostgreSQL (a database each, migrated) took over a minute in a loaded full run.
@Suite(.timeLimit(.minutes(3)))
struct InstanceLockTests {
    @Test func aSecondDaemonOnTheSameDirectoryIsRefusedUntilTheFirstStops() async throws {
        let first = try await TestServer.start()
        let dir = first.dataDir
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lockFile = dir + "/" + DataDirectoryLock.fileName
        // flock belongs to the open file, so a second open in this process conflicts too.
        do {
            let second = try await TestServer.start(dataDir: dir)
            await second.stop(removeData: false)
            Issue.record("a second daemon started on \(dir)")
        } catch let error as InstanceConflictError {
            #expect(error.resource == .dataDirectory(dataDir: dir, lockFile: lockFile, holderPID: getpid()))
        }
        // The refused start touched nothing: the first one still serves.
        _ = try await first.user("still-here", password: "password1")
        await first.stop(removeData: false)

        // Stopping released the lock.
        let next = try await TestServer.start(dataDir: dir)
        let auth = try await next.connect().login(username: "still-here", password: "password1")
        #expect(auth.user.username == "still-here")
        await next.stop(removeData: false)
    }

    @Test func shutdownLeavesASocketFileThatIsNotItsOwn() async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(atPath: server.dataDir) }
        let path = server.daemon.controlSocketPath
        // Something else now sits at the path (another process replaced the file).
        #expect(unlink(path) == 0)
        #expect(FileManager.default.createFile(atPath: path, contents: Data("not chatd's".utf8)))
        await server.stop(removeData: false)
        #expect(FileManager.default.contents(atPath: path) == Data("not chatd's".utf8))
    }
}
