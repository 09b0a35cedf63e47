import ArgumentParser
import ChatClient
import ChatProtocol
import ChatTerminal
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct Interactive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "The interactive client (what `chatc` with no command runs).",
        discussion: """
            Conversations on the left with unread counts and @mentions, the selected one's messages on the right, an input
            line at the bottom. Tab or Ctrl-N/Ctrl-P (Up/Down on an empty line) select a conversation, PageUp/PageDown
            scroll (older messages load as you go), Enter sends. /join #room, /dm user, /create name, /leave, /quit
            (or Ctrl-C). A mention rings the bell. Reconnects by itself when the server goes away.
            """)
    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await chatc.run {
            let saved = try savedSession(options)
            let terminal = try RawTerminal()
            defer { terminal.restore() }
            let (inputs, continuation) = AsyncStream<InteractiveInput>.makeStream()
            let client = InteractiveClient(
                endpoint: options.endpoint(saved), saved: saved, terminal: terminal, inputs: continuation)
            await client.run(inputs)
        }
    }
}

/// What the interactive client's loop reacts to: keys, the terminal's size,
/// and what the connection brought (already in words).
enum InteractiveInput: Sendable {
    case bytes([UInt8]?)
    case resized
    case connected(ChatConnection, Names, [InteractiveState.Conversation])
    case disconnected(String)
    case event(UInt64, InteractiveState.Line, replacesSeq: UInt64?, unread: Bool, mentionsMe: Bool, title: String)
    case history(UInt64, [InteractiveState.Line], hasOlder: Bool, replacing: Bool)
    case conversations([InteractiveState.Conversation], select: UInt64?)
    case removed(UInt64)
    case notice(String)
    case status(String)
    case fatal(String)
}

/// The thin I/O around `InteractiveState`: one loop that feeds it inputs,
/// runs the actions it returns and draws the frame; tasks that talk to
/// chatd and report back through `inputs`.
struct InteractiveClient: Sendable {
    let endpoint: Endpoint
    let saved: SavedSession
    let terminal: RawTerminal
    let inputs: AsyncStream<InteractiveInput>.Continuation

    static let historyPage: UInt32 = 100
    static let maxBackoff: Duration = .seconds(30)

    func run(_ stream: AsyncStream<InteractiveInput>) async {
        let inputs = self.inputs
        terminal.readInput { inputs.yield(.bytes($0)) }
        signal(SIGWINCH, SIG_IGN)
        let winch = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        winch.setEventHandler { inputs.yield(.resized) }
        winch.resume()
        let network = Task { await maintainConnection() }
        defer {
            network.cancel()
            winch.cancel()
        }

        var state = InteractiveState()
        var decoder = KeyDecoder()
        var connection: ChatConnection?
        var names: Names?
        let color = colorWanted()
        let header = "chatc  \(saved.username) @ \(endpoint.address)"
        func draw() {
            let size = terminal.size
            let layout = ScreenLayout(width: size.width, height: size.height, color: color)
            state.pageSize = max(1, layout.viewHeight - 2)
            terminal.write(layout.frame(state, header: header).ansi)
        }
        state.statusChanged("connecting to \(endpoint.address)…")
        draw()
        loop: for await input in stream {
            var actions: [InteractiveState.Action] = []
            switch input {
            case .bytes(nil):
                break loop
            case .bytes(let bytes?):
                let keys = bytes.isEmpty ? decoder.inputPaused() : decoder.bytesReceived(bytes)
                for key in keys { actions += state.keyPressed(key) }
            case .resized:
                terminal.write("\u{1B}[2J")
            case .connected(let c, let n, let list):
                connection = c
                names = n
                state.statusChanged("connected as \(saved.username)")
                actions = state.conversationsLoaded(list)
            case .disconnected(let why):
                connection = nil
                state.statusChanged(why)
            case .event(let conversation, let line, let replaces, let unread, let mentionsMe, let title):
                actions = state.eventReceived(
                    conversation, line: line, replacesSeq: replaces, unread: unread, mentionsMe: mentionsMe, title: title)
            case .history(let conversation, let lines, let hasOlder, let replacing):
                state.historyLoaded(conversation, lines: lines, hasOlder: hasOlder, replacing: replacing)
            case .conversations(let list, let select):
                actions = state.conversationsLoaded(list)
                if let select { actions += state.select(select) }
            case .removed(let conversation):
                state.conversationRemoved(conversation)
            case .notice(let text):
                actions = state.noticeReceived(text)
            case .status(let text):
                state.statusChanged(text)
            case .fatal(let text):
                terminal.restore()
                FileHandle.standardError.write(Data("chatc: \(text)\n".utf8))
                break loop
            }
            for action in actions {
                switch action {
                case .quit: break loop
                case .bell: terminal.write("\u{07}")
                default:
                    guard let connection, let names else {
                        state.statusChanged("not connected: wait for the reconnection")
                        continue
                    }
                    Task { await perform(action, connection, names) }
                }
            }
            draw()
        }
        await connection?.close()
    }

    // MARK: The connection

    /// Connects, resumes the session and catches up with Sync; after the
    /// connection is lost, does it again with a growing pause (1 s, doubled
    /// up to 30 s). Missed account events (a broadcast while away) are shown.
    func maintainConnection() async {
        var delay: Duration = .seconds(1)
        var accountSeq: UInt64?
        while !Task.isCancelled {
            let connection: ChatConnection
            do {
                connection = try await connect(endpoint)
            } catch {
                await pause(&delay, "cannot reach chatd at \(endpoint.address)")
                continue
            }
            do {
                try await resume(connection, saved)
            } catch let error as SessionRejected {
                inputs.yield(.fatal(error.description))
                return
            } catch {
                await connection.close()
                await pause(&delay, "\(error)")
                continue
            }
            delay = .seconds(1)
            let names = Names(connection)
            do {
                let sync = try await connection.sync(accountSeq: accountSeq ?? 0, limit: accountSeq == nil ? 1 : 0)
                if accountSeq != nil {
                    for event in sync.accountEvents { inputs.yield(.notice(await describe(event, names))) }
                }
                accountSeq = sync.accountHeadSeq
                inputs.yield(.connected(connection, names, await rows(sync, names)))
            } catch {
                await connection.close()
                await pause(&delay, "\(error)")
                continue
            }
            var farewell = "connection lost"
            for await push in connection.pushes {
                if case .goodbye(let goodbye) = push {
                    farewell = "the server closed the connection (\(goodbye.message.isEmpty ? "\(goodbye.reason)" : goodbye.message))"
                }
                if case .accountEvent(let event) = push { accountSeq = max(accountSeq ?? 0, event.seq) }
                await translate(push, names)
            }
            inputs.yield(.disconnected(farewell))
            await pause(&delay, farewell)
        }
    }

    private func pause(_ delay: inout Duration, _ why: String) async {
        inputs.yield(.disconnected("\(why); reconnecting in \(delay.components.seconds) s"))
        try? await Task.sleep(for: delay)
        delay = min(delay * 2, Self.maxBackoff)
    }

    private func rows(_ sync: Chatd_V1_SyncResponse, _ names: Names) async -> [InteractiveState.Conversation] {
        var rows: [InteractiveState.Conversation] = []
        for state in sync.conversations {
            rows.append(
                .init(
                    id: state.conversation.id, title: await names.title(state.conversation), unread: Int(state.unreadCount),
                    mentions: Int(state.mentionCount)))
        }
        return rows
    }

    /// A push, in words, to the loop.
    private func translate(_ push: ChatPush, _ names: Names) async {
        switch push {
        case .event(let event):
            await deliver(event, names)
        case .accountEvent(let event):
            // A conversation the user is added to appears with its first event.
            if event.kind == .removedFromConversation || event.kind == .conversationDeleted {
                inputs.yield(.removed(event.conversationID))
            }
            inputs.yield(.notice(await describe(event, names)))
        case .goodbye, .read, .presence, .typing, .delivered, .unknown:
            break
        }
    }

    private func deliver(_ event: Chatd_V1_Event, _ names: Names) async {
        let line = await self.line(event, names)
        let fromOthers = event.senderID != saved.userID
        var replaces: UInt64?
        var shown = line
        if event.kind == .messageEdited || event.kind == .messageDeleted {
            // The line of the message it changed is rewritten in place.
            replaces = event.targetSeq
            let who = await names.name(event.senderID, in: event.conversationID)
            let text = event.kind == .messageEdited ? "\(who): \(event.text) (edited)" : "\(who): (deleted)"
            shown = .init(seq: event.seq, text: "[\(time(event.createdAtMs, format: "HH:mm"))] \(text)", style: line.style)
        }
        inputs.yield(
            .event(
                event.conversationID, shown, replacesSeq: replaces, unread: event.kind == .message && fromOthers,
                mentionsMe: fromOthers && event.mentions.contains(saved.userID), title: await names.title(event.conversationID)))
    }

    private func line(_ event: Chatd_V1_Event, _ names: Names) async -> InteractiveState.Line {
        let style: InteractiveState.Line.Style =
            event.senderID == saved.userID
            ? .own : event.mentions.contains(saved.userID) ? .mention : event.kind == .message ? .message : .notice
        return .init(seq: event.seq, text: "[\(time(event.createdAtMs, format: "HH:mm"))] \(await describe(event, names))", style: style)
    }

    // MARK: Actions

    private func perform(_ action: InteractiveState.Action, _ c: ChatConnection, _ names: Names) async {
        do {
            switch action {
            case .send(let conversation, let text):
                let sent = try await c.send(room: conversation, text: text)
                await deliver(sent.event, names)
            case .open(let conversation):
                let page = try await c.history(room: conversation, limit: Self.historyPage)
                var lines: [InteractiveState.Line] = []
                for event in page.events { lines.append(await line(event, names)) }
                inputs.yield(.history(conversation, lines, hasOlder: page.hasMore_p, replacing: true))
                if let last = page.events.last { _ = try await c.markRead(conversation, seq: last.seq) }
            case .loadOlder(let conversation, let before):
                let page = try await c.history(room: conversation, before: before, limit: Self.historyPage)
                var lines: [InteractiveState.Line] = []
                for event in page.events { lines.append(await line(event, names)) }
                inputs.yield(.history(conversation, lines, hasOlder: page.hasMore_p, replacing: false))
            case .markRead(let conversation, let seq):
                _ = try await c.markRead(conversation, seq: seq)
            case .command(let name, let argument):
                try await command(name, argument, c, names)
            case .bell, .quit:
                break
            }
        } catch {
            inputs.yield(.status("\(error)"))
        }
    }

    private func command(_ name: String, _ argument: String, _ c: ChatConnection, _ names: Names) async throws {
        let opened: UInt64
        switch name {
        case "join":
            opened = try await c.joinRoom(try await conversationID(argument, c)).id
        case "dm":
            opened = try await c.openDirect(username: argument.hasPrefix("@") ? String(argument.dropFirst()) : argument).id
        case "create":
            opened = try await c.createRoom(name: argument.hasPrefix("#") ? String(argument.dropFirst()) : argument).id
        case "leave":
            let conversation = try await conversationID(argument, c)
            try await c.leave(conversation)
            inputs.yield(.removed(conversation))
            return
        default:
            inputs.yield(.status("unknown command /\(name) (/join #room, /dm user, /create name, /leave #room, /quit)"))
            return
        }
        let sync = try await c.sync(skipConversations: false)
        inputs.yield(.conversations(await rows(sync, names), select: opened))
    }
}
