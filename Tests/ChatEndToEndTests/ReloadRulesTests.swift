import ChatConfig
import ChatCore
import Testing

struct ReloadRulesTests {
    /// A file that is valid as a whole can pair a reloadable key with a
    /// restart-only one it depends on: the reloadable key waits too.
    @Test func aReloadableKeyThatNeedsARestartOnlyKeyWaitsForTheRestart() async throws {
        try await withServer({ $0.setting("server.max_frame_bytes", .int(65_536)).setting("files.max_chunk_bytes", .int(32_768)) }) { server in
            let running = server.daemon.config
            let file = running
                .setting("server.max_frame_bytes", .int(1_048_576))
                .setting("limits.max_message_bytes", .int(262_144))
                .setting("files.max_chunk_bytes", .int(65_536))
                .setting("limits.max_room_name_bytes", .int(100))
            #expect(file.relationProblem() == nil)
            let result = server.daemon.reload(file)
            #expect(result.applied == ["limits.max_room_name_bytes"])
            #expect(Set(result.needRestart) == ["server.max_frame_bytes", "limits.max_message_bytes", "files.max_chunk_bytes"])
            let now = server.daemon.config
            #expect(now[.limitsMaxMessageBytes] == running[.limitsMaxMessageBytes])
            #expect(now[.filesMaxChunkBytes] == 32_768 && now[.limitsMaxRoomNameBytes] == 100)
            #expect(now.relationProblem() == nil)
        }
    }
}
