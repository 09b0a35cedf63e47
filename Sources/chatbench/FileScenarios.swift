import ChatClient
import ChatCrypto
import ChatProtocol
import Foundation
import Histogram
import Synchronization

extension Bench {
    /// A client-library connection resumed as `user` (the scenarios below
    /// use the library's file and search helpers, as a real client would).
    func libraryConnection(_ user: BenchUser) async throws -> ChatConnection {
        let c = try await target.client(requestTimeout: .seconds(60))
        _ = try await c.helloAndResume(token: user.token, clientName: "chatbench")
        return c
    }

    // MARK: files

    /// `uploaders` users each upload `files` distinct files of `size` bytes
    /// (pipelined chunks of the server's maximum), then download them back.
    func files(uploaders: Int, files: Int, size: Int, window: Int) async throws -> Report {
        let users = try await target.makeUsers(uploaders, prefix: prefix + "f")
        var connections: [ChatConnection] = []
        for u in users { connections.append(try await libraryConnection(u)) }
        let chunkLatency = HistogramBox()
        let finishLatency = HistogramBox()
        let prefix = self.prefix
        let cpu0 = serverCPU()
        let start = ContinuousClock.now
        let ids = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for (n, c) in connections.enumerated() {
                group.addTask {
                    var ids: [String] = []
                    for f in 0..<files {
                        // A PNG signature, then bytes unique to this file (no dedupe).
                        var data = Data(count: size)
                        let head = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array("\(prefix)-\(n)-\(f)".utf8))
                        data.replaceSubrange(0..<min(size, head.count), with: head.prefix(size))
                        let content = data
                        let hash = Data(Sodium.blake2b(Array(content)))
                        let begin = try await c.uploadBegin(size: UInt64(size), name: "bench.png", mimeType: "image/png", blake2b: hash)
                        let pieces = ChatConnection.missingPieces(size: UInt64(size), received: begin.received, chunk: UInt64(begin.maxChunkBytes))
                        try await withThrowingTaskGroup(of: Void.self) { chunks in
                            var next = 0
                            func add() {
                                guard next < pieces.count else { return }
                                let (s, e) = pieces[next]
                                next += 1
                                chunks.addTask {
                                    let t0 = ContinuousClock.now
                                    try await c.uploadChunk(begin.uploadID, offset: s, data: content.subdata(in: Int(s)..<Int(e)))
                                    let ns = (ContinuousClock.now - t0).nanoseconds
                                    chunkLatency.record(ns)
                                }
                            }
                            for _ in 0..<window { add() }
                            while try await chunks.next() != nil { add() }
                        }
                        let t0 = ContinuousClock.now
                        ids.append(try await c.uploadFinish(begin.uploadID).fileID)
                        let ns = (ContinuousClock.now - t0).nanoseconds
                        finishLatency.record(ns)
                    }
                    return (n, ids)
                }
            }
            var all = Array(repeating: [String](), count: connections.count)
            for try await (n, ids) in group { all[n] = ids }
            return all
        }
        let uploadSeconds = (ContinuousClock.now - start).seconds
        let downloadStart = ContinuousClock.now
        var downloaded = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            for (c, files) in zip(connections, ids) {
                group.addTask {
                    var bytes = 0
                    for id in files { bytes += try await c.downloadFile(id).count }
                    return bytes
                }
            }
            for try await n in group { downloaded += n }
        }
        let downloadSeconds = (ContinuousClock.now - downloadStart).seconds
        let cpu1 = serverCPU()
        for c in connections { await c.close() }
        let total = Double(uploaders * files * size)
        var report = Report(scenario: "files")
        report.parameters = ["uploaders": "\(uploaders)", "files_each": "\(files)", "size": "\(size)", "chunks_in_flight": "\(window)"]
        report.seconds = uploadSeconds + downloadSeconds
        report.rates["upload_mib_per_s"] = total / 1_048_576 / max(uploadSeconds, 0.001)
        report.rates["download_mib_per_s"] = Double(downloaded) / 1_048_576 / max(downloadSeconds, 0.001)
        report.counts["files_uploaded"] = ids.reduce(0) { $0 + $1.count }
        report.counts["bytes_downloaded"] = downloaded
        report.latency["chunk"] = chunkLatency.summary
        report.latency["finish"] = finishLatency.summary
        addServerStats(&report, cpuBefore: cpu0, cpuAfter: cpu1, deliveries: 0)
        return report
    }

    // MARK: search

    /// Seeds a room with `messages` messages drawn from a small vocabulary,
    /// then, `settle` seconds later, measures `queries` searches (newest
    /// first or by rank, 20 hits) from `clients`.
    func search(messages: Int, queries: Int, clients: Int, rank: Bool = false, settle: Double = 0) async throws -> Report {
        let users = try await target.makeUsers(clients, prefix: prefix + "s")
        var create = Chatd_V1_CreateRoomRequest()
        create.name = prefix + "search"
        let room = try Chatd_V1_ConversationResponse(payload: try await users[0].connection.call(.createRoom, create).payload).conversation
        for u in users.dropFirst() {
            var join = Chatd_V1_JoinRoomRequest()
            join.roomID = room.id
            _ = try await u.connection.call(.joinRoom, join)
        }
        let words = ["apple", "river", "falcon", "orbit", "copper", "meadow", "signal", "lantern", "glacier", "harbor",
                     "pixel", "thunder", "velvet", "quartz", "saffron", "tundra", "walnut", "zephyr", "ember", "cobalt"]
        let texts = (0..<messages).map { n in (0..<8).map { _ in words.randomElement() ?? "" }.joined(separator: " ") + " \(n)" }
        let seedStart = ContinuousClock.now
        let sender = try await libraryConnection(users[0])
        let roomID = room.id
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                guard next < texts.count else { return }
                let text = texts[next]
                next += 1
                group.addTask { _ = try await sender.send(room: roomID, text: text) }
            }
            for _ in 0..<64 { add() }
            while try await group.next() != nil { add() }
        }
        let seedSeconds = (ContinuousClock.now - seedStart).seconds
        if settle > 0 { try await Task.sleep(for: .milliseconds(Int(settle * 1000))) }
        var connections: [ChatConnection] = [sender]
        for u in users.dropFirst() { connections.append(try await libraryConnection(u)) }
        let queryTexts = ["falcon", "\"copper meadow\"", "orb*", "glacier OR tundra", "quartz -ember", "saffron walnut zephyr"]
        let latency = HistogramBox()
        let hits = Counter()
        let cpu0 = serverCPU()
        let start = ContinuousClock.now
        let clientCount = connections.count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, c) in connections.enumerated() {
                group.addTask {
                    for q in stride(from: n, to: queries, by: clientCount) {
                        let t0 = ContinuousClock.now
                        let r = try await c.searchMessages(queryTexts[q % queryTexts.count], order: rank ? .rank : .newest, limit: 20)
                        let ns = (ContinuousClock.now - t0).nanoseconds
                        latency.record(ns)
                        hits.add(r.hits.count)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - start).seconds
        let cpu1 = serverCPU()
        for c in connections { await c.close() }
        var report = Report(scenario: "search")
        report.parameters = [
            "messages": "\(messages)", "queries": "\(queries)", "clients": "\(clients)", "order": rank ? "rank" : "newest",
            "settle_s": "\(settle)",
        ]
        report.seconds = seconds
        report.rates["searches_per_s"] = Double(queries) / max(seconds, 0.001)
        report.rates["seed_messages_per_s"] = Double(messages) / max(seedSeconds, 0.001)
        report.counts["hits_returned"] = hits.count
        report.latency["search"] = latency.summary
        addServerStats(&report, cpuBefore: cpu0, cpuAfter: cpu1, deliveries: 0)
        return report
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var nanoseconds: UInt64 { UInt64(max(0, Double(components.seconds) * 1e9 + Double(components.attoseconds) / 1e9)) }
}

/// A latency histogram shared by concurrent tasks.
final class HistogramBox: Sendable {
    private let histogram = Mutex(Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three))
    func record(_ ns: UInt64) { histogram.withLock { _ = $0.record(ns) } }
    var summary: LatencySummary { histogram.withLock { LatencySummary($0) } }
}
