/// A key the user pressed, decoded from the bytes a terminal in raw mode sends.
public enum Key: Equatable, Sendable {
    case character(Character)
    case enter
    case backspace
    case delete
    case tab
    case escape
    case up, down, left, right
    case home, end, pageUp, pageDown
    /// Ctrl with a letter (lowercase), other than the ones named above
    /// (Ctrl-I is tab, Ctrl-M and Ctrl-J are enter, Ctrl-H is backspace).
    case control(Character)
}

/// Turns terminal input bytes into keys. Input arrives in arbitrary pieces:
/// an escape sequence or a UTF-8 character split across two reads is kept
/// and finished by the next `bytesReceived`.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    /// Longest escape sequence kept while waiting for its end; beyond it the
    /// bytes are dropped (a terminal never sends one this long).
    static let maxPendingBytes = 16

    public init() {}

    public mutating func bytesReceived(_ bytes: some Sequence<UInt8>) -> [Key] {
        pending.append(contentsOf: bytes)
        var keys: [Key] = []
        var index = 0
        while index < pending.count {
            guard let (key, length) = Self.decode(pending[index...]) else { break }
            if let key { keys.append(key) }
            index += length
        }
        pending.removeFirst(index)
        if pending.count > Self.maxPendingBytes { pending.removeAll() }
        return keys
    }

    /// A lone ESC is only known to be the Escape key when nothing follows it
    /// for a moment: the I/O loop calls this after a read timeout.
    public mutating func inputPaused() -> [Key] {
        defer { pending.removeAll() }
        return pending == [0x1B] ? [.escape] : []
    }

    /// The key at the start of `bytes` and how many bytes it took, nil when
    /// the bytes end inside it; a nil key for bytes that mean nothing.
    private static func decode(_ bytes: ArraySlice<UInt8>) -> (Key?, Int)? {
        let first = bytes[bytes.startIndex]
        switch first {
        case 0x0D, 0x0A: return (.enter, 1)
        case 0x7F, 0x08: return (.backspace, 1)
        case 0x09: return (.tab, 1)
        case 0x1B: return decodeEscape(bytes)
        case 0x01...0x1A: return (.control(Character(Unicode.Scalar(first + 0x60))), 1)
        case 0x00..<0x20: return (nil, 1)
        default: return decodeUTF8(bytes)
        }
    }

    private static func decodeEscape(_ bytes: ArraySlice<UInt8>) -> (Key?, Int)? {
        let start = bytes.startIndex
        guard bytes.count >= 2 else { return nil }
        let introducer = bytes[start + 1]
        guard introducer == UInt8(ascii: "[") || introducer == UInt8(ascii: "O") else {
            return (.escape, 1)  // ESC then a key: the Escape key, then that key
        }
        // CSI: parameters (digits and ';') then one final byte.
        var end = start + 2
        while end < bytes.endIndex, bytes[end] == UInt8(ascii: ";") || (0x30...0x39).contains(bytes[end]) { end += 1 }
        guard end < bytes.endIndex else { return nil }
        let parameters = String(decoding: bytes[(start + 2)..<end], as: UTF8.self)
        let length = end - start + 1
        let key: Key? =
            switch Character(Unicode.Scalar(bytes[end])) {
            case "A": .up
            case "B": .down
            case "C": .right
            case "D": .left
            case "H": .home
            case "F": .end
            case "~":
                switch parameters.split(separator: ";").first {
                case "1", "7": .home
                case "4", "8": .end
                case "3": .delete
                case "5": .pageUp
                case "6": .pageDown
                default: nil
                }
            default: nil
            }
        return (key, length)
    }

    private static func decodeUTF8(_ bytes: ArraySlice<UInt8>) -> (Key?, Int)? {
        let first = bytes[bytes.startIndex]
        let length =
            switch first {
            case 0xC0...0xDF: 2
            case 0xE0...0xEF: 3
            case 0xF0...0xF7: 4
            case 0x80...0xBF, 0xF8...0xFF: 0  // not a character's first byte
            default: 1
            }
        guard length > 0 else { return (nil, 1) }
        guard bytes.count >= length else { return nil }
        let text = String(decoding: bytes.prefix(length), as: UTF8.self)
        guard let character = text.first, !text.contains("\u{FFFD}") else { return (nil, length) }
        return (.character(character), length)
    }
}
