import ArgumentParser
import ChatClient
import ChatProtocol
import Foundation

struct Edit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Change the text of one of your messages.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or @user") var conversation: String
    @Argument(help: "The message's seq.") var seq: UInt64
    @Argument(parsing: .remaining, help: "The new text ('-' or none: read from stdin).") var words: [String] = []

    func run() async throws {
        try await chatc.run {
            let text = try messageText(words)
            try await inConversation(options, conversation) { c, id in
                let r = try await c.edit(id, seq: seq, text: text)
                print("edited \(seq) (seq \(r.event.seq))")
            }
        }
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete one of your messages (or any, as a moderator).")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or @user") var conversation: String
    @Argument(help: "The message's seq.") var seq: UInt64

    func run() async throws {
        try await chatc.run {
            try await inConversation(options, conversation) { c, id in
                let r = try await c.deleteMessage(id, seq: seq)
                print("deleted \(seq) (seq \(r.event.seq))")
            }
        }
    }
}

struct React: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add (or with --remove take back) a reaction to a message.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or @user") var conversation: String
    @Argument(help: "The message's seq.") var seq: UInt64
    @Argument(help: "The emoji.") var emoji: String
    @Flag(help: "Remove the reaction instead.") var remove = false

    func run() async throws {
        try await chatc.run {
            try await inConversation(options, conversation) { c, id in
                _ = try await c.react(id, seq: seq, emoji: emoji, add: !remove)
                print(remove ? "removed \(emoji) from \(seq)" : "reacted \(emoji) to \(seq)")
            }
        }
    }
}

struct Leave: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Leave a room or group.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or a group's name") var conversation: String

    func run() async throws {
        try await chatc.run {
            try await inConversation(options, conversation) { c, id in
                try await c.leave(id)
                print("left \(conversation)")
            }
        }
    }
}

struct Members: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The members of a conversation, with their roles.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or @user") var conversation: String

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            var q = Chatd_V1_ListMembersRequest()
            q.conversationID = try await conversationID(conversation, c)
            q.limit = 500
            while true {
                let page = try await c.call(.listMembers, q, as: Chatd_V1_ListMembersResponse.self)
                for m in page.members {
                    let muted = m.mutedUntilMs > 0 ? "\tmuted until \(time(m.mutedUntilMs))" : ""
                    let role = "\(m.role)"
                    print("\(m.user.username)\t\(role)\t\(m.user.displayName)\(muted)")
                }
                guard page.hasMore_p, let last = page.members.last else { break }
                q.afterUserID = last.user.id
            }
        }
    }
}

/// Resumes the session and runs `body` with the conversation `reference` names.
func inConversation(
    _ options: ServerOptions, _ reference: String, _ body: (ChatConnection, UInt64) async throws -> Void
) async throws {
    let (c, _) = try await resumed(options)
    try await body(c, try await conversationID(reference, c))
}

/// A message's text: the words given, else (with `-` or no words, when stdin
/// is not a terminal) all of stdin without its final newline.
func messageText(_ words: [String]) throws -> String {
    let stdinIsTerminal = isatty(STDIN_FILENO) != 0
    guard words == ["-"] || (words.isEmpty && !stdinIsTerminal) else {
        guard !words.isEmpty else { throw CLIError("no text given (give it as arguments, or '-' to read stdin)") }
        return words.joined(separator: " ")
    }
    let data = FileHandle.standardInput.readDataToEndOfFile()
    var text = String(decoding: data, as: UTF8.self)
    if text.hasSuffix("\n") { text.removeLast() }
    guard !text.isEmpty else { throw CLIError("no text on stdin") }
    return text
}
