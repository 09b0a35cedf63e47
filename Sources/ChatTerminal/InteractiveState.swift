/// Everything the interactive client shows, and what it decides: which
/// conversation is selected, unread and mention badges, the scrollback and
/// when to page older History, the input line. No I/O: the I/O loop feeds it
/// events (`…Received`, `…Loaded`, `keyPressed`) and runs the actions it
/// returns; `ScreenLayout` draws it.
public struct InteractiveState: Sendable {
    public struct Conversation: Equatable, Sendable {
        public var id: UInt64
        public var title: String
        public var unread: Int
        public var mentions: Int

        public init(id: UInt64, title: String, unread: Int = 0, mentions: Int = 0) {
            self.id = id
            self.title = title
            self.unread = unread
            self.mentions = mentions
        }
    }

    /// One entry of a scrollback, already in words ("bob: hi").
    public struct Line: Equatable, Sendable {
        public enum Style: Sendable { case message, own, mention, notice }
        public var seq: UInt64
        public var text: String
        public var style: Style

        public init(seq: UInt64, text: String, style: Style = .message) {
            self.seq = seq
            self.text = text
            self.style = style
        }
    }

    public struct Scrollback: Equatable, Sendable {
        /// Oldest first, by seq.
        public var lines: [Line] = []
        /// False once History said there is nothing older.
        public var hasOlder = true
        public var loadingOlder = false
    }

    public enum Action: Equatable, Sendable {
        case send(conversation: UInt64, text: String)
        /// Load the newest page of History and mark the conversation read.
        case open(conversation: UInt64)
        case loadOlder(conversation: UInt64, beforeSeq: UInt64)
        case markRead(conversation: UInt64, seq: UInt64)
        /// A slash command from the input line: `/join #room` is ("join", "#room").
        case command(name: String, argument: String)
        case bell
        case quit
    }

    public private(set) var conversations: [Conversation] = []
    public private(set) var selected: UInt64?
    public private(set) var scrollbacks: [UInt64: Scrollback] = [:]
    /// Lines scrolled up from the bottom of the selected conversation.
    public private(set) var scrollOffset = 0
    public private(set) var input = LineEditor()
    /// The connection's state or the last notice, shown above the input line.
    public private(set) var status = ""
    /// System notices and account events (friend requests...), newest last.
    public private(set) var notices: [String] = []

    /// How many lines PageUp/PageDown move; the layout sets it from the screen height.
    public var pageSize = 10

    static let maxNotices = 50

    public init() {}

    // MARK: Events from the connection

    /// The conversation list from Sync (newest activity first). Keeps the
    /// selection when it is still there, else selects the first.
    public mutating func conversationsLoaded(_ list: [Conversation]) -> [Action] {
        conversations = list
        if let selected, list.contains(where: { $0.id == selected }) {
            clearBadges(selected)
            return [.open(conversation: selected)]
        }
        selected = list.first?.id
        scrollOffset = 0
        return selected.map { [.open(conversation: $0)] } ?? []
    }

    /// A page of History: the newest page (`replacing`) or an older one.
    public mutating func historyLoaded(_ conversation: UInt64, lines: [Line], hasOlder: Bool, replacing: Bool) {
        var scrollback = scrollbacks[conversation] ?? Scrollback()
        if replacing {
            // Keep what arrived live after the page was asked for.
            let newest = lines.last?.seq ?? 0
            scrollback.lines = lines + scrollback.lines.filter { $0.seq > newest }
        } else {
            let oldest = scrollback.lines.first?.seq ?? .max
            scrollback.lines = lines.filter { $0.seq < oldest } + scrollback.lines
        }
        scrollback.hasOlder = hasOlder
        scrollback.loadingOlder = false
        scrollbacks[conversation] = scrollback
    }

    /// A new event of a conversation, in words. An edit or deletion replaces
    /// the line of the message it changed (`replacesSeq`).
    public mutating func eventReceived(
        _ conversation: UInt64, line: Line, replacesSeq: UInt64? = nil, unread: Bool, mentionsMe: Bool, title: String? = nil
    ) -> [Action] {
        var actions: [Action] = []
        if !conversations.contains(where: { $0.id == conversation }) {
            conversations.insert(Conversation(id: conversation, title: title ?? "#\(conversation)"), at: 0)
            if selected == nil { selected = conversation }
        }
        if var scrollback = scrollbacks[conversation] {
            if let target = replacesSeq, let index = scrollback.lines.firstIndex(where: { $0.seq == target }) {
                scrollback.lines[index].text = line.text
            } else if scrollback.lines.last.map({ $0.seq < line.seq }) ?? true {
                scrollback.lines.append(line)
                if conversation == selected, scrollOffset > 0 { scrollOffset += 1 }  // keep the view still
            }
            scrollbacks[conversation] = scrollback
        }
        if conversation == selected {
            if unread { actions.append(.markRead(conversation: conversation, seq: line.seq)) }
        } else if unread, let index = conversations.firstIndex(where: { $0.id == conversation }) {
            conversations[index].unread += 1
            if mentionsMe { conversations[index].mentions += 1 }
        }
        if mentionsMe { actions.append(.bell) }
        return actions
    }

    /// A conversation the user is no longer in.
    public mutating func conversationRemoved(_ conversation: UInt64) {
        conversations.removeAll { $0.id == conversation }
        scrollbacks[conversation] = nil
        if selected == conversation {
            selected = conversations.first?.id
            scrollOffset = 0
        }
    }

    /// A system notice, friend request and the like, in words.
    public mutating func noticeReceived(_ text: String) -> [Action] {
        notices.append(text)
        if notices.count > Self.maxNotices { notices.removeFirst(notices.count - Self.maxNotices) }
        status = text
        return [.bell]
    }

    public mutating func statusChanged(_ text: String) {
        status = text
    }

    // MARK: Keys

    public mutating func keyPressed(_ key: Key) -> [Action] {
        switch key {
        case .enter:
            return submit()
        case .tab, .control("n"):
            return select(offset: 1)
        case .down where input.text.isEmpty:
            return select(offset: 1)
        case .control("p"):
            return select(offset: -1)
        case .up where input.text.isEmpty:
            return select(offset: -1)
        case .pageUp:
            return scroll(by: pageSize)
        case .pageDown:
            _ = scroll(by: -pageSize)
            return []
        case .control("c"):
            return [.quit]
        case .control("d") where input.text.isEmpty:
            return [.quit]
        case .control("l"):
            return []
        default:
            input.keyPressed(key)
            return []
        }
    }

    private mutating func submit() -> [Action] {
        let text = input.text
        input = LineEditor()
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { return [] }
        if trimmed.hasPrefix("/"), !trimmed.hasPrefix("//") {
            let words = trimmed.dropFirst().split(separator: " ", maxSplits: 1)
            let name = words.first.map(String.init) ?? ""
            let argument = words.count > 1 ? String(words[1]).trimmingSpaces() : ""
            return name == "quit" ? [.quit] : [.command(name: name, argument: argument)]
        }
        guard let selected else {
            status = "no conversation selected: /join #room or /dm user"
            return []
        }
        scrollOffset = 0
        // "//text" sends "/text".
        return [.send(conversation: selected, text: trimmed.hasPrefix("//") ? String(trimmed.dropFirst()) : trimmed)]
    }

    /// Selects the conversation `offset` places from the selected one.
    public mutating func select(offset: Int) -> [Action] {
        guard !conversations.isEmpty else { return [] }
        let current = conversations.firstIndex { $0.id == selected } ?? 0
        let next = ((current + offset) % conversations.count + conversations.count) % conversations.count
        return select(conversations[next].id)
    }

    public mutating func select(_ conversation: UInt64) -> [Action] {
        guard conversations.contains(where: { $0.id == conversation }) else { return [] }
        selected = conversation
        scrollOffset = 0
        clearBadges(conversation)
        return [.open(conversation: conversation)]
    }

    private mutating func clearBadges(_ conversation: UInt64) {
        guard let index = conversations.firstIndex(where: { $0.id == conversation }) else { return }
        conversations[index].unread = 0
        conversations[index].mentions = 0
    }

    /// Scrolls up (positive) or down; reaching the oldest loaded line asks for
    /// the page before it.
    private mutating func scroll(by lines: Int) -> [Action] {
        guard let selected, var scrollback = scrollbacks[selected] else { return [] }
        scrollOffset = min(max(0, scrollOffset + lines), max(0, scrollback.lines.count - 1))
        guard lines > 0, scrollOffset + pageSize >= scrollback.lines.count, scrollback.hasOlder, !scrollback.loadingOlder,
            let oldest = scrollback.lines.first?.seq
        else { return [] }
        scrollback.loadingOlder = true
        scrollbacks[selected] = scrollback
        return [.loadOlder(conversation: selected, beforeSeq: oldest)]
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
