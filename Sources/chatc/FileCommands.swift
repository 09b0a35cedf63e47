import ArgumentParser
import ChatClient
import ChatCore
import ChatCrypto
import ChatProtocol
import Foundation

struct SendFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-file",
        abstract: "Upload a file and send it (as an image when it is one). Run again to resume an interrupted upload.")
    @OptionGroup var options: ServerOptions
    @Argument(help: "Conversation: id, #room or @user") var conversation: String
    @Argument(help: "The file to send.") var path: String
    @Option(help: "MIME type (default: from the content, else the extension).") var type: String?
    @Option(help: "A caption.") var caption: String = ""

    func run() async throws {
        try await chatc.run {
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(path)") }
            let (c, _) = try await resumed(options)
            let mime = type ?? guessType(data, name: path)
            let name = (path as NSString).lastPathComponent
            let file = try await c.uploadFile(data, name: name, mimeType: mime, blake2b: Data(blake2b(data)))
            var a = Chatd_V1_Attachment()
            a.fileID = file.fileID
            let kind: Chatd_V1_MessageType = file.mimeType.hasPrefix("image/") ? .image : .file
            let r = try await c.send(room: try await conversationID(conversation, c), text: caption, type: kind, attachment: a)
            print("sent \(name) (\(file.size) bytes, \(file.mimeType), file \(file.fileID)) as seq \(r.event.seq)")
        }
    }
}

struct Download: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Download a file by its id (checks its BLAKE2b-256).")
    @OptionGroup var options: ServerOptions
    @Argument var fileID: String
    @Argument(help: "Where to write it (default: its name, in the current directory).") var path: String?
    @Flag(help: "Overwrite the file when it exists.") var force = false

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            let info = try await c.fileInfo(fileID)
            let target = path ?? (info.name as NSString).lastPathComponent
            let exists = { FileManager.default.fileExists(atPath: target) }
            if !force, exists() { throw CLIError("\(target) exists (--force to overwrite it)") }
            let data = try await c.downloadFile(fileID)
            guard Data(blake2b(data)) == info.blake2B else { throw CLIError("the download does not match the file's hash") }
            if !force, exists() { throw CLIError("\(target) appeared during the download (--force to overwrite it)") }
            guard FileManager.default.createFile(atPath: target, contents: data) else { throw CLIError("cannot write \(target)") }
            print("wrote \(target) (\(data.count) bytes, \(info.mimeType))")
        }
    }
}

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search messages: words, \"phrases\", pre*, a OR b, -word.",
        discussion: "Put terms that start with '-' after '--': chatc search -- cat -dog")
    @OptionGroup var options: ServerOptions
    @Argument(parsing: .remaining) var words: [String]
    @Option(name: .customLong("in"), help: "Only this conversation (id, #room or @user).") var conversation: String?
    @Flag(help: "Best matches first instead of newest first.") var rank = false
    @Option var limit: UInt32 = 20

    func run() async throws {
        try await chatc.run {
            let (c, _) = try await resumed(options)
            var id: UInt64 = 0
            if let conversation { id = try await conversationID(conversation, c) }
            let terms = words.first == "--" ? Array(words.dropFirst()) : words
            let r = try await c.searchMessages(
                terms.joined(separator: " "), conversation: id, order: rank ? .rank : .newest, limit: limit)
            let names = Names(c)
            // The matched words in bold on a terminal, plain in a pipe or with NO_COLOR.
            let (bold, plain) = colorWanted() ? ("\u{1B}[1m", "\u{1B}[0m") : ("", "")
            for hit in r.hits {
                let who = await names.name(hit.senderID, in: hit.conversationID)
                let snippet = hit.snippet.replacingOccurrences(of: "\u{2}", with: bold).replacingOccurrences(of: "\u{3}", with: plain)
                print("[\(time(hit.createdAtMs))] \(await names.title(hit.conversationID)) \(hit.seq) \(who): \(snippet)")
            }
            if r.hits.isEmpty { print("no messages found") }
        }
    }
}

func blake2b(_ data: Data) -> [UInt8] {
    let hasher = Blake2bStream()
    data.withUnsafeBytes { hasher.update($0) }
    return hasher.finish()
}

/// The content's type when its leading bytes say it, else from the extension.
func guessType(_ data: Data, name: String) -> String {
    if let sniffed = ContentPolicy.sniff(Array(data.prefix(64))) { return sniffed }
    switch (name as NSString).pathExtension.lowercased() {
    case "txt", "log": return "text/plain"
    case "md": return "text/markdown"
    case "csv": return "text/csv"
    case "json": return "application/json"
    default: return "application/octet-stream"
    }
}
