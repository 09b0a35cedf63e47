import ArgumentParser
import ChatBuildInfo
import ChatClient
import Foundation
import NIOPosix

@main
struct ChatBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatbench",
        abstract: "Load generator and benchmark for a running chatd.",
        discussion: """
            Point it at a chatd (--server) and, to report server CPU and memory, at its process id (--pid).
            The server should allow many registrations and logins from one address (see tools/bench, which
            starts a suitably configured chatd and runs every scenario).
            """,
        version: BuildInfo.description,
        subcommands: [
            Direct.self, Fanout.self, Connect.self, LoginStorm.self, Reconnect.self, Files.self, Search.self, Hoard.self,
            Torture.self, Handshakes.self, HandshakeFlood.self, Fairness.self, Push.self,
        ])
}

struct Common: ParsableArguments {
    @Option(help: "chatd address host:port; several nodes on one database: host:port,host:port,… (users spread over them in turn).")
    var server = "127.0.0.1:7600"
    @Option(help: "chatd's process id, for CPU and RSS from /proc (several nodes: pid,pid,…, summed).") var pid: String?
    @Option(help: "Event loop threads of the load generator.") var threads = 1
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Connect with TLS (--server is chatd's tls.listen).") var tls = false
    @Option(help: "PEM file of the CA that signed chatd's certificate (implies --tls).") var ca: String?
    @Flag(
        help: """
            At an offered rate, every sender sends its k-th message at the same instant (bursts of one message \
            per sender), as chatbench did before 2026-12-05; by default the senders' schedules are spread evenly.
            """)
    var synchronized = false

    func bench() throws -> Bench {
        let tls = try (tls || ca != nil) ? ChatTLS(caFile: ca) : nil
        let pids = try pid.map { list in
            try list.split(separator: ",").map { item in
                guard let pid = Int32(item) else { throw ValidationError("--pid must be a process id, or several separated by commas") }
                return pid
            }
        }
        return Bench(
            target: try Target(server: server, threads: threads, tls: tls), proc: pids.map(ProcStats.init(pids:)),
            synchronized: synchronized)
    }

    func emit(_ report: Report) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.table(), terminator: "")
        }
    }
}

struct Direct: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pairs of users exchanging durable 1:1 messages.")
    @OptionGroup var common: Common
    @Option(help: "Pairs of users.") var pairs = 50
    @Option(help: "Total offered messages per second; 0 = flat out.") var rate: Double = 0
    @Option(help: "Flat out: requests in flight per sender.") var inflight = 16
    @Option(help: "Warm-up seconds (not measured).") var warmup: Double = 2
    @Option(help: "Measured seconds.") var duration: Double = 10

    func run() async throws {
        let b = try common.bench()
        try common.emit(try await b.direct(pairs: pairs, rate: rate, inflight: inflight, warmup: warmup, duration: duration))
    }
}

struct Fanout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One room of M members; senders at an offered rate.")
    @OptionGroup var common: Common
    @Option(help: "Room members (each its own connection).") var members = 100
    @Option(help: "How many of them send.") var senders = 4
    @Option(help: "Total offered messages per second; 0 = flat out.") var rate: Double = 0
    @Option(help: "Flat out: requests in flight per sender.") var inflight = 16
    @Option(help: "Receivers that decode pushes to measure latency.") var measured = 20
    @Option var warmup: Double = 2
    @Option var duration: Double = 10

    func run() async throws {
        let b = try common.bench()
        try common.emit(
            try await b.fanout(
                members: members, senders: senders, rate: rate, inflight: inflight, warmup: warmup, duration: duration,
                measured: measured))
    }
}

struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fan-out in a room whose offline members have push targets, against the same room without: issue 17.",
        discussion: """
            Starts an HTTP sink on --sink that answers every POST 200 {"rejected":[]} and counts them. chatd must
            allow http and loopback endpoints ([push] allow_http and allow_private_addresses) and, for gateway
            targets, have gateway_url = "http://<sink>/_matrix/push/v1/notify" (tools/bench push does this).
            """)
    @OptionGroup var common: Common
    @Option(help: "Members of each of the two rooms.") var members = 1000
    @Option(help: "Members who registered and left (with push targets in the push room).") var offline = 900
    @Option(help: "How many of the connected members send.") var senders = 4
    @Option(help: "Total offered messages per second; 0 = flat out.") var rate: Double = 0
    @Option(help: "Flat out: requests in flight per sender.") var inflight = 16
    @Option(help: "Receivers that decode pushes to measure latency.") var measured = 20
    @Option(help: "Push targets: mixed (half UnifiedPush, half gateway), unified or gateway.") var targets = PushTargetMix.mixed
    @Option(help: "Address of the HTTP sink (host:port; port 0: any free one, UnifiedPush only).") var sink = "127.0.0.1:7653"
    @Option(help: "Milliseconds the sink waits before each answer (a remote gateway's latency).") var sinkDelayMs = 0
    @Option(help: "Off/on phase pairs.") var rounds = 2
    @Option(
        help: """
            Seconds without a notification that end a phase's drain: longer than chatd's push.min_interval_seconds \
            plus its spread (a quarter), or notes waiting for their interval reach the sink in the next phase.
            """)
    var quiet: Double = 7
    @Option var warmup: Double = 2
    @Option var duration: Double = 10

    func run() async throws {
        guard let colon = sink.lastIndex(of: ":"), let port = Int(sink[sink.index(after: colon)...]) else {
            throw ValidationError("--sink must be host:port")
        }
        let b = try common.bench()
        let http = PushSink(delayMs: sinkDelayMs)
        let bound = try await http.start(host: String(sink[..<colon]), port: port)
        do {
            let report = try await b.push(
                members: members, offline: offline, senders: senders, rate: rate, inflight: inflight, measured: measured,
                warmup: warmup, duration: duration, rounds: rounds, quiet: quiet, targets: targets, sink: http, sinkPort: bound)
            await http.stop()
            try common.emit(report)
        } catch {
            await http.stop()
            throw error
        }
    }
}

struct Fairness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One user's History and send latency, alone and while another user floods the server with expensive requests.")
    @OptionGroup var common: Common
    @Option(help: "Rooms the abusive user is a member of (Sync and search cover them all).") var rooms = 200
    @Option(help: "The abusive user's connections.") var connections = 4
    @Option(help: "Requests each abusive connection keeps in flight.") var inflight = 32
    @Option(help: "The ordinary user's History+send pairs per second.") var rate: Double = 50
    @Option var warmup: Double = 2
    @Option var duration: Double = 10

    func run() async throws {
        let b = try common.bench()
        try common.emit(
            try await b.fairness(rooms: rooms, connections: connections, inflight: inflight, rate: rate, warmup: warmup, duration: duration))
    }
}

struct Hoard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Peers that never read, pipelining History pages: the server's RSS stays bounded.")
    @OptionGroup var common: Common
    @Option(help: "Connections that never read.") var connections = 1000
    @Option(help: "Distinct users the connections resume as.") var users = 10
    @Option(help: "Messages in the room (each page carries up to 200).") var messages = 100
    @Option(help: "Bytes per message.") var messageBytes = 8000
    @Option(help: "History requests each connection pipelines.") var requests = 64
    @Option(help: "Loopback source addresses 127.0.0.1...127.0.0.N.") var sources = 4
    @Option(help: "Seconds to watch the server's RSS.") var hold: Double = 15

    func run() async throws {
        let limit = raiseFileLimit()
        let count = min(connections, max(1, limit - 200))
        let b = try common.bench()
        try common.emit(
            try await b.hoard(
                connections: count, users: users, messages: messages, messageBytes: messageBytes, requests: requests,
                sources: sources, hold: hold))
    }
}

struct Connect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "N authenticated idle connections (token resume).")
    @OptionGroup var common: Common
    @Option(help: "Connections to open.") var connections = 1000
    @Option(help: "Distinct users the connections resume as.") var users = 10
    @Option(help: "Loopback source addresses 127.0.0.1...127.0.0.N.") var sources = 4
    @Option(help: "Seconds to hold the connections before measuring RSS.") var hold: Double = 2
    @Option(help: "Connection attempts in flight.") var concurrency = 256

    func run() async throws {
        let limit = raiseFileLimit()
        var count = connections
        var note: String?
        if limit < connections + 200 {
            count = max(1, limit - 200)
            note = "open-file limit \(limit) (hard): measured \(count) connections instead of \(connections)"
            FileHandle.standardError.write(Data("chatbench: \(note ?? "")\n".utf8))
        }
        let b = try common.bench()
        var report = try await b.connect(count: count, users: users, sources: sources, hold: hold, concurrency: concurrency)
        if let note { report.notes.append(note) }
        try common.emit(report)
    }
}

struct LoginStorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login-storm", abstract: "Password logins above the hashing capacity while direct traffic runs.")
    @OptionGroup var common: Common
    @Option var pairs = 20
    @Option(help: "Chat messages per second during both phases.") var rate: Double = 2000
    @Option(help: "Password logins offered per second.") var loginRate: Double = 200
    @Option var duration: Double = 8

    func run() async throws {
        let b = try common.bench()
        try common.emit(try await b.loginStorm(pairs: pairs, rate: rate, loginRate: loginRate, duration: duration))
    }
}

struct Reconnect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Many clients drop, miss events, resume and catch up.")
    @OptionGroup var common: Common
    @Option var clients = 200
    @Option(help: "Events sent while they are away.") var missed = 100
    @Option(help: "Times they all drop and resume; rates cover every burst, the last one catches up.") var bursts = 1

    func run() async throws {
        let b = try common.bench()
        try common.emit(try await b.reconnect(clients: clients, missed: missed, bursts: bursts))
    }
}

struct Files: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resumable uploads (durable chunks) and downloads.")
    @OptionGroup var common: Common
    @Option(help: "Users uploading at once.") var uploaders = 4
    @Option(help: "Files each uploads.") var files = 4
    @Option(help: "Bytes per file.") var size = 8 << 20
    @Option(help: "Chunks in flight per upload.") var window = 4

    func run() async throws {
        let b = try common.bench()
        try common.emit(try await b.files(uploaders: uploaders, files: files, size: size, window: window))
    }
}

struct Handshakes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Full TLS handshakes per second (needs --tls).")
    @OptionGroup var common: Common
    @Option(help: "Clients handshaking at once.") var concurrency = 16
    @Option var duration: Double = 10

    func run() async throws {
        let b = try common.bench()
        try common.emit(try await b.handshakes(concurrency: concurrency, duration: duration))
    }
}

struct HandshakeFlood: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handshake-flood",
        abstract: "Chat traffic (--server) alone, then while recorded ClientHellos flood the TLS listener.")
    @OptionGroup var common: Common
    @Option(help: "chatd's TLS listener host:port (the flood's target).") var tlsServer: String
    @Option(help: "PEM file of the CA that signed the TLS listener's certificate.") var tlsCa: String?
    @Option var pairs = 20
    @Option(help: "Chat messages per second during both phases.") var rate: Double = 2000
    @Option(help: "Flooding peers, each replaying a ClientHello and hanging up once answered.") var flooders = 64
    @Option var duration: Double = 8

    func run() async throws {
        let b = try common.bench()
        let tls = try ChatTLS(caFile: tlsCa)
        let flood = try Target(server: tlsServer, threads: 1, tls: tls)
        try common.emit(
            try await b.handshakeFlood(tlsServer: flood, pairs: pairs, rate: rate, flooders: flooders, duration: duration))
    }
}

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Full-text search latency over a seeded room.")
    @OptionGroup var common: Common
    @Option(help: "Messages seeded first.") var messages = 20_000
    @Option(help: "Searches measured.") var queries = 2000
    @Option(help: "Concurrent searching clients (room members).") var clients = 4
    @Flag(help: "Best match first (BM25) instead of newest first.") var rank = false
    @Option(help: "Seconds to wait between seeding and searching (e.g. for the index's merging when quiet to finish).")
    var settle: Double = 0

    func validate() throws {
        guard settle >= 0, settle <= 3600 else { throw ValidationError("--settle takes 0 to 3600 seconds") }
    }

    func run() async throws {
        let b = try common.bench()
        try common.emit(try await b.search(messages: messages, queries: queries, clients: clients, rank: rank, settle: settle))
    }
}
