import ChatConfig
import ChatFuzzing
import Testing

/// Every input a fuzzer crashed on, replayed through the same harness as
/// the fuzz target (tools/fuzz), plus the smallest form of the bug. A
/// regression aborts this test process, as it aborted the fuzzer.
struct FuzzRegressionTests {
    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            out.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return out
    }

    /// FuzzConfig, crash-eb8795901de74e37a0efdfae17b0de1d2734352d: a table
    /// header `[!` made toml++ (inside TOMLKit) fail an assertion and abort,
    /// at startup, in --check-config and on SIGHUP reload. Config.parse now
    /// refuses such lines before TOMLKit sees them.
    @Test func tableHeaderWithoutKeyAborted() throws {
        let crash = Self.bytes(
            hex: "5b7365727665725d0a6c697374656e203d20225b3a3a315d3a37363030220a6d61785f6672616d655f6279746573203d2032"
                + "3039373135320a6576656e745f6c6f6f705f74687265616473203d20320a0a5b21000000000000000a646174615f646972"
                + "203d20222f7661722f6c69622f6368617464220a73796e6368726f6e6f7573203d20226e6f726d616c220a0a5b6d657472"
                + "6963735d0a6c697374656e203d20226c6f63616c686f73743a39343634220a0a5b726f6f6d735d0a64656661756c74203d"
                + "205b2267656e6572616c222c202272616e646f6d225d0a0a5b66696c65735d0a616c6c6f7765645f7479706573203d205b"
                + "22696d6167652f706e67222c2022746578742f706c61696e225d0a6d61785f636875ffffffffffffff00203d2036353533"
                + "360a0a5b726574656e74696f6e5d0a6465663d203236323134340a5b6d6574726963735d0a6c61756c745f64617973203d"
                + "2039300a")
        #expect(crash.count == 348)
        #expect(ConfigFuzzing.check(crash) == nil)

        let aborted = ["[!", "[\n", "[server]\n  [ #x]", "[[!x]]", "[[[a]]]", "[\t.a]", "\u{FEFF}[!", "[\u{e9}]", "[\r\n"]
        for text in aborted {
            #expect(ConfigFuzzing.check(Array(text.utf8)) == nil, "\(text.debugDescription)")
            #expect(throws: ConfigError.self, "\(text.debugDescription)") { try Config.parse(text, file: "t.conf") }
        }
        do {
            _ = try Config.parse("[server]\nlisten = \"127.0.0.1:1\"\n\n[!x]\n", file: "t.conf")
            Issue.record("accepted")
        } catch {
            #expect(error.line == 4 && error.key == nil)
        }
        // Headers toml++ handles itself are left to it; strings and comments are not headers.
        _ = try Config.parse("  [ server ]\n[\"storage\"]\n['log']\n", file: "t.conf")
        #expect(throws: ConfigError.self) { try Config.parse("[]\n", file: "t.conf") }
        #expect(throws: ConfigError.self) { try Config.parse("[[server]]\n", file: "t.conf") }
        _ = try Config.parse("[storage] # [!\ndata_dir = \"\"\"\n[!x]\"\"\"\n", file: "t.conf")
    }

    /// FuzzConfig, crash-9c9eacc01870d80257b7cffc461328d7705e5f33: a date,
    /// `T` and no digit (`dir = 1979-05-27T\u{1}273:`) made toml++'s
    /// parse_time fail an assertion and abort.
    @Test func dateWithoutTimeAborted() throws {
        let crash = Self.bytes(
            hex: "2320646f74746564206b6579732c20696e6c696e65207461626c65732c206c69746565735d5d0a646972203d20313937392d"
                + "30352d32375401313237333a0000303a30305ae0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"
                + "e0e0e044e0e0e02d000000e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e06c696e65207461626c65732c206c6974656573e0e0e0e0"
                + "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0a0e0e0e0e0e0e0e0e0e0e0e0e0"
                + "e0e0e0e0e0e0e00a")
        #expect(crash.count == 208)
        #expect(ConfigFuzzing.check(crash) == nil)

        let aborted = ["x = 1979-05-27tx:", "x = 1979-05-27T:1", "x = [1979-05-27Tx:]", "x = {a=1979-05-27T:}", "[server]\nx = 1979-05-27T"]
        for text in aborted {
            #expect(ConfigFuzzing.check(Array(text.utf8)) == nil, "\(text.debugDescription)")
            #expect(throws: ConfigError.self, "\(text.debugDescription)") { try Config.parse(text, file: "t.conf") }
        }
        // In a string or a comment it is text.
        let config = try Config.parse("[storage] # 1979-05-27Tx:\ndata_dir = \"/srv/1979-05-27Tx:\"\n", file: "t.conf")
        #expect(config.dataDir == "/srv/1979-05-27Tx:")
    }

    /// FuzzConfig, crash-96c2646efdebc8caf420ff38b7e98c8fc84fb22c: `}` where
    /// an array expects a value (`X = [ }`) made toml++'s parse_value fail an
    /// assertion and abort; a plausible typo in `rooms.default` or
    /// `files.allowed_types`.
    @Test func closeBraceInArrayAborted() throws {
        let crash = Self.bytes(hex: "2320646f740a58203d205b207d5c75a0323a30305a0a")
        #expect(ConfigFuzzing.check(crash) == nil)
        let aborted = ["x = [}", "x = [ 1, }", "[rooms]\ndefault = [\"general\", }", "x = [ # c\n }", "x = {a=[}]}", "x = [[}]]"]
        for text in aborted {
            #expect(ConfigFuzzing.check(Array(text.utf8)) == nil, "\(text.debugDescription)")
            #expect(throws: ConfigError.self, "\(text.debugDescription)") { try Config.parse(text, file: "t.conf") }
        }
        let config = try Config.parse("[rooms]\ndefault = [\"a,}\", # [}\n  \"b\",\n]\n", file: "t.conf")
        #expect(config[.roomsDefault] == ["a,}", "b"])
    }
}
