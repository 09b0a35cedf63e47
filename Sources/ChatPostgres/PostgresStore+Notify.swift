import ChatCore
import Logging
import NIOCore
import PostgresNIO

/// Cross-node delivery (DESIGN §9, issue 14 item 3), at the store: a
/// committed write NOTIFYs inside its transaction what it appended (so only
/// committed changes are announced, and PostgreSQL delivers them in commit
/// order); a node that LISTENs reads those events from the database and
/// hands them to its event observer, as if it had committed them. Every
/// conversation's stream reaches the observer in seq order, exactly once:
/// before any event past the last one handed over, the gap is read from
/// the database first (a notification that came late, one missed while the
/// listening connection was down).
extension PostgresStore {
    static let channel = "chatd_changes"
    /// PostgreSQL's payload limit is 8000 bytes; entries go in notifications of at most this.
    static let maxPayloadBytes = 7900

    /// The notifications announcing `changes`: "node;c<conversation>:<first>-<last>;a<user>:<first>-<last>...".
    static func notifications(_ changes: CommittedChanges, node: String) -> [String] {
        var entries: [String] = []
        var ranges: [(ConversationID, Seq, Seq)] = []
        // A batch's sends to one conversation in one range, whatever else came between.
        let ordered = changes.events.sorted { ($0.conversationID, $0.seq) < ($1.conversationID, $1.seq) }
        for event in ordered {
            if let last = ranges.last, last.0 == event.conversationID, last.2 + 1 == event.seq {
                ranges[ranges.count - 1].2 = event.seq
            } else {
                ranges.append((event.conversationID, event.seq, event.seq))
            }
        }
        entries += ranges.map { "c\($0.0):\($0.1)-\($0.2)" }
        entries += changes.accountEvents.map { "a\($0.userID):\($0.seq)-\($0.seq)" }
        // What the fan-out indexes learn from the commit itself.
        entries += changes.deletedConversations.map { "d\($0.0)" }
        entries += changes.contactsAdded.map { "f\($0.0):\($0.1)" }
        entries += changes.contactsRemoved.map { "g\($0.0):\($0.1)" }
        var payloads: [String] = []
        var current = node
        for entry in entries {
            if current.utf8.count + entry.utf8.count + 1 > maxPayloadBytes {
                payloads.append(current)
                current = node
            }
            current += ";" + entry
        }
        if current != node { payloads.append(current) }
        return payloads
    }

    struct Announcement: Equatable {
        var node: String
        var conversations: [(ConversationID, Seq, Seq)]
        var accounts: [(UserID, Seq, Seq)]
        var deleted: [ConversationID] = []
        var contactsAdded: [(UserID, UserID)] = []
        var contactsRemoved: [(UserID, UserID)] = []

        static func == (a: Self, b: Self) -> Bool {
            a.node == b.node && a.conversations.map { [$0.0, $0.1, $0.2] } == b.conversations.map { [$0.0, $0.1, $0.2] }
                && a.accounts.map { [$0.0, $0.1, $0.2] } == b.accounts.map { [$0.0, $0.1, $0.2] }
                && a.deleted == b.deleted && a.contactsAdded.map { [$0.0, $0.1] } == b.contactsAdded.map { [$0.0, $0.1] }
                && a.contactsRemoved.map { [$0.0, $0.1] } == b.contactsRemoved.map { [$0.0, $0.1] }
        }
    }

    /// Parses a payload; nil when it is not one (another program on the channel).
    static func announcement(_ payload: String) -> Announcement? {
        let parts = payload.split(separator: ";")
        guard let node = parts.first else { return nil }
        var result = Announcement(node: String(node), conversations: [], accounts: [])
        for part in parts.dropFirst() {
            guard let kind = part.first else { return nil }
            let fields = part.dropFirst().split(whereSeparator: { $0 == ":" || $0 == "-" })
            let numbers = fields.compactMap { Int64($0) }
            guard numbers.count == fields.count else { return nil }
            switch (kind, numbers.count) {
            case ("c", 3) where numbers[1] <= numbers[2]: result.conversations.append((numbers[0], numbers[1], numbers[2]))
            case ("a", 3) where numbers[1] <= numbers[2]: result.accounts.append((numbers[0], numbers[1], numbers[2]))
            case ("d", 1): result.deleted.append(numbers[0])
            case ("f", 2): result.contactsAdded.append((numbers[0], numbers[1]))
            case ("g", 2): result.contactsRemoved.append((numbers[0], numbers[1]))
            default: return nil
            }
        }
        return result
    }

    /// NOTIFYs what the transaction appended (`notifications`); delivered only if it commits.
    func announce(_ s: PGSession, _ payloads: [String]) throws {
        for payload in payloads {
            try s.execute(Self.notifySQL, [Self.channel, payload])
        }
    }

    static let notifySQL = PGStatement("SELECT pg_notify(?::text, ?::text)", bookkept: true)
    static let eventRangeSQL = PGStatement(
        "SELECT \(eventColumns) FROM events WHERE conversation_id = ? AND seq BETWEEN ? AND ? ORDER BY seq")
    /// Every range of an announcement in one statement (one round trip,
    /// where a statement per range cost one each), in the announcement's
    /// order and each range in seq order. Each range is a lateral
    /// subquery (its ORDER BY keeps it one), so the plan is an index range
    /// scan per range whatever PostgreSQL estimates: as a join, with
    /// statistics from when `events` was small, it hashed the ranges and
    /// read the whole table (5–16 ms per call after 10 s of sends).
    static let eventRangesSQL = PGStatement(
        """
        SELECT e.* FROM unnest(?1::bigint[], ?2::bigint[], ?3::bigint[]) WITH ORDINALITY AS r(rc, rf, rl, rn)
        CROSS JOIN LATERAL (
          SELECT \(eventColumns) FROM events WHERE conversation_id = r.rc AND seq BETWEEN r.rf AND r.rl ORDER BY seq) e
        ORDER BY r.rn, e.seq
        """, plannedEachCall: true)

    static func eventRanges(_ s: PGSession, _ ranges: [(ConversationID, Seq, Seq)]) throws -> [Event] {
        switch ranges.count {
        case 0: return []
        case 1: return try s.rows(eventRangeSQL, [ranges[0].0, ranges[0].1, ranges[0].2]).map(event)
        default:
            return try s.rows(
                eventRangesSQL,
                [PGArray(ranges.map { Optional($0.0) }), PGArray(ranges.map { Optional($0.1) }), PGArray(ranges.map { Optional($0.2) })]
            ).map(event)
        }
    }

    /// Hands `batch` to the observer in one call (the commit lock held),
    /// each conversation's events from the one after the last handed over,
    /// the gap read first.
    func publish(_ batch: [CommittedChanges], _ s: PGSession) {
        let out = batch.map { unpublished($0, s) }.filter { !$0.isEmpty }
        if !out.isEmpty { observer.withLockedValue { $0 }?.body(out) }
    }

    /// What of `changes` has not been handed over yet, with any gap before it.
    private func unpublished(_ changes: CommittedChanges, _ s: PGSession) -> CommittedChanges {
        var out = changes
        out.events = []
        for event in changes.events {
            let head = published.heads[event.conversationID]
            if let head, event.seq <= head { continue }
            if let head, event.seq > head + 1 {
                do {
                    out.events += try s.rows(Self.eventRangeSQL, [event.conversationID, head + 1, event.seq - 1]).map(Self.event)
                } catch {
                    // What was committed stays committed: its clients see the gap and catch up with History.
                    logger.warning("could not read a gap to publish", metadata: ["chatd.error": "\(Self.translate(error))"])
                }
            }
            out.events.append(event)
            published.heads[event.conversationID] = event.seq
        }
        out.accountEvents = []
        for event in changes.accountEvents {
            let head = published.accountHeads[event.userID]
            if let head, event.seq <= head { continue }
            if let head, event.seq > head + 1 {
                do {
                    out.accountEvents += try Self.accountEvents(s, user: event.userID, from: head + 1, to: event.seq - 1)
                } catch {
                    logger.warning("could not read a gap to publish", metadata: ["chatd.error": "\(Self.translate(error))"])
                }
            }
            out.accountEvents.append(event)
            published.accountHeads[event.userID] = event.seq
        }
        return out
    }

    /// Reads what another node announced and publishes it.
    func publishAnnounced(_ a: Announcement) async throws {
        try await read { s in
            var changes = CommittedChanges()
            changes.events = try Self.eventRanges(s, a.conversations)
            for (user, first, last) in a.accounts {
                changes.accountEvents += try Self.accountEvents(s, user: user, from: first, to: last)
            }
            changes.deletedConversations = a.deleted.map { ($0, []) }
            changes.contactsAdded = a.contactsAdded
            changes.contactsRemoved = a.contactsRemoved
            changes.announced = true
            self.commitLock.withLock { self.publish([changes], s) }
        }
    }

    /// Where every conversation's and account's stream stands, so that
    /// whatever commits from now on is published here: announced, or found
    /// by `catchUp` when LISTEN takes effect (a stream this node has not
    /// seen yet starts at 0). Earlier events reach clients through Sync and
    /// History. The daemon calls it before it loads the memberships its
    /// fan-out works from and before it serves clients: what other nodes
    /// commit until its LISTEN is in force (a join, a message to a client
    /// already connected here) is then published by `catchUp`, not skipped.
    public func loadHeads() async throws {
        try await read { s in
            let conversations = try s.rows("SELECT id, last_seq FROM conversations")
            let users = try s.rows("SELECT id, account_seq FROM users")
            self.commitLock.withLock {
                self.published.loaded = true
                for row in conversations {
                    let (id, seq) = (row[0].int, row[1].int)
                    self.published.heads[id] = max(self.published.heads[id] ?? 0, seq)
                }
                for row in users {
                    let (id, seq) = (row[0].int, row[1].int)
                    self.published.accountHeads[id] = max(self.published.accountHeads[id] ?? 0, seq)
                }
            }
        }
    }

    /// Catches up when LISTEN takes effect (after the heads were loaded, or
    /// after the listening connection was down): every stream
    /// that moved past what this node published, from the database, in
    /// seq order. (Deleted conversations and contact changes announced
    /// meanwhile are not recovered: the fan-out keeps a stale index entry
    /// until the next restart, which pushes nothing wrong.)
    func catchUp() async throws {
        try await read { s in
            try self.commitLock.withLock {
                var changes = CommittedChanges()
                for row in try s.rows("SELECT id, last_seq FROM conversations ORDER BY id") {
                    let (conversation, last) = (row[0].int, row[1].int)
                    let head = self.published.heads[conversation] ?? 0
                    guard last > head else { continue }
                    changes.events += try s.rows(
                        "SELECT \(Self.eventColumns) FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq",
                        [conversation, head]
                    ).map(Self.event)
                }
                for row in try s.rows("SELECT id, account_seq FROM users ORDER BY id") {
                    let (user, last) = (row[0].int, row[1].int)
                    let head = self.published.accountHeads[user] ?? 0
                    guard last > head else { continue }
                    changes.accountEvents += try Self.accountEvents(s, user: user, from: head + 1, to: last)
                }
                changes.announced = true
                self.publish([changes], s)
            }
        }
    }

    static let accountEventRangeSQL = PGStatement(
        """
        SELECT seq, kind, conversation_id, other_user_id, device_id, reason, created_at FROM account_events
        WHERE user_id = ? AND seq BETWEEN ? AND ? ORDER BY seq
        """)

    static func accountEvents(_ s: PGSession, user: UserID, from first: Seq, to last: Seq) throws -> [AccountEvent] {
        try s.rows(accountEventRangeSQL, [user, first, last]).compactMap { row in
            AccountEventKind(rawValue: row[1].text).map {
                AccountEvent(
                    userID: user, seq: row[0].int, kind: $0, conversationID: row[2].intOrNil, otherUserID: row[3].intOrNil,
                    deviceID: row[4].textOrNil, reason: row[5].textOrNil, createdAt: row[6].int)
            }
        }
    }

    /// LISTENs for other nodes' commits until cancelled, publishing them to
    /// the event observer; reconnects (after `retry`) and catches up when
    /// the connection is lost.
    public func listenForOtherNodes(retry: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: Self.connectionConfiguration(settings), id: 1, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: Self.channel) { notifications in
                    // Whatever was committed before LISTEN took effect, since
                    // the heads were loaded (by the daemon before it serves
                    // anyone, or now, the first time).
                    if self.commitLock.withLock({ self.published.loaded }) { try await catchUp() } else { try await loadHeads() }
                    listening.withLockedValue { $0 = true }
                    listeningObserver.withLockedValue { $0 }?.body()
                    for try await notification in notifications {
                        if let (from, lines) = Self.signalLines(notification.payload) {
                            guard from != node, let observer = signalObserver.withLockedValue({ $0 }) else { continue }
                            for line in lines { observer.body(from, line) }
                            continue
                        }
                        guard let a = Self.announcement(notification.payload), a.node != node else { continue }
                        try await publishAnnounced(a)
                    }
                }
            } catch {
                logger.warning("listening for other nodes failed; retrying", metadata: ["chatd.error": "\(Self.translate(error))"])
            }
            listening.withLockedValue { $0 = false }
            try? await Task.sleep(for: retry)
        }
    }

    /// Whether the LISTEN connection is up (tests wait for it).
    public var isListening: Bool { listening.withLockedValue { $0 } }
}
