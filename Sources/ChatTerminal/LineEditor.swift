/// The input line: text and a cursor, edited with the usual keys (arrows,
/// Home/End or Ctrl-A/Ctrl-E, Backspace, Delete, Ctrl-U to clear, Ctrl-W
/// to delete a word).
public struct LineEditor: Equatable, Sendable {
    public private(set) var text = ""
    /// In characters from the start.
    public private(set) var cursor = 0

    /// Bounds what one line can hold before it is sent (the server has its
    /// own, lower, limit on message text and says so).
    static let maxCharacters = 16_384

    public init(text: String = "") {
        self.text = text
        self.cursor = text.count
    }

    public mutating func keyPressed(_ key: Key) {
        switch key {
        case .character(let character):
            guard text.count < Self.maxCharacters else { return }
            text.insert(character, at: index(cursor))
            cursor += 1
        case .backspace:
            guard cursor > 0 else { return }
            text.remove(at: index(cursor - 1))
            cursor -= 1
        case .delete, .control("d"):
            guard cursor < text.count else { return }
            text.remove(at: index(cursor))
        case .left, .control("b"):
            cursor = max(0, cursor - 1)
        case .right, .control("f"):
            cursor = min(text.count, cursor + 1)
        case .home, .control("a"):
            cursor = 0
        case .end, .control("e"):
            cursor = text.count
        case .control("u"):
            text.removeSubrange(..<index(cursor))
            cursor = 0
        case .control("w"):
            let before = text[..<index(cursor)]
            let kept = before.reversed().drop { $0 == " " }.drop { $0 != " " }.count
            text.removeSubrange(index(kept)..<index(cursor))
            cursor = kept
        case .enter, .tab, .escape, .up, .down, .pageUp, .pageDown, .control:
            break
        }
    }

    /// The columns before the cursor, where the terminal's cursor goes.
    public var cursorColumn: Int { TextWidth.columns(text[..<index(cursor)]) }

    private func index(_ offset: Int) -> String.Index { text.index(text.startIndex, offsetBy: offset) }
}
