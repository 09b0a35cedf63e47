import ArgumentParser
import ChatProtocol

struct FileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "file", abstract: "Inspect the file store and collect garbage.", subcommands: [Stats.self, GC.self])

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "File counts, bytes and the users using the most.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "How many users to list (at most 1000).") var top: UInt32 = 10

        func run() async throws {
            var q = Chatd_Control_V1_FileStatsRequest()
            q.topUsers = top
            let r = try await global.call(.fileStats, q, as: Chatd_Control_V1_FileStatsResponse.self)
            global.output(r) {
                """
                files:       \(r.files) (\(bytes(r.fileBytes)); \(r.referencedFiles) referenced by messages)
                contents:    \(r.contents) distinct (\(bytes(r.contentBytes)))
                uploads:     \(r.uploads) unfinished (\(bytes(r.uploadBytes)))
                disk:        \(bytes(r.diskBytes))

                """
                    + table(
                        ["USER ID", "USERNAME", "FILES", "BYTES", "UPLOADS", "UPLOAD BYTES"],
                        r.topUsers.map {
                            [String($0.userID), $0.username, String($0.files), bytes($0.bytes), String($0.uploads), bytes($0.uploadBytes)]
                        })
            }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove expired uploads, unreferenced files past their grace time, unused contents and strays now.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let r = try await global.call(.fileGC, Chatd_Control_V1_FileGcRequest(), as: Chatd_Control_V1_FileGcResponse.self)
            global.output(r) {
                """
                expired uploads removed: \(r.expiredUploads)
                files removed:           \(r.files)
                contents removed:        \(r.contents) (\(bytes(r.contentBytes)))
                strays removed:          \(r.strays)

                """
            }
        }
    }
}
