import ArgumentParser
import ChatProtocol

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Message retention: per-conversation settings and purges.",
        subcommands: [Set.self, Purge.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a conversation its own retention: DAYS, 'forever', or 'default' (retention.default_days).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Conversation id, or a room name.") var room: String
        @Argument(help: "Days (1-36500), forever, or default.") var retention: String

        func validate() throws {
            // Checked here, not in run(): ArgumentParser then shows this command's usage, not chatctl's.
            guard ["forever", "default"].contains(retention) || (UInt32(retention) ?? 0) > 0 else {
                throw ValidationError("retention must be a number of days (1-36500), forever or default; got '\(retention)'")
            }
        }

        func run() async throws {
            var q = Chatd_Control_V1_RetentionSetRequest()
            if let id = UInt64(room) { q.roomID = id } else { q.name = room }
            switch retention {
            case "forever": q.mode = .forever
            case "default": q.mode = .serverDefault
            default:
                q.mode = .days
                q.days = UInt32(retention) ?? 0
            }
            let r = try await global.call(.retentionSet, q, as: Chatd_Control_V1_RetentionSetResponse.self)
            global.output(r) {
                let kept = r.retentionDays == 0 ? "kept forever" : "kept \(r.retentionDays) days"
                return "conversation \(r.room.id) (\(r.room.name)): \(kept)\(r.serverDefault ? " (server default)" : "")"
                    + (r.room.purgedThroughSeq > 0 ? "; purged through seq \(r.room.purgedThroughSeq)" : "") + "\n"
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove expired messages and events now.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let r = try await global.call(
                .retentionPurge, Chatd_Control_V1_RetentionPurgeRequest(), as: Chatd_Control_V1_RetentionPurgeResponse.self)
            global.output(r) {
                "removed \(r.events) events (\(r.messages) messages) from \(r.conversations) conversations; "
                    + (r.defaultDays == 0 ? "default retention: forever\n" : "default retention: \(r.defaultDays) days\n")
            }
        }
    }
}
