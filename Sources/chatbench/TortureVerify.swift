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

    /// A stored event that carries a client_msg_id.
    struct Stored {
        var conversation: UInt64
        var seq: UInt64
        var event: Chatd_V1_Event
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

        // 1. Every conversation's events, from seq 1.
        var stored: [String: Stored] = [:]
        var events = 0
        var messages = 0
        for conversation in state.conversations {
            guard let member = conversation.members.first, connections.indices.contains(member) else { continue }
            let c = connections[member]
            var expected: UInt64 = 1
            var head: UInt64 = 0
            var after: UInt64 = 0
            while true {
                let p = try await c.history(room: conversation.id, after: after, limit: page)
                head = p.headSeq
                if p.purgedThroughSeq != 0 {
                    violations.append("conversation \(conversation.id): purged_through_seq \(p.purgedThroughSeq) (nothing should be purged)")
                }
                for e in p.events {
                    events += 1
                    if e.seq != expected {
                        violations.append(
                            "conversation \(conversation.id): seq \(e.seq) follows \(expected - 1)"
                                + (e.seq > expected ? " (seqs \(expected)...\(e.seq - 1) missing)" : " (out of order or repeated)"))
                    }
                    expected = e.seq + 1
                    if e.conversationID != conversation.id {
                        violations.append("conversation \(conversation.id): History returned an event of conversation \(e.conversationID)")
                    }
                    if e.kind == .message { messages += 1 }
                    guard !e.clientMsgID.isEmpty else { continue }
                    let key = "\(e.senderID) \(e.clientMsgID)"
                    if let first = stored[key] {
                        violations.append(
                            "DUPLICATE: sender \(e.senderID) client_msg_id \(e.clientMsgID) stored twice: conversation \(first.conversation) seq \(first.seq) and conversation \(conversation.id) seq \(e.seq)"
                        )
                    } else {
                        stored[key] = Stored(conversation: conversation.id, seq: e.seq, event: e)
                    }
                }
                guard p.hasMore_p, let last = p.events.last?.seq else { break }
                after = last
            }
            if expected - 1 != head {
                violations.append("conversation \(conversation.id): head_seq is \(head) but the events end at seq \(expected - 1)")
            }
        }

        // 2. Every acknowledgement in the journal.
        var journaled: [String: (conversation: UInt64, seq: UInt64)] = [:]
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
                let e = s.event
                if e.kind != .message { violations.append("\(what): stored as \(e.kind)") }
                if let fileID {
                    if e.text != "file \(id)" { violations.append("\(what): text \(e.text.debugDescription)") }
                    if e.attachment.fileID != fileID { violations.append("\(what): attachment \(e.attachment.fileID), acked with \(fileID)") }
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
                if s.event.kind != .messageEdited || s.event.targetSeq != target {
                    violations.append("\(what): stored as \(s.event.kind) of seq \(s.event.targetSeq), acked as an edit of seq \(target)")
                }
                let edited = TortureSend.editedID(id)
                if let m = stored["\(uid) \(edited)"] {
                    if m.event.text != "edited \(edited)" || m.event.editedAtMs == 0 {
                        violations.append("\(what): message \(edited) reads \(m.event.text.debugDescription), edited at \(m.event.editedAtMs)")
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
        let unacknowledgedStored = stored.filter { ours.contains($0.value.event.senderID) && journaled[$0.key] == nil }.count

        // 3. Finished uploads download whole; acknowledged chunks of the others are still there.
        var filesChecked = 0
        for (upload, f) in finished.sorted(by: { $0.key < $1.key }) {
            guard connections.indices.contains(f.user) else { continue }
            let what = "file \(f.fileID) (upload \(upload) of user \(f.user), finish acknowledged)"
            do {
                let data = try await connections[f.user].downloadFile(f.fileID)
                let hash = hexString(Sodium.blake2b(Array(data)))
                if UInt64(data.count) != f.size || hash != f.blake2b {
                    violations.append("\(what): downloaded \(data.count) bytes with BLAKE2b \(hash), acknowledged \(f.size) bytes with \(f.blake2b)")
                }
                filesChecked += 1
            } catch {
                violations.append("LOST: \(what): \(error)")
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
