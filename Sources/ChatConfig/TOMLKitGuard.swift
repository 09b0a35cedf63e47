/// Finds the text that makes TOMLKit's parser (toml++ 3.4.0, compiled with
/// its assertions on) abort the process instead of reporting an error, so
/// that `Config.parse` refuses it with the line first. An abort there killed
/// chatd at startup, `chatd --check-config`, and a running chatd on SIGHUP or
/// `chatctl reload`. The package cannot be patched from here; each case below
/// is an assertion FuzzConfig reached:
///
/// - a table header whose key does not start with a key character, a quote
///   or `]`: `[!x]`, `[` alone on a line (toml++ parse_table_header calls
///   parse_key, which asserts);
/// - a date, `T` and no digit after it, in a value: `1979-05-27Tx:`
///   (parse_date_time calls parse_time, which asserts a digit);
/// - `}` where an array expects a value: `[}`, `["a", }` (parse_array calls
///   parse_value, which asserts it is not at a value terminator).
///
/// Strings and comments are skipped. Everything refused is invalid TOML
/// anyway, except a line inside a multi-line array that starts with `[` and
/// no key (a nested array, which no chatd.conf key takes). More such
/// assertions may exist: toml++ has 68 TOML_ASSERT_ASSUME checks.
enum TOMLKitGuard {
    struct Trap: Equatable {
        var line: Int
        var reason: String
    }

    static func trap(in text: String) -> Trap? {
        let bytes = Array(text.utf8)
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0  // toml++ skips a BOM
        var line = 1
        var atLineStart = true
        var mode = Mode.code
        /// The last byte of code before this one, blanks, line breaks and comments aside.
        var previous: UInt8?
        func at(_ token: [UInt8]) -> Bool { bytes[i...].starts(with: token) }
        while i < bytes.count {
            let byte = bytes[i]
            if byte == newline {
                line += 1
                atLineStart = true
                if mode != .multiLineBasic && mode != .multiLineLiteral { mode = .code }
                i += 1
                continue
            }
            switch mode {
            case .comment:
                i += 1
            case .basic, .multiLineBasic:
                if byte == backslash {
                    // An escape; a line-ending backslash leaves the newline to be counted.
                    i += i + 1 < bytes.count && bytes[i + 1] != newline ? 2 : 1
                } else if mode == .multiLineBasic, at(tripleQuote) {
                    mode = .code
                    i += 3
                } else {
                    if mode == .basic && byte == quote { mode = .code }
                    i += 1
                }
            case .literal:
                if byte == apostrophe { mode = .code }
                i += 1
            case .multiLineLiteral:
                if at(tripleApostrophe) {
                    mode = .code
                    i += 3
                } else {
                    i += 1
                }
            case .code:
                if atLineStart && (byte == space || byte == tab) {
                    i += 1
                    continue
                }
                if atLineStart && byte == openBracket && !headerStartsWithKey(bytes, at: i) {
                    return Trap(line: line, reason: "a line starting with '[' must be a table header such as [server]")
                }
                atLineStart = false
                if byte == closeBrace && (previous == openBracket || previous == comma) {
                    return Trap(line: line, reason: "'}' where an array expects a value")
                }
                if byte != space && byte != tab && byte != carriageReturn && byte != hash { previous = byte }
                if byte == hash {
                    mode = .comment
                    i += 1
                } else if at(tripleQuote) {
                    mode = .multiLineBasic
                    i += 3
                } else if byte == quote {
                    mode = .basic
                    i += 1
                } else if at(tripleApostrophe) {
                    mode = .multiLineLiteral
                    i += 3
                } else if byte == apostrophe {
                    mode = .literal
                    i += 1
                } else if isDateWithoutTime(bytes, at: i) {
                    return Trap(line: line, reason: "a date followed by 'T' must be followed by a time (HH:MM:SS)")
                } else {
                    i += 1
                }
            }
        }
        return nil
    }

    private enum Mode {
        case code, comment, basic, literal, multiLineBasic, multiLineLiteral
    }

    /// After `[` or `[[` and blanks: a key character, a quote or `]`.
    private static func headerStartsWithKey(_ bytes: [UInt8], at start: Int) -> Bool {
        var j = start + 1
        func skipBlanks() { while j < bytes.count, bytes[j] == space || bytes[j] == tab { j += 1 } }
        skipBlanks()
        if j < bytes.count, bytes[j] == openBracket {
            j += 1
            skipBlanks()
        }
        guard j < bytes.count else { return false }
        switch bytes[j] {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "-"), quote, apostrophe, UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }

    /// `DDDD-DD-DD` then `T` or `t` and no digit, not preceded by a digit.
    private static func isDateWithoutTime(_ bytes: [UInt8], at i: Int) -> Bool {
        func digit(_ k: Int) -> Bool { k < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[k]) }
        guard i + 10 < bytes.count, !(i > 0 && digit(i - 1)) else { return false }
        let shape = (0..<10).allSatisfy { k in k == 4 || k == 7 ? bytes[i + k] == UInt8(ascii: "-") : digit(i + k) }
        return shape && (bytes[i + 10] == UInt8(ascii: "T") || bytes[i + 10] == UInt8(ascii: "t")) && !digit(i + 11)
    }

    private static let newline = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let hash = UInt8(ascii: "#")
    private static let quote = UInt8(ascii: "\"")
    private static let apostrophe = UInt8(ascii: "'")
    private static let backslash = UInt8(ascii: "\\")
    private static let openBracket = UInt8(ascii: "[")
    private static let closeBrace = UInt8(ascii: "}")
    private static let comma = UInt8(ascii: ",")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let tripleQuote: [UInt8] = Array("\"\"\"".utf8)
    private static let tripleApostrophe: [UInt8] = Array("'''".utf8)
}
