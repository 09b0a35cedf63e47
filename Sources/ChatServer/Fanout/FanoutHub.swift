import ChatCore
import ChatProtocol
import NIOCore
import Synchronization

/// Delivers committed changes to live connections.
///
/// Membership is held in memory so a send never queries the database for
/// recipients. `publish` is called by the store after each commit, in commit
/// order, so membership changes apply in seq order and every connection
/// receives a conversation's pushes in seq order. Each push is encoded once;
/// the same bytes go to every recipient connection.
public final class FanoutHub: Sendable {
    private let members = Mutex<[ConversationID: Set<UserID>]>([:])
    /// DeliveredPushes held to coalesce them (§6.3).
    private let delivered = Mutex(DeliveredPushCoalescer())
    let registry: SessionRegistry
    public let presence: PresenceHub
    /// The other nodes on the same database (typing and read pushes are not stored).
    let link: any ClusterLink

    public init(registry: SessionRegistry, presence: PresenceHub, link: any ClusterLink = NoCluster()) {
        self.registry = registry
        self.presence = presence
        self.link = link
    }

    public func load(_ memberships: [(ConversationID, UserID)]) {
        members.withLock { m in
            m.removeAll()
            for (room, user) in memberships { m[room, default: []].insert(user) }
        }
    }

    public func members(of room: ConversationID) -> Set<UserID> { members.withLock { $0[room] ?? [] } }

    public func isMember(_ user: UserID, of room: ConversationID) -> Bool { members.withLock { $0[room]?.contains(user) ?? false } }

    /// A committed batch of writes, each write's changes in commit order:
    /// every connection gets its frames of the whole batch in one write and
    /// one flush.
    public func publish(_ batch: [CommittedChanges]) {
        var batches = PushBatches()
        var recipients = RecipientMemo()
        for changes in batch { add(changes, to: &batches, recipients: &recipients) }
        batches.send()
        for changes in batch {
            for (a, b) in changes.contactsAdded { presence.addContact(a, b) }
            for (a, b) in changes.contactsRemoved { presence.removeContact(a, b) }
            if changes.announced { endRevokedDevices(changes.accountEvents) }
        }
    }

    /// Devices another node revoked lose their connections here, after
    /// their push of the revocation. That node's signal does the same at
    /// once, but a signal is lost while this node is not listening
    /// (starting, reconnecting to PostgreSQL); the committed event is not:
    /// this node catches up on it. A connection that logged the device in
    /// again after the revocation (a login re-enables a revoked device) is
    /// left alone, as the nodes' clocks tell.
    private func endRevokedDevices(_ events: [AccountEvent]) {
        var revoked: [UserID: [String: Millis]] = [:]
        for e in events where e.kind == .deviceRevoked {
            guard let device = e.deviceID else { continue }
            revoked[e.userID, default: [:]][device] = max(revoked[e.userID]?[device] ?? e.createdAt, e.createdAt)
        }
        for (user, devices) in revoked { registry.endSessions(user: user, devices: devices, reason: .deviceRevoked) }
    }

    /// One write's pushes, membership updated around them as they apply
    /// (`MembershipOrder`).
    private func add(_ changes: CommittedChanges, to batches: inout PushBatches, recipients: inout RecipientMemo) {
        MembershipOrder.walk(
            changes,
            insert: { c, user in
                if members.withLock({ $0[c, default: []].insert(user).inserted }) { recipients.forget() }
            },
            push: { event in
                var push = Chatd_V1_EventPush()
                push.event = ProtoMap.event(event)
                let connections = recipients.connections(of: event.conversationID) { registry.connections(of: members(of: $0)) }
                batches.add(Frame.push(.event, push).encoded(), to: connections)
            },
            remove: { c, user in
                if members.withLock({ $0[c]?.remove(user) }) != nil { recipients.forget() }
            },
            deleted: { c in
                members.withLock { $0[c] = nil }
                recipients.forget()
            })
        // Account events to their user's connections.
        for event in changes.accountEvents {
            var push = Chatd_V1_AccountEventPush()
            push.event = ProtoMap.accountEvent(event)
            batches.add(Frame.push(.accountEvent, push).encoded(), to: registry.connections(of: [event.userID]))
        }
    }

    /// A member's read position moved: tell the members (and the reader's other connections).
    public func pushRead(conversation: ConversationID, user: UserID, seq: Seq) {
        link.send(.read(conversation: conversation, user: user, seq: seq))
        pushReadHere(conversation: conversation, user: user, seq: seq)
    }

    private func pushReadHere(conversation: ConversationID, user: UserID, seq: Seq) {
        var push = Chatd_V1_ReadPush()
        push.conversationID = UInt64(conversation)
        push.userID = UInt64(user)
        push.readSeq = UInt64(seq)
        var batches = PushBatches()
        batches.add(Frame.push(.read, push).encoded(), to: registry.connections(of: members(of: conversation)))
        batches.send()
    }

    /// A member's delivered position moved (stored): the other members hear
    /// of it at once, or at the end of the member's current coalescing
    /// interval with the latest position.
    public func deliveredMoved(conversation: ConversationID, user: UserID, seq: Seq) {
        let key = DeliveredPushCoalescer.Key(conversation: conversation, user: user)
        let now = presence.clock.nowMs()
        switch delivered.withLock({ $0.positionMoved(key, to: seq, now: now) }) {
        case .pushNow(let seq):
            pushDelivered(conversation: conversation, user: user, seq: seq)
        case .schedule(let at):
            let delay = max(0, at - now)
            Task { [self] in
                try? await Task.sleep(for: .milliseconds(delay))
                let now = presence.clock.nowMs()
                if let seq = delivered.withLock({ $0.intervalEnded(key, at: at, now: now) }) {
                    pushDelivered(conversation: conversation, user: user, seq: seq)
                }
            }
        case .merged:
            break
        }
    }

    private func pushDelivered(conversation: ConversationID, user: UserID, seq: Seq) {
        link.send(.delivered(conversation: conversation, user: user, seq: seq))
        pushDeliveredHere(conversation: conversation, user: user, seq: seq)
    }

    /// To the other members' connections (not the member's own).
    private func pushDeliveredHere(conversation: ConversationID, user: UserID, seq: Seq) {
        var push = Chatd_V1_DeliveredPush()
        push.conversationID = UInt64(conversation)
        push.userID = UInt64(user)
        push.deliveredSeq = UInt64(seq)
        var others = members(of: conversation)
        others.remove(user)
        var batches = PushBatches()
        batches.add(Frame.push(.delivered, push).encoded(), to: registry.connections(of: others))
        batches.send()
    }

    /// Typing indicator to the other online members (never stored).
    public func pushTyping(conversation: ConversationID, user: UserID, typing: Bool, expiresInMs: UInt32) {
        link.send(.typing(conversation: conversation, user: user, typing: typing, expiresInMs: expiresInMs))
        pushTypingHere(conversation: conversation, user: user, typing: typing, expiresInMs: expiresInMs)
    }

    private func pushTypingHere(conversation: ConversationID, user: UserID, typing: Bool, expiresInMs: UInt32) {
        var push = Chatd_V1_TypingPush()
        push.conversationID = UInt64(conversation)
        push.userID = UInt64(user)
        push.typing = typing
        push.expiresInMs = typing ? expiresInMs : 0
        var others = members(of: conversation)
        others.remove(user)
        var batches = PushBatches()
        batches.add(Frame.push(.typing, push).encoded(), to: registry.connections(of: others))
        batches.send()
    }
}

extension FanoutHub {
    /// What another node (`node`) signalled, for this node's connections.
    /// `me`: this node's name (a connection kick names its node).
    public func received(_ signal: ClusterSignal, from node: String, me: String) {
        switch signal {
        case .typing(let c, let u, let typing, let expires):
            pushTypingHere(conversation: c, user: u, typing: typing, expiresInMs: expires)
        case .read(let c, let u, let seq):
            pushReadHere(conversation: c, user: u, seq: seq)
        case .delivered(let c, let u, let seq):
            pushDeliveredHere(conversation: c, user: u, seq: seq)
        case .presence(let u, let state, let lastSeen):
            presence.remoteChanged(u, on: node, to: state, lastSeen: lastSeen)
        case .endDevices(let devices, let reason):
            registry.endSessions(devices: devices, reason: reason, except: nil)
        case .endUser(let u, let reason):
            registry.endSessions(user: u, reason: reason)
        case .kick(let selector, let target):
            if target == nil || target == me { registry.kick(selector, reason: .kicked) }
        case .hello:
            presence.announceConnected()
        }
    }
}

/// When the membership index changes around one write's events:
/// 1. the members the account events add (net, `MembershipChanges`) before
///    the first event, so they receive the events that add them (a group's
///    members its ROOM_CREATED, a direct chat's partner its first message);
/// 2. each event in seq order, its subject added just before it when it is
///    MEMBER_JOINED or MEMBER_ADDED, and removed just after it when it is
///    MEMBER_LEFT, MEMBER_KICKED or MEMBER_BANNED (the removed member still
///    hears of its removal, and nothing after it);
/// 3. the members the account events remove (net), and deleted
///    conversations, after the last event.
/// One write on this node holds its changes in this order anyway. Another
/// node's transaction arrives as one set of changes (PostgreSQL): several
/// writes merged — a kick and then a message sent after it —, or events
/// fetched without their account events; there only step 2 puts a removal
/// before the events after it. Before it, all removals came after all
/// events, and a member kicked or banned on another node received the
/// messages committed after the removal in the same set.
enum MembershipOrder {
    static func walk(
        _ changes: CommittedChanges,
        insert: (ConversationID, UserID) -> Void,
        push: (Event) -> Void,
        remove: (ConversationID, UserID) -> Void,
        deleted: (ConversationID) -> Void
    ) {
        let membership = MembershipChanges(changes.accountEvents)
        for (c, user) in membership.added { insert(c, user) }
        for event in changes.events {
            if event.kind.addsSubject, let user = event.subjectUserID { insert(event.conversationID, user) }
            push(event)
            if event.kind.removesSubject, let user = event.subjectUserID { remove(event.conversationID, user) }
        }
        for (c, user) in membership.removed { remove(c, user) }
        for (c, _) in changes.deletedConversations { deleted(c) }
    }
}

/// The membership changes of committed account events, net per member:
/// a member's last change wins. One write rarely both adds and removes the
/// same member, but another node's transaction arrives as one set of
/// changes (PostgreSQL), and may hold a leave and a rejoin: applied as
/// "all additions, then all removals", the rejoined member fell out of the
/// index. Events are in seq order per user.
struct MembershipChanges {
    struct Member: Hashable {
        var conversation: ConversationID
        var user: UserID
    }

    private(set) var added: [(ConversationID, UserID)] = []
    private(set) var removed: [(ConversationID, UserID)] = []

    init(_ events: [AccountEvent]) {
        var last: [Member: Bool] = [:]
        var order: [Member] = []
        for e in events where e.kind == .addedToConversation || e.kind == .removedFromConversation {
            guard let c = e.conversationID else { continue }
            let member = Member(conversation: c, user: e.userID)
            if last.updateValue(e.kind == .addedToConversation, forKey: member) == nil { order.append(member) }
        }
        for member in order {
            if last[member] == true {
                added.append((member.conversation, member.user))
            } else {
                removed.append((member.conversation, member.user))
            }
        }
    }
}

/// The live connections of the conversation a batch's last event went to,
/// for the events after it in the same conversation (a busy room's batch):
/// one lookup of its members' connections, not one per event, and the same
/// list each time, which PushBatches sends as one run. Forgotten when
/// membership changes.
struct RecipientMemo {
    private var last: (conversation: ConversationID, connections: [LiveConnection])?

    mutating func connections(
        of conversation: ConversationID, lookUp: (ConversationID) -> [LiveConnection]
    ) -> [LiveConnection] {
        if let last, last.conversation == conversation { return last.connections }
        let found = lookUp(conversation)
        last = (conversation, found)
        return found
    }

    mutating func forget() { last = nil }
}

/// Frames per connection, written with one flush each, and one hop per
/// event loop for all of that loop's connections.
///
/// Frames added for the same connections one after another (a room's
/// messages in one batch, one push to many) form a run: its connections
/// then share one list of frames, and nothing is kept per connection.
/// Otherwise each connection's frames are gathered, in the order added.
struct PushBatches {
    private var runs: [(connections: [LiveConnection], frames: [ByteBuffer])] = []

    mutating func add(_ frame: ByteBuffer, to connections: [LiveConnection]) {
        guard !connections.isEmpty else { return }
        if let last = runs.indices.last, Self.same(runs[last].connections, connections) {
            runs[last].frames.append(frame)
        } else {
            runs.append((connections, [frame]))
        }
    }

    private static func same(_ a: [LiveConnection], _ b: [LiveConnection]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0 === $1 }
    }

    func send() {
        var byLoop: [ObjectIdentifier: (any EventLoop, [(LiveConnection, PushFrames)])] = [:]
        func put(_ connection: LiveConnection, _ pushes: PushFrames) {
            let loop = connection.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append((connection, pushes))
        }
        if runs.count == 1 {
            let pushes = PushFrames(joining: runs[0].frames)
            for connection in runs[0].connections { put(connection, pushes) }
        } else {
            // A connection in one run only (each of a batch's direct chats)
            // shares that run's frames.
            var gathered: [UInt64: (LiveConnection, PushFrames)] = [:]
            for run in runs {
                let pushes = PushFrames(joining: run.frames)
                for connection in run.connections {
                    if let i = gathered.index(forKey: connection.id) {
                        gathered.values[i].1.append(pushes)
                    } else {
                        gathered[connection.id] = (connection, pushes)
                    }
                }
            }
            for (connection, pushes) in gathered.values { put(connection, pushes) }
        }
        for (loop, entries) in byLoop.values {
            loop.execute {
                for (connection, pushes) in entries { connection.pushInLoop(pushes) }
            }
        }
    }
}

/// Push frames for one connection: their bytes in few buffers, and how many
/// frames those hold.
///
/// A run's frames go to every connection of the run, each with a write of
/// its own: joined into one buffer (once per run, not per connection), they
/// cost each connection one write through the pipeline and one buffer in
/// its `writev` instead of one per frame (a flat-out room's batch holds
/// about 16 messages). A frame of `joinLimit` bytes or more is left as it
/// is, and no joined buffer grows past `joinLimit`.
public struct PushFrames: Sendable {
    public private(set) var buffers: [ByteBuffer]
    /// Frames in `buffers` (the pushes counted as sent).
    public private(set) var count: Int

    static let joinLimit = 64 * 1024

    init(joining frames: [ByteBuffer]) {
        count = frames.count
        guard frames.count > 1 else {
            buffers = frames
            return
        }
        buffers = []
        var index = 0
        while index < frames.count {
            let frame = frames[index]
            if frame.readableBytes >= Self.joinLimit {
                buffers.append(frame)
                index += 1
                continue
            }
            // The frames that fit with this one, for the joined buffer's capacity.
            var end = index
            var bytes = 0
            while end < frames.count, bytes + frames[end].readableBytes <= Self.joinLimit {
                bytes += frames[end].readableBytes
                end += 1
            }
            if end - index == 1 {
                buffers.append(frame)
            } else {
                var joined = ByteBufferAllocator().buffer(capacity: bytes)
                for i in index..<end { joined.writeImmutableBuffer(frames[i]) }
                buffers.append(joined)
            }
            index = end
        }
    }

    mutating func append(_ other: PushFrames) {
        buffers.append(contentsOf: other.buffers)
        count += other.count
    }
}
