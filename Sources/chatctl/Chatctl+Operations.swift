import ArgumentParser
import ChatProtocol

struct Broadcast: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a system message to one room or group, or a system notice to everyone.",
        discussion: """
            --room: a SYSTEM message from the server in that room's history (every member sees it).
            --everyone: a SYSTEM_NOTICE account event to every account that is not disabled: pushed to
            those online, delivered by Sync to the others. Room histories are not touched.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "A room or group (id or room name).") var room: String?
    @Flag(help: "Every account that is not disabled.") var everyone = false
    @Option(help: "Idempotency key for --room: a retry with the same id is not sent twice.") var id: String?
    @Argument(help: "The text (as a message's text).") var text: String

    func validate() throws {
        guard (room != nil) != everyone else { throw ValidationError("give --room ROOM or --everyone") }
        if id != nil && everyone { throw ValidationError("--id applies to --room only") }
    }

    func run() async throws {
        var q = Chatd_Control_V1_BroadcastRequest()
        if let room { q.room = roomRef(room) }
        q.everyone = everyone
        q.text = text
        q.clientMsgID = id ?? ""
        let r = try await global.call(.broadcast, q, as: Chatd_Control_V1_BroadcastResponse.self)
        global.output(r) {
            everyone
                ? "notice given to \(r.usersNotified) users (\(r.onlineUsers) online)\n"
                : "\(r.duplicate ? "already sent" : "sent") to \(room ?? "") as seq \(r.event.seq)\n"
        }
    }
}
