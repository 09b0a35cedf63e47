/// The notifications waiting to be sent (spec/PROTOCOL.md §4.8), as a
/// value: no I/O, no clock of its own.
///
/// One entry per user. An entry holds at most one note per conversation
/// (a newer message replaces the older one: the latest counts win, and a
/// mention is kept), and at most one request per user is in flight, so a
/// device gets one notification at a time. A failed send is retried with
/// exponential backoff; a newer note waits for the same retry time. After
/// a send, the user's next note waits until `minIntervalMs` (plus the
/// user's spread, below) has passed (a
/// busy conversation makes one notification per interval, with the latest
/// counts; the first after a quiet spell goes at once). The queue holds at
/// most `capacity` notes: a note for a conversation that has none is
/// dropped when it is full, and counted.
public struct PushQueue: Sendable {
    /// One message a member should hear of.
    public struct Note: Sendable, Equatable {
        public var user: UserID
        public var conversation: ConversationID
        public var seq: Seq
        public var sender: UserID
        public var mentioned: Bool
        /// The message's text when notifications carry content (cut to `PushPolicy.maxTextBytes`).
        public var text: String?

        public init(user: UserID, conversation: ConversationID, seq: Seq, sender: UserID, mentioned: Bool, text: String? = nil) {
            self.user = user
            self.conversation = conversation
            self.seq = seq
            self.sender = sender
            self.mentioned = mentioned
            self.text = text
        }
    }

    /// A send to carry out: the note, and the devices to send it to (nil:
    /// every target the user has; a retry goes only to those that failed).
    public struct Send: Sendable, Equatable {
        public var note: Note
        public var devices: Set<DeviceRowID>?
        public var attempt: Int
    }

    private struct Entry: Sendable {
        /// Notes in arrival order of their conversation, one per conversation.
        var notes: [Note] = []
        var inFlight = false
        /// A failed send's note, its devices and its attempt, due at `notBefore`.
        var retry: Send?
        var notBefore: Millis = 0

        /// Replaces the note for `note`'s conversation when `note` is newer
        /// (a mention is kept); false when there is none.
        mutating func merge(_ note: Note) -> Bool {
            guard let i = notes.firstIndex(where: { $0.conversation == note.conversation }) else { return false }
            if note.seq > notes[i].seq {
                let mentioned = notes[i].mentioned
                notes[i] = note
                notes[i].mentioned = notes[i].mentioned || mentioned
            }
            return true
        }

        /// The next send, marked in flight: the retry, or the oldest note.
        /// `replacedRetry`: a newer note of the retry's conversation goes
        /// to every device instead.
        mutating func start() -> (send: Send, replacedRetry: Bool)? {
            let result: (send: Send, replacedRetry: Bool)
            if let retry {
                if let i = notes.firstIndex(where: { $0.conversation == retry.note.conversation }) {
                    var newer = notes.remove(at: i)
                    newer.mentioned = newer.mentioned || retry.note.mentioned
                    result = (Send(note: newer, devices: nil, attempt: 1), true)
                } else {
                    result = (retry, false)
                }
                self.retry = nil
            } else if !notes.isEmpty {
                result = (Send(note: notes.removeFirst(), devices: nil, attempt: 1), false)
            } else {
                return nil
            }
            inFlight = true
            return result
        }
    }

    public enum Added: Sendable, Equatable {
        /// A new note.
        case queued
        /// Replaced the user's note for the same conversation.
        case merged
        /// The queue was full.
        case dropped
    }

    public let capacity: Int
    public let maxAttempts: Int
    public let minIntervalMs: Millis
    private var entries: [UserID: Entry] = [:]
    /// When each user was last sent to, within the last interval and spread.
    private var lastSent: [UserID: Millis] = [:]
    /// `lastSent`'s entries in the order they were made (to forget them).
    private var sentLog: [(user: UserID, at: Millis)] = []
    private var sentLogHead = 0
    /// Users whose entry may be sendable, oldest first (checked again when taken).
    private var ready: [UserID] = []
    private var readyHead = 0
    /// Users `take` passed over until their `notBefore` (the interval or a
    /// retry's backoff), and the earliest of those times: they are looked
    /// at again only once it has come, not at every take.
    private var later: [UserID] = []
    private var laterDue: Millis?
    public private(set) var notes = 0
    public private(set) var dropped = 0
    public private(set) var inFlight = 0
    /// After `take`: the earliest time a user it passed over becomes due
    /// (a retry's backoff or the interval); nil when none waits.
    public private(set) var nextDueAt: Millis?

    /// `maxAttempts`: sends of one note before it is given up (at least 1);
    /// `minIntervalMs`: the least time between two sends to one user.
    public init(capacity: Int, maxAttempts: Int, minIntervalMs: Millis = 0) {
        self.capacity = max(1, capacity)
        self.maxAttempts = max(1, maxAttempts)
        self.minIntervalMs = max(0, minIntervalMs)
    }

    /// The notes for committed `messages`: one per conversation for each of
    /// its `recipients` (members to notify, asked once per conversation)
    /// other than the sender. Several messages of one conversation give what
    /// `add` would merge them into: a member's note is the latest message
    /// someone else sent, mentioned when any of them mentions the member.
    public static func notes(
        for messages: [Event], includeContent: Bool, recipients: (ConversationID) -> [UserID]
    ) -> [Note] {
        var order: [ConversationID] = []
        var byConversation: [ConversationID: [Event]] = [:]
        for e in messages {
            if byConversation[e.conversationID] == nil { order.append(e.conversationID) }
            byConversation[e.conversationID, default: []].append(e)
        }
        var notes: [Note] = []
        for conversation in order {
            guard let events = byConversation[conversation], let latest = events.max(by: { $0.seq < $1.seq }) else { continue }
            // For the latest message's sender: the latest message of someone else.
            let latestOfOthers = events.filter { $0.senderID != latest.senderID }.max { $0.seq < $1.seq }
            var mentioned: Set<UserID> = []
            for e in events { for user in e.mentions where user != e.senderID { mentioned.insert(user) } }
            for user in recipients(conversation) {
                guard let e = user == latest.senderID ? latestOfOthers : latest else { continue }
                notes.append(
                    Note(
                        user: user, conversation: conversation, seq: e.seq, sender: e.senderID, mentioned: mentioned.contains(user),
                        text: includeContent ? PushPayload.cut(e.text ?? "") : nil))
            }
        }
        return notes
    }

    public mutating func add(_ note: Note) -> Added {
        // One lookup, merged in place (a busy room merges into every member's waiting note).
        if entries[note.user]?.merge(note) == true { return .merged }
        guard notes < capacity else {
            dropped += 1
            return .dropped
        }
        var entry = entries[note.user] ?? Entry(notBefore: intervalEnd(note.user) ?? 0)
        let wasIdle = entry.notes.isEmpty && entry.retry == nil && !entry.inFlight
        entry.notes.append(note)
        notes += 1
        entries[note.user] = entry
        if wasIdle { ready.append(note.user) }
        return .queued
    }

    /// Up to `max` sends due at `now`, marked in flight.
    public mutating func take(max: Int, now: Millis) -> [Send] {
        forgetSends(before: now - minIntervalMs - minIntervalMs / 4)
        if let due = laterDue, due <= now {
            ready.append(contentsOf: later)
            (later, laterDue) = ([], nil)
        }
        var out: [Send] = []
        while out.count < max, readyHead < ready.count {
            let user = ready[readyHead]
            readyHead += 1
            // In place: a copy of the entry would copy its notes on every change.
            guard let i = entries.index(forKey: user), !entries.values[i].inFlight else { continue }
            let notBefore = entries.values[i].notBefore
            if notBefore > now {
                later.append(user)
                laterDue = Swift.min(laterDue ?? notBefore, notBefore)
                continue
            }
            guard let (send, replacedRetry) = entries.values[i].start() else { continue }
            if replacedRetry { notes -= 1 }  // the failed note is replaced
            inFlight += 1
            out.append(send)
            if minIntervalMs > 0 {
                lastSent[user] = now
                sentLog.append((user, now))
            }
        }
        compact()
        nextDueAt = laterDue
        return out
    }

    /// The send for `send.note.user` ended: `failedDevices` are those to
    /// try again (empty: done with this note).
    public mutating func finished(_ send: Send, failedDevices: Set<DeviceRowID>, now: Millis) -> Finished {
        finished(send, retry: failedDevices.isEmpty ? nil : .some(failedDevices), now: now)
    }

    /// Nothing was sent (what the note says could not be read): it is
    /// tried again later, to the same devices.
    public mutating func failedBeforeSending(_ send: Send, now: Millis) -> Finished {
        finished(send, retry: .some(send.devices), now: now)
    }

    /// `retry`: nil when done; else the devices to try again (nil: all).
    private mutating func finished(_ send: Send, retry: Set<DeviceRowID>??, now: Millis) -> Finished {
        let user = send.note.user
        guard var entry = entries[user], entry.inFlight else { return .done }
        entry.inFlight = false
        inFlight -= 1
        var result = Finished.done
        if let devices = retry, send.attempt < maxAttempts {
            // The note stays counted while it waits.
            entry.retry = Send(note: send.note, devices: devices, attempt: send.attempt + 1)
            entry.notBefore = now + Self.backoffMs(attempt: send.attempt)
            result = .retryAt(entry.notBefore)
        } else {
            notes -= 1
            if retry != nil { result = .gaveUp }
            // The next note waits for the interval.
            entry.notBefore = intervalEnd(user) ?? 0
        }
        if entry.notes.isEmpty && entry.retry == nil {
            entries[user] = nil
        } else {
            entries[user] = entry
            ready.append(user)
        }
        return result
    }

    public enum Finished: Sendable, Equatable {
        case done
        case retryAt(Millis)
        /// Every attempt failed: the note is dropped.
        case gaveUp
    }

    /// When `user`'s interval since the last send ends; nil: none running.
    /// Each user's interval is longer by its own spread, 0 to a quarter of
    /// `minIntervalMs`: a message to a busy room starts every member's
    /// interval at once, and with equal intervals their notifications
    /// would keep leaving together, a burst of work every interval; with
    /// unequal ones they drift apart within a few intervals.
    private func intervalEnd(_ user: UserID) -> Millis? {
        lastSent[user].map { $0 + minIntervalMs + Self.spreadMs(user: user, minIntervalMs: minIntervalMs) }
    }

    /// `user`'s spread: a fixed fraction of a quarter interval (the same
    /// for a user on every node).
    public static func spreadMs(user: UserID, minIntervalMs: Millis) -> Millis {
        let fraction = Millis((UInt64(bitPattern: user) &* 0x9E37_79B9_7F4A_7C15) >> 54)  // 0..<1024
        return minIntervalMs / 4 * fraction / 1024
    }

    /// After attempt n failed: 1 s, 2 s, 4 s ... at most 5 minutes.
    public static func backoffMs(attempt: Int) -> Millis {
        min(300_000, Millis(1000) << Millis(min(max(attempt - 1, 0), 9)))
    }

    /// Users with something queued, waiting or in flight.
    public var users: Int { entries.count }

    /// Forgets the sends made before `time`: they hold no note back.
    private mutating func forgetSends(before time: Millis) {
        while sentLogHead < sentLog.count, sentLog[sentLogHead].at < time {
            let (user, at) = sentLog[sentLogHead]
            if lastSent[user] == at { lastSent[user] = nil }
            sentLogHead += 1
        }
        if sentLogHead > 1024 && sentLogHead * 2 > sentLog.count {
            sentLog.removeFirst(sentLogHead)
            sentLogHead = 0
        }
    }

    private mutating func compact() {
        if readyHead > 1024 && readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
    }
}
