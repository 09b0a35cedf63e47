import ChatConfig
import Foundation
import Testing

struct ControlSocketLocatorTests {
    static func locator(
        socket: String? = nil, config: String? = nil, env: [String: String] = [:], files: [String: String] = [:]
    ) -> ControlSocketLocator {
        ControlSocketLocator(
            socketOption: socket, configOption: config, environment: env, readFile: { files[$0] },
            fileExists: { files[$0] != nil })
    }

    @Test func theOrderIsOptionEnvironmentConfigSystemConfigDefault() throws {
        let system = ["/etc/chatd/chatd.conf": "[control]\nsocket = \"/run/chatd/chatd.sock\"\n"]
        #expect(try Self.locator(socket: "/a.sock", env: ["CHATD_SOCKET": "/b.sock"], files: system).locate().path == "/a.sock")
        #expect(try Self.locator(env: ["CHATD_SOCKET": "/b.sock"], files: system).locate().path == "/b.sock")
        let mine = system.merging(["/srv/chat.conf": "[storage]\ndata_dir = \"/srv/chat\"\n"]) { a, _ in a }
        #expect(try Self.locator(config: "/srv/chat.conf", files: mine).locate().path == "/srv/chat/chatd.sock")
        let found = try Self.locator(files: system).locate()
        #expect(found.path == "/run/chatd/chatd.sock" && found.source == "/etc/chatd/chatd.conf" && found.warning == nil)
        #expect(try Self.locator().locate() == .init(path: "./chatd-data/chatd.sock", source: "the default"))
        // An empty CHATD_SOCKET is not a choice.
        #expect(try Self.locator(env: ["CHATD_SOCKET": ""]).locate().source == "the default")
    }

    @Test func aConfigThatDoesNotLoadStillNamesItsSocketWithAWarning() throws {
        let halfEdited = """
            [storage]
            data_dir = "/var/lib/chatd"
            [control]
            socket = "/run/chatd/chatd.sock"
            [server]
            listen = "0.0.0.0:76
            """
        let choice = try Self.locator(config: "/etc/chatd/chatd.conf", files: ["/etc/chatd/chatd.conf": halfEdited]).locate()
        #expect(choice.path == "/run/chatd/chatd.sock")
        #expect(choice.warning?.contains("does not load") == true)
        let noSocketLine = try Self.locator(config: "/c", files: ["/c": "[storage]\ndata_dir = \"/d\"\nbogus = \n"]).locate()
        #expect(noSocketLine.path == "/d/chatd.sock" && noSocketLine.warning != nil)
    }

    @Test func aConfigFileThatCannotBeReadIsAnError() {
        #expect(throws: ControlSocketLocator.Failure.unreadableConfig(path: "/nope.conf", reason: "no such file")) {
            try Self.locator(config: "/nope.conf").locate()
        }
    }
}

struct ConfigFileReadingTests {
    /// Pipes and devices load like files; a huge file is refused before parsing.
    @Test func devicesLoadAndHugeFilesAreRefused() throws {
        #expect(try Config.load(path: "/dev/null") == Config.defaults.setting("storage.data_dir", .string("./chatd-data")).withSource("/dev/null"))
        let big = NSTemporaryDirectory() + "chatd-big-\(UInt32.random(in: 0...UInt32.max)).conf"
        defer { try? FileManager.default.removeItem(atPath: big) }
        try Data(repeating: UInt8(ascii: "#"), count: (1 << 20) + 1).write(to: URL(fileURLWithPath: big))
        #expect(throws: ConfigError.self) { try Config.load(path: big) }
        do {
            _ = try Config.parse("[server]\nlisten = \"127.0.0.1:1\"\u{0}\n[storage]\n", file: "c")
            Issue.record("a NUL byte passed")
        } catch {
            #expect(error.line == 2 && error.reason == "contains a NUL byte")
        }
        do {
            _ = try Config.load(path: "/nonexistent/chatd.conf")
        } catch {
            #expect(error.reason == "cannot read: no such file")
        }
    }
}

extension Config {
    func withSource(_ path: String) -> Config {
        var copy = self
        copy.source = path
        return copy
    }
}
