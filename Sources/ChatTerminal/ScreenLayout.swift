/// Draws an `InteractiveState` on a screen of `width` × `height` cells:
///
///     chatc  alice @ 127.0.0.1:7600                     #lobby
///     #lobby         │[10:02] bob: hi
///     @bob      2 @1 │[10:03] alice: hello
///     ...            │
///     -- connected --------------------------------------------
///     > text being typed
///
/// Color only when asked (a terminal, and NO_COLOR unset); without it the
/// selected conversation is marked with `>` and nothing but text is drawn.
public struct ScreenLayout: Sendable {
    public var width: Int
    public var height: Int
    public var color: Bool

    /// What to write: one string per row (exactly `width` columns of text,
    /// plus SGR codes when in color) and where the cursor goes.
    public struct Frame: Equatable, Sendable {
        public var rows: [String]
        public var cursorRow: Int
        public var cursorColumn: Int

        /// The bytes for a terminal: home, every row, the cursor placed.
        public var ansi: String {
            var out = "\u{1B}[?25l\u{1B}[H"
            for (index, row) in rows.enumerated() {
                out += "\u{1B}[\(index + 1);1H" + row
            }
            out += "\u{1B}[\(cursorRow + 1);\(cursorColumn + 1)H\u{1B}[?25h"
            return out
        }
    }

    public init(width: Int, height: Int, color: Bool) {
        self.width = max(width, 20)
        self.height = max(height, 5)
        self.color = color
    }

    public var listWidth: Int { min(24, width / 3) }
    public var viewHeight: Int { height - 3 }
    var viewWidth: Int { width - listWidth - 1 }

    public func frame(_ state: InteractiveState, header: String) -> Frame {
        var rows: [String] = []
        let title = state.conversations.first { $0.id == state.selected }?.title ?? ""
        let left = " " + header
        let right = title + " "
        let gap = max(1, width - TextWidth.columns(left) - TextWidth.columns(right))
        rows.append(style(TextWidth.fit(left + String(repeating: " ", count: gap) + right, to: width), .bold))

        let list = listRows(state)
        let view = viewRows(state)
        for index in 0..<viewHeight {
            let entry = index < list.count ? list[index] : String(repeating: " ", count: listWidth)
            rows.append(entry + "│" + (index < view.count ? view[index] : String(repeating: " ", count: viewWidth)))
        }

        let status = "-- " + (state.status.isEmpty ? "" : state.status + " ")
        rows.append(style(TextWidth.fit(status + String(repeating: "-", count: width), to: width), .reverse))

        // The input line scrolls sideways to keep the cursor in view.
        let prompt = "> "
        let room = width - prompt.count - 1
        var shown = Substring(state.input.text)
        var column = state.input.cursorColumn
        while column > room, let first = shown.first {
            column -= TextWidth.columns(first)
            shown = shown.dropFirst()
        }
        rows.append(TextWidth.fit(prompt + shown, to: width))
        return Frame(rows: rows, cursorRow: height - 1, cursorColumn: prompt.count + column)
    }

    // MARK: Conversation list

    /// One row per conversation: its title and badges (unread count, `@N`
    /// mentions); the selected one in reverse video (`>` without color).
    func listRows(_ state: InteractiveState) -> [String] {
        if state.conversations.isEmpty { return [TextWidth.fit(" (none)", to: listWidth)] }
        var rows: [String] = []
        for conversation in state.conversations.prefix(viewHeight) {
            let isSelected = conversation.id == state.selected
            let marker = !color && isSelected ? ">" : " "
            let badge = Self.badge(conversation)
            let titleWidth = max(0, listWidth - 1 - TextWidth.columns(badge) - 1)
            let text = marker + TextWidth.fit(conversation.title, to: titleWidth) + badge + " "
            if isSelected {
                rows.append(style(text, .reverse))
            } else if conversation.mentions > 0 {
                rows.append(style(text, .mention))
            } else if conversation.unread > 0 {
                rows.append(style(text, .bold))
            } else {
                rows.append(text)
            }
        }
        return rows
    }

    /// "" with nothing unread, " 3" with three unread, " 3 @1" when one of them mentions the user.
    public static func badge(_ conversation: InteractiveState.Conversation) -> String {
        guard conversation.unread > 0 || conversation.mentions > 0 else { return "" }
        let unread = conversation.unread > 999 ? "999+" : String(conversation.unread)
        return " " + unread + (conversation.mentions > 0 ? " @\(conversation.mentions)" : "")
    }

    // MARK: Scrollback

    /// The selected conversation's lines, wrapped, the newest at the bottom
    /// (or `scrollOffset` lines up from it).
    func viewRows(_ state: InteractiveState) -> [String] {
        let blank = String(repeating: " ", count: viewWidth)
        guard let selected = state.selected else {
            let help = [
                "No conversations yet.", "", "/join #room    join a public room", "/dm user       talk to a user",
                "/create name   create a room", "/quit          leave (or Ctrl-C)",
            ]
            return help.map { TextWidth.fit(" " + $0, to: viewWidth) }
        }
        guard let scrollback = state.scrollbacks[selected] else { return [TextWidth.fit(" loading…", to: viewWidth)] }
        let end = max(0, scrollback.lines.count - state.scrollOffset)
        var rows: [String] = []
        if !scrollback.hasOlder { rows.append(style(TextWidth.fit(" (beginning of the conversation)", to: viewWidth), .dim)) }
        for line in scrollback.lines[..<end] {
            for (index, piece) in TextWidth.wrap(line.text, width: viewWidth - 1).enumerated() {
                let text = TextWidth.fit((index == 0 ? " " : "   ") + piece, to: viewWidth)
                rows.append(style(text, Self.style(line.style)))
            }
        }
        rows = Array(rows.suffix(viewHeight))
        while rows.count < viewHeight { rows.append(blank) }
        return rows
    }

    // MARK: Styles

    enum Style { case plain, bold, dim, reverse, mention, notice }

    static func style(_ line: InteractiveState.Line.Style) -> Style {
        switch line {
        case .message: .plain
        case .own: .dim
        case .mention: .mention
        case .notice: .notice
        }
    }

    func style(_ text: String, _ style: Style) -> String {
        guard color else { return text }
        let code =
            switch style {
            case .plain: ""
            case .bold: "1"
            case .dim: "2"
            case .reverse: "7"
            case .mention: "1;33"
            case .notice: "36"
            }
        return code.isEmpty ? text : "\u{1B}[\(code)m" + text + "\u{1B}[0m"
    }
}
