import ChatDaemon
import Foundation
import Logging
import Testing

/// Log lines for a terminal, for the journal, and as JSON (issue 16 item 6).
struct LogFormatTests {
    static let date = Date(timeIntervalSince1970: 1_764_650_000.25)

    @Test func journalLinesCarryThePriorityAndNoTimestamp() {
        let handler = LineLogHandler(label: "chatd", format: .text, journal: true) { _ in }
        #expect(
            handler.line(level: .warning, message: "disk low", metadata: ["chatd.path": "/x", "a": "1"], at: Self.date)
                == "<4>warning chatd: disk low a=1 chatd.path=/x\n")
        #expect(handler.line(level: .error, message: "m", metadata: [:], at: Self.date) == "<3>error chatd: m\n")
        #expect(handler.line(level: .debug, message: "m", metadata: [:], at: Self.date).hasPrefix("<7>"))
    }

    @Test func terminalLinesStartWithTheUTCTime() {
        let handler = LineLogHandler(label: "chatd", format: .text, journal: false) { _ in }
        #expect(handler.line(level: .info, message: "up", metadata: [:], at: Self.date) == "2025-12-02T04:33:20.250Z info chatd: up\n")
    }

    @Test func jsonLinesAreOneObjectEach() throws {
        let handler = LineLogHandler(label: "chatd", format: .json, journal: false) { _ in }
        let line = handler.line(level: .notice, message: "say \"hi\"\n", metadata: ["chatd.peer": "127.0.0.1"], at: Self.date)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(object == ["time": "2025-12-02T04:33:20.250Z", "level": "notice", "label": "chatd", "message": "say \"hi\"\n", "chatd.peer": "127.0.0.1"])
        let journal = LineLogHandler(label: "chatd", format: .json, journal: true) { _ in }
        #expect(journal.line(level: .critical, message: "x", metadata: [:], at: Self.date) == "<2>{\"label\":\"chatd\",\"level\":\"critical\",\"message\":\"x\"}\n")
    }

    @Test func theJournalIsRecognisedOnlyWhenStderrIsIt() {
        #expect(!LineLogHandler.stderrIsJournal(environment: [:]))
        #expect(!LineLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "1:2"]))
        var info = stat()
        fstat(STDERR_FILENO, &info)
        #expect(LineLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"]))
    }
}
