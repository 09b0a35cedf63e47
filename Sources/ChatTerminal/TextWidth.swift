/// Terminal columns taken by text: wide (East Asian, emoji) characters take
/// two, combining marks and controls none. An approximation of wcwidth that
/// needs no locale.
public enum TextWidth {
    public static func columns(_ character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return 0 }
        if character.unicodeScalars.count > 1, character.unicodeScalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        // Emoji shown as pictures by default outside the ranges below (⌚, ⭐...).
        if value >= 0x2000 && scalar.properties.isEmojiPresentation { return 2 }
        return wideRanges.contains { $0.contains(value) } ? 2 : 1
    }

    public static func columns(_ text: some StringProtocol) -> Int {
        text.reduce(0) { $0 + columns($1) }
    }

    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
        0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x3FFFD,
    ]

    /// `text` followed by spaces up to `width` columns (never cut: table cells).
    public static func pad(_ text: some StringProtocol, to width: Int) -> String {
        String(text) + String(repeating: " ", count: max(0, width - columns(text)))
    }

    /// Cuts text to at most `width` columns, padding with spaces to exactly `width`.
    public static func fit(_ text: some StringProtocol, to width: Int) -> String {
        var result = ""
        var used = 0
        for character in text {
            let w = columns(character)
            if used + w > width { break }
            result.append(character)
            used += w
        }
        return result + String(repeating: " ", count: max(0, width - used))
    }

    /// Splits text into lines of at most `width` columns, breaking after a
    /// space when a line has one, else inside the word. Newlines in the text
    /// start new lines. Always at least one line.
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [text] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            var used = 0
            var lastSpace: String.Index?
            for character in paragraph {
                let w = columns(character)
                if used + w > width {
                    if let space = lastSpace {
                        lines.append(String(line[..<space]))
                        line = String(line[line.index(after: space)...])
                    } else {
                        lines.append(line)
                        line = ""
                    }
                    used = columns(line)
                    lastSpace = nil
                }
                line.append(character)
                used += w
                if character == " " { lastSpace = line.index(before: line.endIndex) }
            }
            lines.append(line)
        }
        return lines
    }
}
