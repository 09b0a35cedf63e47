import ArgumentParser
import ChatClient
import ChatCrypto
import ChatProtocol
import Foundation

struct TortureLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Pipelined sends, edits and uploads that journal every ack, until chatd dies or --duration ends.",
        discussion: """
            The first load registers the users and makes the conversations (rooms, one group, a direct chat per
            pair of users) and writes the state file. Every load then logs one user in by password and resumes
            the others by token, sends again what the last load left unacknowledged (same client_msg_id: the
            server answers with the stored event when it had committed it), sends again the last few
            acknowledged messages (which must come back duplicate with the same seq), resumes unfinished
            uploads, and then sends new messages with --window requests in flight per user; about one message
            in 16 is edited. The first --uploaders users also upload small text files in chunks and send each
            finished file as a FILE message. Prints one line of counts; exits 1 when an acknowledgement
            contradicts an earlier one.
            """)

    @OptionGroup var options: TortureOptions
    @Option(help: "Round number: part of every new client_msg_id and upload seed, so rounds never reuse one.") var round: Int
    @Option(help: "Users (each one connection sending), when the state file is created.") var clients = 8
    @Option(help: "Public rooms, when the state file is created (all users join them).") var rooms = 2
    @Option(help: "SendMessage requests in flight per user.") var window = 8
    @Option(help: "Total messages per second over all users; 0 = flat out.") var rate: Double = 0
    @Option(help: "Users that also upload files (on a second connection).") var uploaders = 2
    @Option(help: "Largest uploaded file, in bytes (sizes are random from 1).") var maxFileBytes = 48 << 10
    @Option(help: "Upload chunk size, in bytes (at most the server's maximum).") var chunkBytes = 8 << 10
    @Option(help: "Acknowledged messages per user sent again by the next load.") var resend = 3
    @Option(help: "Seconds after which the load stops by itself (when chatd was not killed).") var duration: Double = 60
    @Option(help: "File created once the load is running (setup done), for the script to start its timer.")
    var readyFile: String?

    func run() async throws {
        let target = try options.target()
        var state: TortureState
        if let existing = try TortureState.load(options.state) {
            state = existing
        } else {
            state = try await Self.setup(target, clients: clients, rooms: rooms)
            try state.save(options.state)
        }
        let journal = try TortureJournal(path: options.journal)
        defer { journal.close() }

        // One user logs in by password each round, the others resume.
        var senders: [ChatConnection] = []
        var uploadConnections: [ChatConnection] = []
        for i in state.users.indices {
            senders.append(try await target.tortureConnection(&state.users[i], login: i == round % state.users.count))
        }
        for i in state.users.indices.prefix(uploaders) {
            uploadConnections.append(try await target.tortureConnection(&state.users[i], login: false))
        }
        try state.save(options.state)
        let drains = (senders + uploadConnections).map(drainPushes)
        if let readyFile, !FileManager.default.createFile(atPath: readyFile, contents: Data()) {
            throw BenchError("cannot create \(readyFile)")
        }

        let deadline = ContinuousClock.now + .milliseconds(Int(duration * 1000))
        let perUser = rate / Double(max(1, state.users.count))
        let groupID = state.conversations.first { $0.kind == "group" }?.id ?? 0
        let previous = state
        let plan = SenderPlan(
            round: round, window: max(1, window), perSecond: perUser, deadline: deadline, resendCount: resend)
        let upload = UploadPlan(round: round, maxFileBytes: max(1, maxFileBytes), chunkBytes: max(1, chunkBytes), deadline: deadline)
        let outcomes = await withTaskGroup(of: LoadOutcome.self) { group in
            for (i, c) in senders.enumerated() {
                let conversations = previous.conversations(of: i).map(\.id)
                let retries = previous.unacknowledged.filter { $0.user == i }
                let resends = previous.resend.filter { $0.user == i }
                let userID = previous.users[i].id
                group.addTask {
                    await plan.run(
                        user: i, userID: userID, connection: c, conversations: conversations, retries: retries,
                        resends: resends, journal: journal)
                }
            }
            for (i, c) in uploadConnections.enumerated() {
                let unfinished = previous.unfinishedUploads.filter { $0.user == i }
                let userID = previous.users[i].id
                group.addTask {
                    await upload.run(
                        user: i, userID: userID, connection: c, conversation: groupID, unfinished: unfinished,
                        journal: journal)
                }
            }
            var all = LoadOutcome()
            for await outcome in group { all.add(outcome) }
            return all
        }
        for c in senders + uploadConnections { await c.close() }
        for d in drains { d.cancel() }

        // Uploads that did not start, or that were not acknowledged by the
        // server as begun, have nothing to resume: the next load starts them anew.
        state.unacknowledged = outcomes.unacknowledged
        state.resend = outcomes.resend
        state.unfinishedUploads = outcomes.unfinishedUploads
        try state.save(options.state)

        print(
            "acked=\(outcomes.acked) edits=\(outcomes.edits) retried=\(outcomes.retried) retried_found_stored=\(outcomes.retriedFound)"
                + " resent=\(outcomes.resent) chunks=\(outcomes.chunks) files=\(outcomes.files)"
                + " unacknowledged=\(outcomes.unacknowledged.count) unfinished_uploads=\(outcomes.unfinishedUploads.count)"
                + " refused=\(outcomes.refused) violations=\(outcomes.violations.count)")
        for v in outcomes.refusals.prefix(10) { FileHandle.standardError.write(Data("torture load: refused: \(v)\n".utf8)) }
        for v in outcomes.violations.prefix(50) { FileHandle.standardError.write(Data("torture load: VIOLATION: \(v)\n".utf8)) }
        if !outcomes.violations.isEmpty { throw ExitCode(1) }
    }

    /// Registers the users and makes the conversations.
    static func setup(_ target: Target, clients: Int, rooms: Int) async throws -> TortureState {
        let prefix = runPrefix()
        var users: [TortureState.User] = []
        var connections: [ChatConnection] = []
        var device = Chatd_V1_DeviceInfo()
        device.deviceID = "torture"
        for i in 0..<max(2, clients) {
            let c = try await target.client()
            connections.append(c)
            try await c.hello(clientName: "chatbench-torture")
            let username = "\(prefix)t\(i)"
            let password = "torture-\(prefix)\(i)"
            let auth = try await c.register(username: username, password: password, device: device)
            users.append(.init(username: username, password: password, id: auth.user.id, token: auth.token))
        }
        let everyone = Array(users.indices)
        var conversations: [TortureState.Conversation] = []
        for r in 0..<max(1, rooms) {
            let room = try await connections[0].createRoom(name: "\(prefix)room\(r)")
            for c in connections.dropFirst() { _ = try await c.joinRoom(room.id) }
            conversations.append(.init(id: room.id, kind: "room", members: everyone))
        }
        let group = try await connections[0].createGroup(name: "\(prefix)group", userIDs: users.dropFirst().map(\.id))
        guard group.skipped.isEmpty else { throw BenchError("group creation skipped \(group.skipped)") }
        conversations.append(.init(id: group.conversation.id, kind: "group", members: everyone))
        for p in stride(from: 0, to: users.count - 1, by: 2) {
            let direct = try await connections[p].openDirect(userID: users[p + 1].id)
            conversations.append(.init(id: direct.id, kind: "direct", members: [p, p + 1]))
        }
        for c in connections { await c.close() }
        return TortureState(users: users, conversations: conversations)
    }
}

/// What one task of the load did.
struct LoadOutcome: Sendable {
    var acked = 0
    var edits = 0
    var retried = 0
    var retriedFound = 0
    var resent = 0
    var chunks = 0
    var files = 0
    var refused = 0
    var refusals: [String] = []
    var violations: [String] = []
    var unacknowledged: [TortureSend] = []
    var resend: [TortureSend] = []
    var unfinishedUploads: [TortureUpload] = []

    mutating func add(_ o: LoadOutcome) {
        acked += o.acked
        edits += o.edits
        retried += o.retried
        retriedFound += o.retriedFound
        resent += o.resent
        chunks += o.chunks
        files += o.files
        refused += o.refused
        refusals += o.refusals
        violations += o.violations
        unacknowledged += o.unacknowledged
        resend += o.resend
        unfinishedUploads += o.unfinishedUploads
    }

    mutating func refusedRequest(_ what: String) {
        refused += 1
        if refusals.count < 10 { refusals.append(what) }
    }
}

enum SendResult: Sendable {
    case acked(Chatd_V1_EventResponse)
    case failed(RequestFailure)
}

/// Sends one message or edit; the journal line is written before returning.
func tortureSend(
    _ item: TortureSend, userID: UInt64, connection c: ChatConnection, journal: TortureJournal
) async -> SendResult {
    do {
        let response: Chatd_V1_EventResponse
        switch item.kind {
        case .text:
            response = try await c.send(room: item.conversation, text: item.text, clientMsgID: item.clientMsgID)
        case .file:
            var attachment = Chatd_V1_Attachment()
            attachment.fileID = item.fileID ?? ""
            response = try await c.send(
                room: item.conversation, text: item.text, clientMsgID: item.clientMsgID, type: .file, attachment: attachment)
        case .edit:
            response = try await c.edit(item.conversation, seq: item.target ?? 0, text: item.text, clientMsgID: item.clientMsgID)
        }
        let e = response.event
        let dup = response.duplicate ? "1" : "0"
        switch item.kind {
        case .text, .file:
            try journal.append(
                ["M", "\(item.user)", "\(e.conversationID)", "\(e.seq)", dup, item.clientMsgID] + (item.fileID.map { [$0] } ?? []))
        case .edit:
            try journal.append(["E", "\(item.user)", "\(e.conversationID)", "\(e.seq)", dup, item.clientMsgID, "\(item.target ?? 0)"])
        }
        return .acked(response)
    } catch let error as BenchError {
        // The journal could not be written: nothing more can be trusted.
        FileHandle.standardError.write(Data("torture load: \(error)\n".utf8))
        Foundation.exit(2)
    } catch {
        return .failed(RequestFailure(error))
    }
}

/// Checks an acknowledgement against the request (and, for a resend, the first ack).
func checkAck(_ item: TortureSend, _ response: Chatd_V1_EventResponse, userID: UInt64, expectDuplicate: Bool?) -> [String] {
    var problems: [String] = []
    let e = response.event
    let what = "\(item.kind.rawValue) \(item.clientMsgID) of user \(item.user)"
    if e.conversationID != item.conversation { problems.append("\(what): acked in conversation \(e.conversationID), sent to \(item.conversation)") }
    if e.clientMsgID != item.clientMsgID { problems.append("\(what): acked with client_msg_id \(e.clientMsgID)") }
    if e.senderID != userID { problems.append("\(what): acked with sender \(e.senderID), not \(userID)") }
    if e.seq == 0 { problems.append("\(what): acked with seq 0") }
    switch expectDuplicate {
    case true?:
        if !response.duplicate { problems.append("\(what): sent again after its ack (seq \(item.seq ?? 0)), answered as new (seq \(e.seq))") }
        if let seq = item.seq, seq != e.seq { problems.append("\(what): acked at seq \(seq), sent again: seq \(e.seq)") }
    case false?:
        if response.duplicate { problems.append("\(what): a never-sent id answered duplicate (seq \(e.seq))") }
    case nil:
        break
    }
    return problems
}

/// One user's sends: pipelined, `window` in flight.
struct SenderPlan: Sendable {
    let round: Int
    let window: Int
    /// Messages per second for this user; 0 = flat out.
    let perSecond: Double
    let deadline: ContinuousClock.Instant
    let resendCount: Int

    private enum Origin: Sendable {
        case resend, retry, new
    }

    func run(
        user: Int, userID: UInt64, connection c: ChatConnection, conversations: [UInt64], retries: [TortureSend],
        resends: [TortureSend], journal: TortureJournal
    ) async -> LoadOutcome {
        var outcome = LoadOutcome()
        guard !conversations.isEmpty else { return outcome }
        var queue: [(TortureSend, Origin)] = resends.map { ($0, .resend) } + retries.map { ($0, .retry) }
        var queued = queue.startIndex
        var made = 0
        var lastAcked: [TortureSend] = []
        let start = ContinuousClock.now
        var started = 0
        func next() -> (TortureSend, Origin)? {
            if queued < queue.endIndex {
                defer { queued += 1 }
                return queue[queued]
            }
            let id = "r\(round)u\(user)n\(made)"
            let item = TortureSend(user: user, conversation: conversations[made % conversations.count], clientMsgID: id, kind: .text)
            made += 1
            return (item, .new)
        }
        func due() -> Bool {
            guard perSecond > 0 else { return true }
            return ContinuousClock.now >= start + .nanoseconds(Int64(Double(started) * 1e9 / perSecond))
        }
        await withTaskGroup(of: (TortureSend, Origin, SendResult).self) { group in
            var inflight = 0
            var closed = false
            while true {
                while !closed, ContinuousClock.now < deadline, inflight < window, due(), let (item, origin) = next() {
                    inflight += 1
                    started += 1
                    group.addTask { (item, origin, await tortureSend(item, userID: userID, connection: c, journal: journal)) }
                }
                if inflight == 0 {
                    if closed || ContinuousClock.now >= deadline { break }
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                guard let (item, origin, result) = await group.next() else { break }
                inflight -= 1
                switch result {
                case .acked(let response):
                    outcome.violations += checkAck(
                        item, response, userID: userID,
                        expectDuplicate: origin == .resend ? true : origin == .new ? false : nil)
                    var acked = item
                    acked.seq = response.event.seq
                    switch origin {
                    case .resend: outcome.resent += 1
                    case .retry:
                        outcome.retried += 1
                        if response.duplicate { outcome.retriedFound += 1 }
                    case .new: break
                    }
                    if origin != .resend {
                        if item.kind == .edit { outcome.edits += 1 } else { outcome.acked += 1 }
                        lastAcked.append(acked)
                        if lastAcked.count > resendCount { lastAcked.removeFirst() }
                    }
                    // About one new message in 16 gets an edit, sent next.
                    if origin == .new, item.kind == .text, fnv1a(item.clientMsgID) % 16 == 0 {
                        let edit = TortureSend(
                            user: user, conversation: item.conversation, clientMsgID: TortureSend.editID(of: item.clientMsgID),
                            kind: .edit, target: response.event.seq)
                        queue.append((edit, .new))
                    }
                case .failed(let failure):
                    if origin != .resend { outcome.unacknowledged.append(item) }
                    switch failure {
                    case .closed: closed = true
                    case .refused(let why): outcome.refusedRequest("\(item.clientMsgID): \(why)")
                    }
                }
            }
        }
        // Queued but never sent (the connection closed first): keep them for the next load.
        if queued < queue.endIndex {
            outcome.unacknowledged += queue[queued...].filter { $0.1 != .resend }.map(\.0)
        }
        outcome.resend = lastAcked
        return outcome
    }
}

/// One user's uploads, one file at a time, chunks pipelined.
struct UploadPlan: Sendable {
    let round: Int
    let maxFileBytes: Int
    let chunkBytes: Int
    let deadline: ContinuousClock.Instant
    let chunkWindow = 4

    func run(
        user: Int, userID: UInt64, connection c: ChatConnection, conversation: UInt64, unfinished: [TortureUpload],
        journal: TortureJournal
    ) async -> LoadOutcome {
        var outcome = LoadOutcome()
        var todo = unfinished
        var n = 0
        while ContinuousClock.now < deadline {
            var upload: TortureUpload
            if todo.isEmpty {
                let seed = "r\(round)u\(user)f\(n)"
                n += 1
                upload = TortureUpload(user: user, seed: seed, size: 1 + Int(fnv1a(seed) % UInt64(maxFileBytes)))
            } else {
                upload = todo.removeFirst()
            }
            let content = upload.content
            let hash = Data(Sodium.blake2b(Array(content)))
            do {
                let begin = try await c.uploadBegin(size: UInt64(upload.size), name: "\(upload.seed).txt", mimeType: "text/plain", blake2b: hash)
                upload.uploadID = begin.uploadID
                let chunk = UInt64(max(1, min(chunkBytes, Int(begin.maxChunkBytes))))
                let pieces = ChatConnection.missingPieces(size: UInt64(upload.size), received: begin.received, chunk: chunk)
                let uploadID = begin.uploadID
                outcome.chunks += try await withThrowingTaskGroup(of: Void.self) { group in
                    var next = 0
                    var done = 0
                    func add() {
                        guard next < pieces.count else { return }
                        let (s, e) = pieces[next]
                        next += 1
                        group.addTask {
                            try await c.uploadChunk(uploadID, offset: s, data: content.subdata(in: Int(s)..<Int(e)))
                            try journal.append(["C", "\(user)", uploadID, "\(s)", "\(e - s)"])
                        }
                    }
                    for _ in 0..<chunkWindow { add() }
                    while try await group.next() != nil {
                        done += 1
                        add()
                    }
                    return done
                }
                let file = try await c.uploadFinish(uploadID)
                try journal.append(["F", "\(user)", uploadID, file.fileID, "\(file.size)", hexString(hash)])
                outcome.files += 1
                upload.uploadID = nil
                let message = TortureSend(user: user, conversation: conversation, clientMsgID: upload.seed, kind: .file, fileID: file.fileID)
                switch await tortureSend(message, userID: userID, connection: c, journal: journal) {
                case .acked(let response):
                    outcome.violations += checkAck(message, response, userID: userID, expectDuplicate: false)
                    outcome.acked += 1
                case .failed(let failure):
                    outcome.unacknowledged.append(message)
                    if case .refused(let why) = failure { outcome.refusedRequest("\(message.clientMsgID): \(why)") }
                    return outcome
                }
            } catch let error as BenchError {
                FileHandle.standardError.write(Data("torture load: \(error)\n".utf8))
                Foundation.exit(2)
            } catch {
                // Unfinished: resumed by the next load (same content, so UploadBegin resumes it).
                outcome.unfinishedUploads.append(upload)
                if case .refused(let why) = RequestFailure(error) { outcome.refusedRequest("upload \(upload.seed): \(why)") }
                return outcome
            }
        }
        return outcome
    }
}
