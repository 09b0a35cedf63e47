import ChatCore
@testable import ChatConfig
import Foundation
import Testing

struct ConfigTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    /// chatd.conf.example is generated from the table; a key missing from it,
    /// or a default that differs, fails here.
    @Test func exampleFileDocumentsEveryKeyWithItsDefault() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("chatd.conf.example"), encoding: .utf8)
        #expect(text == ConfigTable.exampleFile(), "regenerate with: chatd --print-default-config > chatd.conf.example")
        for key in ConfigTable.keys {
            #expect(text.contains("#\(key.name) = \(key.defaultValue.tomlLiteral)\n"), "\(key.path) missing")
        }
        // Uncommented, the example is a valid config equal to the defaults.
        let uncommented = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("#") && line.contains(" = ") && !line.hasPrefix("# ") ? String(line.dropFirst()) : String(line)
        }.joined(separator: "\n")
        let parsed = try Config.parse(uncommented, file: "example")
        #expect(parsed.values == Config.defaults.values)
    }

    @Test func tableIsConsistent() {
        #expect(Set(ConfigTable.keys.map(\.path)).count == ConfigTable.keys.count)
        for key in ConfigTable.keys {
            #expect(ConfigTable.sections.contains(key.section))
            #expect(!key.help.isEmpty)
        }
        for path in ["server.listen", "storage.data_dir", "control.socket"] { #expect(ConfigTable.key(path) != nil) }
    }

    @Test func embeddedDefaults() {
        let c = Config.defaults
        #expect(c.listen == ListenAddress(host: "127.0.0.1", port: 7600))
        #expect(c.dataDir == "./chatd-data")
        #expect(c.controlSocketPath == "./chatd-data/chatd.sock")
        #expect(c[.storageSynchronous] == "full")
    }

    @Test func errorsNameFileLineKeyAndReason() {
        func error(_ text: String) -> ConfigError? {
            do {
                _ = try Config.parse(text, file: "chatd.conf")
                return nil
            } catch {
                return error
            }
        }
        #expect(error("[server]\nlisten = \"0.0.0.0:1\"\n\n[nope]\nx = 1\n")?.description == "chatd.conf:4: nope: unknown section [nope]")
        #expect(error("[server]\n\nbogus = 1\n")?.description == "chatd.conf:3: server.bogus: unknown key")
        // Did you mean: a misspelt key, a key in the wrong section, a misspelt section, a key above every section.
        #expect(error("[server]\nlisten_adress = \"x\"\n")?.reason == "unknown key")
        #expect(error("[server]\nidle_timeout_second = 5\n")?.reason == "unknown key; did you mean idle_timeout_seconds?")
        #expect(error("[server]\ndata_dir = \"/x\"\n")?.reason == "unknown key; did you mean [storage] data_dir?")
        #expect(error("[sever]\nlisten = \"x\"\n")?.reason == "unknown section [sever]; did you mean [server]?")
        #expect(error("data_dir = \"/x\"\n[server]\n")?.reason == "\"data_dir\" is outside every [section]; it belongs in [storage]")
        #expect(error("[server]\nmax_frame_bytes = \"big\"\n")?.description == "chatd.conf:2: server.max_frame_bytes: expected an integer")
        #expect(error("[server]\nmax_frame_bytes = 1023\n")?.reason == "1023 is out of range 1024..16777216")
        #expect(error("[server]\nmax_frame_bytes = 1024\n")?.reason == "must be at least 1024 bytes below server.max_frame_bytes")
        #expect(error("[server]\nmax_frame_bytes = 65536\n")?.key == "files.max_chunk_bytes")
        // Default rooms are checked with the file: a reload cannot report a bad name as applied.
        #expect(error("[rooms]\ndefault = [\"general\", \"bad\\u0007bell\"]\n")?.key == "rooms.default")
        #expect(error("[rooms]\ndefault = [\"  \"]\n")?.key == "rooms.default")
        #expect(error("[rooms]\ndefault = [\"general\", \"random\"]\n") == nil)
        #expect(error("[server]\nmax_frame_bytes = 65536\n[files]\nmax_chunk_bytes = 61440\n") == nil)
        #expect(error("[server]\nmax_frame_bytes = 16777216\n") == nil)
        #expect(error("[server]\nmax_frame_bytes = 16777217\n")?.key == "server.max_frame_bytes")
        #expect(error("[server]\nlisten = \"localhost\"\n")?.key == "server.listen")
        #expect(error("[server]\nlisten = \"127.0.0.1:70000\"\n")?.key == "server.listen")
        #expect(error("[storage]\nsynchronous = \"sometimes\"\n")?.reason.contains("not one of") == true)
        #expect(error("[accounts]\nregistration_open = 1\n")?.reason == "expected true or false")
        #expect(error("[accounts]\npassword_min_bytes = 100\npassword_max_bytes = 50\n")?.key == "accounts.password_min_bytes")
        #expect(error("[push]\nvapid_subject = \"ops@example.org\"\n")?.key == "push.vapid_subject")
        #expect(error("[push]\nvapid_subject = \"mailto:ops@example.org\"\n") == nil)
        #expect(error("[server\n")?.line == 1)
        #expect(error("listen = 1\n")?.key == "listen")
    }

    @Test func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:0") == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(ListenAddress("[::1]:7600") == ListenAddress(host: "::1", port: 7600))
        #expect(ListenAddress("[::1]:7600")?.description == "[::1]:7600")
        for bad in ["", ":1", "host", "::1:7600", "h:-1", "h:65536", "[::1]7600"] { #expect(ListenAddress(bad) == nil, "\(bad)") }
    }

    @Test func changedKeys() throws {
        let a = Config.defaults
        let b = try Config.parse("[limits]\nmax_message_bytes = 100\n[server]\nevent_loop_threads = 3\n", file: "x")
        #expect(Set(b.changedKeys(from: a).map(\.path)) == ["limits.max_message_bytes", "server.event_loop_threads"])
    }

    @Test func entriesRedactSecrets() {
        let keys = [
            ConfigKey("storage", "data_dir", .path, .string("./chatd-data"), "data"),
            ConfigKey("storage", "synchronous", .string, .string(""), "pretend secret", secret: true),
        ]
        var entries = Config.defaults.setting("storage.data_dir", .string("/srv/chat")).entries(keys: keys)
        #expect(entries[0] == Config.Entry(key: "storage.data_dir", value: "\"/srv/chat\"", defaultValue: "\"./chatd-data\"", reloadable: false, secret: false, isDefault: false))
        #expect(entries[1].value == Config.redacted && !entries[1].isDefault)
        entries = Config.defaults.setting("storage.synchronous", .string("")).entries(keys: keys)
        #expect(entries[1].value == "\"\"" && entries[1].isDefault)
        #expect(Config.defaults.entries().count == ConfigTable.keys.count)
        #expect(ConfigTable.key("log.level")?.reloadable == true)
    }

    /// Every default has its key's type and lies within its bounds, and the
    /// settings structs start from these defaults (they have none of their own).
    @Test func defaultsFitTheirKeysAndSeedTheSettingsStructs() {
        for key in ConfigTable.keys {
            switch (key.type, key.defaultValue) {
            case (.int(let min, let max), .int(let value)): #expect(value >= min && value <= max, "\(key.path)")
            case (.choice(let options), .string(let value)): #expect(options.contains(value), "\(key.path)")
            case (.string, .string), (.path, .string), (.address, .string), (.bool, .bool), (.stringList, .strings): break
            default: Issue.record("\(key.path): default \(key.defaultValue) is not a \(key.type)")
            }
        }
        #expect(Set(ConfigTable.keys.map(\.path)).count == ConfigTable.keys.count)
        let c = Config.defaults
        #expect(Int64(DomainLimits().maxMessageBytes) == c[.limitsMaxMessageBytes])
        #expect(DomainLimits().tokenTTLMs == c[.accountsTokenTtlDays] * 86_400_000)
        #expect(FileLimits().maxFileBytes == c[.filesMaxFileBytes])
        #expect(FileLimits().policy == ContentPolicy(allowed: c[.filesAllowedTypes]))
    }

    @Test func metricsListenIsEmptyOrLoopback() throws {
        for ok in ["", "127.0.0.1:9464", "127.1.2.3:0", "[::1]:9464", "localhost:9464"] {
            #expect(throws: Never.self) { try Config.parse("[metrics]\nlisten = \"\(ok)\"\n", file: "t") }
        }
        for bad in ["0.0.0.0:9464", "10.0.0.1:9464", "[::]:9464", "127.0.0.1", "example.org:80", "127.0.0.256:1"] {
            #expect(throws: ConfigError.self, "\(bad)") { try Config.parse("[metrics]\nlisten = \"\(bad)\"\n", file: "t") }
        }
        #expect(ListenAddress(Config.defaults[.metricsListen]) == nil)
    }

    /// A templated config that rendered data_dir as "" passed --check-config
    /// and then failed to start with exit 1 (not 78, a config error).
    @Test func anEmptyDataDirIsRefused() throws {
        for bad in ["", "  "] {
            #expect(throws: ConfigError.self) { try Config.parse("[storage]\ndata_dir = \"\(bad)\"\n", file: "t") }
        }
        #expect(throws: Never.self) { try Config.parse("[storage]\ndata_dir = \"/var/lib/chatd\"\n", file: "t") }
    }
}
