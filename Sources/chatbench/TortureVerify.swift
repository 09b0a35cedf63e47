import ArgumentParser
import ChatClient
import ChatCrypto
import ChatProtocol
import Foundation

struct TortureVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Checks a restarted chatd against the journal; exits 1 on any violation.",
        discussion: """
            Pages the History of every conversation from seq 1 and checks: seqs run 1..head_seq without a gap
            and nothing is purged; no (sender, client_msg_id) is stored twice; every acknowledged message and
            edit is stored once, at the acknowledged conversation and seq, with its text (the edit's text once
            an edit was acknowledged) and attachment; every finished upload downloads with its size and
            BLAKE2b-256; every acknowledged chunk of an unfinished upload is still listed by UploadStatus; a
            sample of acknowledged messages is found by full-text search. Prints one line of counts, and each
            violation on stderr.
            """)

    @OptionGroup var options: TortureOptions
    @Option(help: "Acknowledged messages looked up by full-text search.") var searches = 20
    @Option(help: "Events per History page (the server caps it at limits.max_history_limit).") var page: UInt32 = 1000

    /// What is checked of a stored event that carries a client_msg_id
    /// (a million of these fit where full events would not).
    struct Stored: Sendable {
        var conversation: UInt64
        var seq: UInt64
        var kind: Chatd_V1_EventKind
        var senderID: UInt64
        var clientMsgID: String
        var text: String
        var fileID: String
        var targetSeq: UInt64
        var editedAtMs: Int64

        init(_ e: Chatd_V1_Event, in conversation: UInt64) {
            self.conversation = conversation
            seq = e.seq
            kind = e.kind
            senderID = e.senderID
            clientMsgID = e.clientMsgID
            text = e.text
            fileID = e.attachment.fileID
            targetSeq = e.targetSeq
            editedAtMs = e.editedAtMs
        }
    }

    func run() async throws {
        let target = try options.target()
        guard var state = try TortureState.load(options.state) else { throw BenchError("no state file at \(options.state)") }
        let records = try TortureJournal.read(options.journal)
        var connections: [ChatConnection] = []
        for i in state.users.indices { connections.append(try await target.tortureConnection(&state.users[i], login: false)) }
        let drains = connections.map(drainPushes)
        defer { for d in drains { d.cancel() } }
        var violations: [String] = []

        // 1. Every conversation's events, from seq 1 (the conversations at
        // once, each read by one of its members).
        let pageSize = page
        let scans = try await withThrowingTaskGroup(of: (Int, ConversationScan).self) { group in
            for (n, conversation) in state.conversations.enumerated() {
                guard !conversation.members.isEmpty else { continue }
                let member = conversation.members[n % conversation.members.count]
                guard connections.indices.contains(member) else { continue }
                let c = connections[member]
                group.addTask { (n, try await ConversationScan.read(conversation.id, with: c, page: pageSize)) }
            }
            var scans: [(Int, ConversationScan)] = []
            for try await scan in group { scans.append(scan) }
            return scans.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var stored: [String: Stored] = [:]
        stored.reserveCapacity(scans.reduce(0) { $0 + $1.stored.count })
        var events = 0
        var messages = 0
        for scan in scans {
            events += scan.events
            messages += scan.messages
            violations += scan.violations
            for (key, s) in scan.stored {
                if let first = stored[key] {
                    violations.append(
                        "DUPLICATE: sender \(s.senderID) client_msg_id \(s.clientMsgID) stored twice: "
                            + "conversation \(first.conversation) seq \(first.seq) and conversation \(s.conversation) seq \(s.seq)")
                } else {
                    stored[key] = s
                }
            }
        }

        // 2. Every acknowledgement in the journal.
        var journaled: [String: (conversation: UInt64, seq: UInt64)] = [:]
        journaled.reserveCapacity(records.count)
        var ackedMessages = 0
        var ackedEdits = 0
        var searchable: [(user: Int, id: String, conversation: UInt64, seq: UInt64)] = []
        var finished: [String: (user: Int, fileID: String, size: UInt64, blake2b: String)] = [:]
        var chunks: [String: (user: Int, ranges: [(UInt64, UInt64)])] = [:]
        func userID(_ user: Int) -> UInt64? { state.users.indices.contains(user) ? state.users[user].id : nil }
        func firstAck(_ key: String, _ conversation: UInt64, _ seq: UInt64, _ what: String) -> Bool {
            if let prior = journaled[key] {
                if prior != (conversation, seq) {
                    violations.append("\(what): acknowledged at conversation \(prior.conversation) seq \(prior.seq) and again at \(conversation) seq \(seq)")
                }
                return false
            }
            journaled[key] = (conversation, seq)
            return true
        }
        for record in records {
            switch record {
            case .message(let user, let conversation, let seq, _, let id, let fileID):
                guard let uid = userID(user) else {
                    violations.append("journal: unknown user \(user)")
                    continue
                }
                let key = "\(uid) \(id)"
                let what = "message \(id) of user \(user) (acked at conversation \(conversation) seq \(seq))"
                guard firstAck(key, conversation, seq, what) else { continue }
                ackedMessages += 1
                guard let s = stored[key] else {
                    violations.append("LOST: \(what) is not stored")
                    continue
                }
                if s.conversation != conversation || s.seq != seq {
                    violations.append("MOVED: \(what) is stored at conversation \(s.conversation) seq \(s.seq)")
                }
                let e = s
                if e.kind != .message { violations.append("\(what): stored as \(e.kind)") }
                if let fileID {
                    if e.text != "file \(id)" { violations.append("\(what): text \(e.text.debugDescription)") }
                    if e.fileID != fileID { violations.append("\(what): attachment \(e.fileID), acked with \(fileID)") }
                } else if e.text != "torture \(id)" && e.text != "edited \(id)" {
                    violations.append("\(what): text \(e.text.debugDescription)")
                } else {
                    searchable.append((user, id, conversation, seq))
                }
            case .edit(let user, let conversation, let seq, _, let id, let target):
                guard let uid = userID(user) else {
                    violations.append("journal: unknown user \(user)")
                    continue
                }
                let key = "\(uid) \(id)"
                let what = "edit \(id) of user \(user) (acked at conversation \(conversation) seq \(seq))"
                guard firstAck(key, conversation, seq, what) else { continue }
                ackedEdits += 1
                guard let s = stored[key] else {
                    violations.append("LOST: \(what) is not stored")
                    continue
                }
                if s.conversation != conversation || s.seq != seq {
                    violations.append("MOVED: \(what) is stored at conversation \(s.conversation) seq \(s.seq)")
                }
                if s.kind != .messageEdited || s.targetSeq != target {
                    violations.append("\(what): stored as \(s.kind) of seq \(s.targetSeq), acked as an edit of seq \(target)")
                }
                let edited = TortureSend.editedID(id)
                if let m = stored["\(uid) \(edited)"] {
                    if m.text != "edited \(edited)" || m.editedAtMs == 0 {
                        violations.append("\(what): message \(edited) reads \(m.text.debugDescription), edited at \(m.editedAtMs)")
                    }
                } else {
                    violations.append("\(what): the edited message \(edited) is not stored")
                }
            case .chunk(let user, let upload, let offset, let length):
                chunks[upload, default: (user, [])].ranges.append((offset, offset + length))
            case .finish(let user, let upload, let fileID, let size, let blake2b):
                finished[upload] = (user, fileID, size, blake2b)
            }
        }
        let ours = Set(state.users.map(\.id))
        var unacknowledgedStored = 0
        for (key, s) in stored where ours.contains(s.senderID) && journaled[key] == nil { unacknowledgedStored += 1 }

        // 3. Finished uploads download whole; acknowledged chunks of the others are still there.
        // A file sent in an acknowledged message may be read by any member (the
        // group holds everyone); else only by its uploader. Each user has at
        // most server.max_concurrent_pages_per_user (1 by default) downloads running.
        var sentFiles = Set<String>()
        for case .message(_, _, _, _, _, let fileID?) in records { sentFiles.insert(fileID) }
        let fileChecks = finished.sorted { $0.key < $1.key }.enumerated().map { n, entry in
            (upload: entry.key, file: entry.value, reader: sentFiles.contains(entry.value.fileID) ? n % connections.count : entry.value.user)
        }
        var filesChecked = 0
        try await withThrowingTaskGroup(of: String?.self) { group in
            var next = 0
            func add() {
                guard next < fileChecks.count else { return }
                let check = fileChecks[next]
                next += 1
                guard connections.indices.contains(check.reader) else { return add() }
                let c = connections[check.reader]
                group.addTask {
                    let f = check.file
                    let what = "file \(f.fileID) (upload \(check.upload) of user \(f.user), finish acknowledged)"
                    do {
                        let data = try await c.downloadFile(f.fileID)
                        let hash = hexString(Sodium.blake2b(Array(data)))
                        if UInt64(data.count) != f.size || hash != f.blake2b {
                            return "\(what): downloaded \(data.count) bytes with BLAKE2b \(hash), acknowledged \(f.size) bytes with \(f.blake2b)"
                        }
                        return nil
                    } catch {
                        return "LOST: \(what): \(error)"
                    }
                }
            }
            for _ in 0..<(2 * connections.count) { add() }
            while let problem = try await group.next() {
                filesChecked += 1
                if let problem { violations.append(problem) }
                add()
            }
        }
        var uploadsChecked = 0
        var uploadsFinishedUnacked = 0
        for (upload, u) in chunks.sorted(by: { $0.key < $1.key }) where finished[upload] == nil {
            guard connections.indices.contains(u.user) else { continue }
            let c = connections[u.user]
            let what = "upload \(upload) of user \(u.user) (\(u.ranges.count) chunks acknowledged)"
            uploadsChecked += 1
            do {
                let status = try await c.uploadStatus(upload)
                var have = ByteRangeSet()
                for r in status.received { have.insert(r.offset, r.offset + r.length) }
                for (s, e) in u.ranges where !have.covers(s, e) {
                    violations.append("LOST: \(what): acknowledged bytes [\(s), \(e)) are not in UploadStatus's \(have)")
                }
            } catch let error as ChatClientError where error.code == .notFound {
                // Gone from the unfinished uploads: finished by a finish whose
                // answer was lost (a retried finish returns the file), else lost.
                do {
                    _ = try await c.uploadFinish(upload)
                    uploadsFinishedUnacked += 1
                } catch {
                    violations.append("LOST: \(what): UploadStatus and UploadFinish answer \(error)")
                }
            }
        }

        // 4. Full-text search finds a sample of the acknowledged messages.
        var searched = 0
        if !searchable.isEmpty && searches > 0 {
            let step = max(1, searchable.count / searches)
            for m in stride(from: searchable.count - 1, through: 0, by: -step).prefix(searches).map({ searchable[$0] }) {
                guard connections.indices.contains(m.user) else { continue }
                let r = try await connections[m.user].searchMessages(m.id, conversation: m.conversation, limit: 5)
                let seqs = r.hits.map(\.seq)
                if seqs != [m.seq] {
                    violations.append("search for \(m.id) in conversation \(m.conversation) found seqs \(seqs), expected [\(m.seq)]")
                }
                searched += 1
            }
        }
        for c in connections { await c.close() }

        print(
            "conversations=\(state.conversations.count) events=\(events) messages_stored=\(messages) acked_checked=\(ackedMessages)"
                + " edits_checked=\(ackedEdits) unacknowledged_stored=\(unacknowledgedStored) files_checked=\(filesChecked)"
                + " uploads_checked=\(uploadsChecked) uploads_finished_unacked=\(uploadsFinishedUnacked) searches=\(searched)"
                + " violations=\(violations.count)")
        for v in violations.prefix(100) { FileHandle.standardError.write(Data("torture verify: VIOLATION: \(v)\n".utf8)) }
        if violations.count > 100 { FileHandle.standardError.write(Data("torture verify: ... \(violations.count - 100) more\n".utf8)) }
        if !violations.isEmpty { throw ExitCode(1) }
    }
}

/// One conversation's History from seq 1, checked for gaps as it is read.
struct ConversationScan: Sendable {
    var events = 0
    var messages = 0
    var violations: [String] = []
    /// Events that carry a client_msg_id, by "sender client_msg_id".
    var stored: [(String, TortureVerify.Stored)] = []

    static func read(_ conversation: UInt64, with c: ChatConnection, page: UInt32) async throws -> ConversationScan {
        var scan = ConversationScan()
        var expected: UInt64 = 1
        var head: UInt64 = 0
        var after: UInt64 = 0
        while true {
            let p = try await c.history(room: conversation, after: after, limit: page)
            head = p.headSeq
            if p.purgedThroughSeq != 0 {
                scan.violations.append("conversation \(conversation): purged_through_seq \(p.purgedThroughSeq) (nothing should be purged)")
            }
            for e in p.events {
                scan.events += 1
                if e.seq != expected {
                    scan.violations.append(
                        "conversation \(conversation): seq \(e.seq) follows \(expected - 1)"
                            + (e.seq > expected ? " (seqs \(expected)...\(e.seq - 1) missing)" : " (out of order or repeated)"))
                }
                expected = e.seq + 1
                if e.conversationID != conversation {
                    scan.violations.append("conversation \(conversation): History returned an event of conversation \(e.conversationID)")
                }
                if e.kind == .message { scan.messages += 1 }
                if !e.clientMsgID.isEmpty {
                    scan.stored.append(("\(e.senderID) \(e.clientMsgID)", .init(e, in: conversation)))
                }
            }
            guard p.hasMore_p, let last = p.events.last?.seq else { break }
            after = last
        }
        if expected - 1 != head {
            scan.violations.append("conversation \(conversation): head_seq is \(head) but the events end at seq \(expected - 1)")
        }
        return scan
    }
}

/// Sorted, merged half-open byte ranges.
struct ByteRangeSet: CustomStringConvertible {
    private(set) var ranges: [(UInt64, UInt64)] = []

    mutating func insert(_ start: UInt64, _ end: UInt64) {
        guard start < end else { return }
        var merged = (start, end)
        var out: [(UInt64, UInt64)] = []
        for r in ranges {
            if r.1 < merged.0 || r.0 > merged.1 {
                out.append(r)
            } else {
                merged = (min(r.0, merged.0), max(r.1, merged.1))
            }
        }
        out.append(merged)
        ranges = out.sorted { $0.0 < $1.0 }
    }

    func covers(_ start: UInt64, _ end: UInt64) -> Bool { ranges.contains { $0.0 <= start && end <= $0.1 } }

    var description: String { "[" + ranges.map { "[\($0.0), \($0.1))" }.joined(separator: ", ") + "]" }
}
