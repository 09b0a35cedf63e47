import ChatTerminal
import Testing

struct KeyDecoderTests {
    @Test func keysFromBytes() {
        var decoder = KeyDecoder()
        let bytes: [UInt8] = Array("hé".utf8) + [0x0D, 0x7F, 0x09, 0x03] + Array("\u{1B}[A\u{1B}[5~\u{1B}OB\u{1B}[3~".utf8)
        #expect(
            decoder.bytesReceived(bytes) == [
                .character("h"), .character("é"), .enter, .backspace, .tab, .control("c"), .up, .pageUp, .down, .delete,
            ])
    }

    /// An escape sequence or a character split across reads is finished by the next read.
    @Test func splitAcrossReads() {
        let whole = Array("a\u{1B}[6~€\u{1B}[1;5C".utf8)
        for split in 0...whole.count {
            var decoder = KeyDecoder()
            let keys = decoder.bytesReceived(whole[..<split]) + decoder.bytesReceived(whole[split...])
            #expect(keys == [.character("a"), .pageDown, .character("€"), .right], "split at \(split)")
        }
    }

    @Test func loneEscapeAndGarbage() {
        var decoder = KeyDecoder()
        #expect(decoder.bytesReceived([0x1B]) == [])
        #expect(decoder.inputPaused() == [.escape])
        #expect(decoder.bytesReceived([0xFF, 0x80, 0x00, UInt8(ascii: "x")]) == [.character("x")])
        // An unterminated sequence is dropped past its bound rather than kept forever.
        #expect(decoder.bytesReceived([0x1B, UInt8(ascii: "[")] + Array(repeating: UInt8(ascii: "1"), count: 40)) == [])
        #expect(decoder.bytesReceived(Array("ok".utf8)) == [.character("o"), .character("k")])
    }
}

struct TextWidthTests {
    @Test func wideCharactersTakeTwoColumns() {
        #expect(TextWidth.columns("abc") == 3)
        #expect(TextWidth.columns("日本") == 4)
        #expect(TextWidth.columns("😀") == 2)
        #expect(TextWidth.columns("⭐") == 2 && TextWidth.columns("⌚") == 2)  // emoji presentation outside the wide ranges
        #expect(TextWidth.pad("日本", to: 6) == "日本  ")
        #expect(TextWidth.fit("日本語", to: 5) == "日本 ")
        #expect(TextWidth.fit("ab", to: 4) == "ab  ")
    }

    @Test func wrapBreaksAtSpacesElseInsideWords() {
        #expect(TextWidth.wrap("hello big world", width: 10) == ["hello big", "world"])
        #expect(TextWidth.wrap("abcdefghijkl", width: 5) == ["abcde", "fghij", "kl"])
        #expect(TextWidth.wrap("a\nb", width: 5) == ["a", "b"])
        #expect(TextWidth.wrap("", width: 5) == [""])
        #expect(TextWidth.wrap("日本語日本語", width: 5).allSatisfy { TextWidth.columns($0) <= 5 })
    }
}

struct LineEditorTests {
    @Test func editing() {
        var editor = LineEditor()
        for key: Key in [.character("h"), .character("i"), .left, .character("e"), .end, .character("!")] {
            editor.keyPressed(key)
        }
        #expect(editor.text == "hei!" && editor.cursor == 4)
        editor.keyPressed(.backspace)
        editor.keyPressed(.home)
        editor.keyPressed(.delete)
        #expect(editor.text == "ei" && editor.cursor == 0)
        editor = LineEditor(text: "one two three")
        editor.keyPressed(.control("w"))
        #expect(editor.text == "one two ")
        editor.keyPressed(.control("u"))
        #expect(editor.text == "" && editor.cursor == 0)
        editor = LineEditor(text: "日本")
        #expect(editor.cursorColumn == 4)
    }
}

struct InteractiveStateTests {
    func loaded() -> InteractiveState {
        var state = InteractiveState()
        _ = state.conversationsLoaded([
            .init(id: 1, title: "#lobby"), .init(id: 2, title: "@bob", unread: 2, mentions: 1),
        ])
        state.historyLoaded(1, lines: [.init(seq: 1, text: "created"), .init(seq: 2, text: "bob: hi")], hasOlder: true, replacing: true)
        return state
    }

    @Test func firstConversationIsOpened() {
        var state = InteractiveState()
        #expect(state.conversationsLoaded([.init(id: 7, title: "#a"), .init(id: 8, title: "#b")]) == [.open(conversation: 7)])
        #expect(state.selected == 7)
        // Reloaded (after a reconnect): the selection stays and is opened again.
        _ = state.keyPressed(.tab)
        #expect(state.conversationsLoaded([.init(id: 7, title: "#a"), .init(id: 8, title: "#b")]) == [.open(conversation: 8)])
    }

    @Test func typingALineSendsIt() {
        var state = loaded()
        for character in "hello" { #expect(state.keyPressed(.character(character)) == []) }
        #expect(state.keyPressed(.enter) == [.send(conversation: 1, text: "hello")])
        #expect(state.input.text.isEmpty)
        #expect(state.keyPressed(.enter) == [])  // nothing to send
        for character in "//slash" { _ = state.keyPressed(.character(character)) }
        #expect(state.keyPressed(.enter) == [.send(conversation: 1, text: "/slash")])
    }

    @Test func slashCommands() {
        var state = loaded()
        for character in "/join #dev" { _ = state.keyPressed(.character(character)) }
        #expect(state.keyPressed(.enter) == [.command(name: "join", argument: "#dev")])
        for character in "/quit" { _ = state.keyPressed(.character(character)) }
        #expect(state.keyPressed(.enter) == [.quit])
        #expect(state.keyPressed(.control("c")) == [.quit])
    }

    @Test func badgesCountUnreadOutsideTheSelectedConversation() {
        var state = loaded()
        // In the selected conversation: shown, marked read, no badge.
        #expect(
            state.eventReceived(1, line: .init(seq: 3, text: "bob: yo"), unread: true, mentionsMe: false)
                == [.markRead(conversation: 1, seq: 3)])
        #expect(state.scrollbacks[1]?.lines.last?.text == "bob: yo")
        #expect(state.conversations[0].unread == 0)
        // Elsewhere: a badge; a mention rings the bell.
        #expect(state.eventReceived(2, line: .init(seq: 9, text: "bob: @alice"), unread: true, mentionsMe: true) == [.bell])
        #expect(state.conversations[1].unread == 3 && state.conversations[1].mentions == 2)
        // Selecting it clears the badges and opens it.
        #expect(state.keyPressed(.tab) == [.open(conversation: 2)])
        #expect(state.conversations[1].unread == 0 && state.conversations[1].mentions == 0)
        // The user's own messages are not unread.
        _ = state.eventReceived(1, line: .init(seq: 4, text: "alice: me", style: .own), unread: false, mentionsMe: false)
        #expect(state.conversations[0].unread == 0)
        // A conversation not yet listed (just joined, or a new direct chat) is added.
        _ = state.eventReceived(5, line: .init(seq: 1, text: "created"), unread: true, mentionsMe: false, title: "#new")
        #expect(state.conversations.first == .init(id: 5, title: "#new", unread: 1))
    }

    @Test func editsReplaceTheirMessage() {
        var state = loaded()
        _ = state.eventReceived(1, line: .init(seq: 3, text: "bob: hi (edited)"), replacesSeq: 2, unread: false, mentionsMe: false)
        #expect(state.scrollbacks[1]?.lines.map(\.text) == ["created", "bob: hi (edited)"])
    }

    @Test func pagingUpAsksForOlderHistoryOnce() {
        var state = loaded()
        state.pageSize = 5
        #expect(state.keyPressed(.pageUp) == [.loadOlder(conversation: 1, beforeSeq: 1)])
        #expect(state.keyPressed(.pageUp) == [])  // already loading
        state.historyLoaded(1, lines: [.init(seq: 0, text: "older")], hasOlder: false, replacing: false)
        #expect(state.scrollbacks[1]?.lines.map(\.seq) == [0, 1, 2])
        #expect(state.keyPressed(.pageUp) == [])  // nothing older
        _ = state.keyPressed(.pageDown)
        #expect(state.scrollOffset == 0)
    }

    @Test func noticesRingAndShowInTheStatus() {
        var state = loaded()
        #expect(state.noticeReceived("notice from the server: maintenance at 10") == [.bell])
        #expect(state.status == "notice from the server: maintenance at 10")
        state.conversationRemoved(1)
        #expect(state.selected == 2)
    }
}

struct ScreenLayoutTests {
    @Test func plainFrameHasNoEscapeCodes() {
        var state = InteractiveState()
        _ = state.conversationsLoaded([.init(id: 1, title: "#lobby"), .init(id: 2, title: "@bob", unread: 3, mentions: 1)])
        state.historyLoaded(1, lines: [.init(seq: 2, text: "bob: hi there")], hasOlder: false, replacing: true)
        for character in "typed" { _ = state.keyPressed(.character(character)) }
        state.statusChanged("connected")
        let layout = ScreenLayout(width: 60, height: 8, color: false)
        let frame = layout.frame(state, header: "chatc  alice")
        #expect(frame.rows.count == 8)
        #expect(frame.rows.allSatisfy { TextWidth.columns($0) == 60 && !$0.contains("\u{1B}") })
        #expect(frame.rows[0].hasPrefix(" chatc  alice") && frame.rows[0].hasSuffix("#lobby "))
        #expect(frame.rows[1].hasPrefix(">#lobby"))
        #expect(frame.rows[2].hasPrefix(" @bob") && frame.rows[2].contains(" 3 @1 │"))
        #expect(frame.rows[2].contains("bob: hi there"))
        #expect(frame.rows[6].hasPrefix("-- connected --"))
        #expect(frame.rows[7].hasPrefix("> typed"))
        #expect(frame.cursorRow == 7 && frame.cursorColumn == 7)
    }

    @Test func colorFrameMarksSelectionAndMentions() {
        var state = InteractiveState()
        _ = state.conversationsLoaded([.init(id: 1, title: "#lobby"), .init(id: 2, title: "@bob", unread: 1, mentions: 1)])
        let frame = ScreenLayout(width: 60, height: 8, color: true).frame(state, header: "chatc")
        #expect(frame.rows[1].hasPrefix("\u{1B}[7m #lobby"))
        #expect(frame.rows[2].hasPrefix("\u{1B}[1;33m @bob"))
        #expect(frame.ansi.hasPrefix("\u{1B}[?25l\u{1B}[H"))
    }

    @Test func longLinesWrapAndTheNewestStayInView() {
        var state = InteractiveState()
        _ = state.conversationsLoaded([.init(id: 1, title: "#lobby")])
        let lines = (1...20).map { InteractiveState.Line(seq: UInt64($0), text: "line \($0) " + String(repeating: "x", count: 50)) }
        state.historyLoaded(1, lines: lines, hasOlder: true, replacing: true)
        let layout = ScreenLayout(width: 60, height: 10, color: false)
        let view = layout.frame(state, header: "").rows[1...layout.viewHeight].map { $0.split(separator: "│", maxSplits: 1)[1] }
        #expect(view.last?.contains("xxx") == true)
        #expect(view.contains { $0.hasPrefix(" line 20 ") })
        #expect(!view.contains { $0.hasPrefix(" line 1 ") })
    }

    @Test func badges() {
        #expect(ScreenLayout.badge(.init(id: 1, title: "a")) == "")
        #expect(ScreenLayout.badge(.init(id: 1, title: "a", unread: 4)) == " 4")
        #expect(ScreenLayout.badge(.init(id: 1, title: "a", unread: 1500, mentions: 2)) == " 999+ @2")
    }
}
