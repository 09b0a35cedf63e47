import ChatProtocol

/// The client side of "nothing missed, nothing twice" (spec/PROTOCOL.md,
/// Sync and read state): it tracks the last applied seq of every
/// conversation and the last account event, applies pushes in order, and
/// fills any gap with History or Sync before applying what follows.
///
/// Feed it every push (`handle`) and call `catchUp()` after (re)connecting.
/// Each event reaches `deliver` exactly once, in seq order per conversation,
/// with the seq its content is current as of (spec §6.4 step 1, `asof`):
/// its own seq when it came from a push, the page's `head_seq` when it came
/// from History. A `MESSAGE` read by History already reflects the edits,
/// deletions and reactions up to that seq, whose events are delivered after
/// it: apply such an event to its target only when its seq is above the
/// target's `asOf`, or it is counted twice.
public actor ConversationSync {
    public private(set) var lastSeq: [UInt64: UInt64] = [:]
    public private(set) var accountSeq: UInt64 = 0
    private let connection: ChatConnection
    private let deliver: @Sendable (_ event: Chatd_V1_Event, _ asOf: UInt64) -> Void
    private let deliverAccount: @Sendable (Chatd_V1_AccountEvent) -> Void
    private let purged: @Sendable (_ conversation: UInt64, _ throughSeq: UInt64) -> Void
    private let closed: @Sendable (_ event: Chatd_V1_Event) -> Void

    /// `purged` is told when the events after the last applied one up to
    /// `throughSeq` were removed by the server's retention policy: that gap
    /// is not a loss, and the client should drop what it kept of it.
    /// `closed` is told a push that came after a gap that cannot be filled
    /// because History is closed to the user now (this push is often their
    /// own removal, or the conversation was deleted; §6.4 "Filling a
    /// conversation": stop). It is outside the sequence: `lastSeq` does not
    /// move, so if the user may read History again (they rejoin), the
    /// missed events are fetched, and this one is then delivered in order.
    public init(
        connection: ChatConnection, lastSeq: [UInt64: UInt64] = [:], accountSeq: UInt64 = 0,
        deliver: @escaping @Sendable (_ event: Chatd_V1_Event, _ asOf: UInt64) -> Void,
        deliverAccount: @escaping @Sendable (Chatd_V1_AccountEvent) -> Void = { _ in },
        purged: @escaping @Sendable (_ conversation: UInt64, _ throughSeq: UInt64) -> Void = { _, _ in },
        closed: @escaping @Sendable (_ event: Chatd_V1_Event) -> Void = { _ in }
    ) {
        self.connection = connection
        self.lastSeq = lastSeq
        self.accountSeq = accountSeq
        self.deliver = deliver
        self.deliverAccount = deliverAccount
        self.purged = purged
        self.closed = closed
    }

    /// Brings everything up to date: account events first (paged), then every
    /// conversation whose head is beyond what was applied.
    public func catchUp() async throws {
        var includeConversations = true
        while true {
            let page = try await connection.sync(accountSeq: accountSeq, skipConversations: !includeConversations)
            for event in page.accountEvents where event.seq > accountSeq {
                accountSeq = event.seq
                deliverAccount(event)
            }
            if includeConversations {
                for state in page.conversations where state.conversation.headSeq > (lastSeq[state.conversation.id] ?? 0) {
                    _ = try await fill(state.conversation.id, through: state.conversation.headSeq)
                }
                if page.conversationsTruncated { try await catchUpBeyondSyncCap(after: page.conversations.last?.conversation) }
                includeConversations = false
            }
            if !page.hasMore_p { break }
        }
    }

    /// Applies one push, filling a gap first when its seq is not the next one.
    public func handle(_ push: ChatPush) async throws {
        switch push {
        case .event(let event):
            let last = lastSeq[event.conversationID] ?? 0
            if event.seq <= last { return }  // already applied (e.g. via History)
            if event.seq == last + 1 {
                apply(event, asOf: event.seq)
            } else if try await !fill(event.conversationID, through: event.seq) {
                // History is closed to us now (e.g. this push is our own
                // removal): told apart, without skipping what we missed.
                closed(event)
            }
        case .accountEvent(let event):
            if event.seq <= accountSeq { return }
            if event.seq == accountSeq + 1 {
                accountSeq = event.seq
                deliverAccount(event)
            } else {
                try await catchUp()
            }
        case .goodbye, .read, .presence, .typing, .delivered, .unknown:
            break
        }
    }

    /// Applies every event after the last applied one up to at least `seq`.
    /// Returns false when History is no longer readable (deleted, or no
    /// longer a member).
    private func fill(_ conversation: UInt64, through seq: UInt64) async throws -> Bool {
        while (lastSeq[conversation] ?? 0) < seq {
            let page: Chatd_V1_HistoryResponse
            do {
                page = try await connection.history(room: conversation, after: lastSeq[conversation] ?? 0, limit: 200)
            } catch let error as ChatClientError where error.code == .notFound || error.code == .notMember {
                return false
            }
            let last = lastSeq[conversation] ?? 0
            if page.purgedThroughSeq > last {
                lastSeq[conversation] = page.purgedThroughSeq
                purged(conversation, page.purgedThroughSeq)
            }
            for event in page.events { apply(event, asOf: max(page.headSeq, event.seq)) }
            // A page that moved nothing would be asked for again and again.
            if !page.hasMore_p || (lastSeq[conversation] ?? 0) <= last { break }
        }
        return true
    }

    /// Sync returns at most 1000 conversations (newest activity first); the
    /// rest come from ListConversations pages after the last one seen.
    private func catchUpBeyondSyncCap(after last: Chatd_V1_Conversation?) async throws {
        guard var cursor = last else { return }
        while true {
            var request = Chatd_V1_ListConversationsRequest()
            request.beforeActivityMs = cursor.lastActivityAtMs
            request.beforeID = cursor.id
            request.limit = 200
            let page = try await connection.call(.listConversations, request, as: Chatd_V1_ListConversationsResponse.self)
            for c in page.conversations where c.headSeq > (lastSeq[c.id] ?? 0) {
                _ = try await fill(c.id, through: c.headSeq)
            }
            guard page.hasMore_p, let next = page.conversations.last else { return }
            cursor = next
        }
    }

    private func apply(_ event: Chatd_V1_Event, asOf: UInt64) {
        guard event.seq > (lastSeq[event.conversationID] ?? 0) else { return }
        lastSeq[event.conversationID] = event.seq
        deliver(event, asOf)
    }
}
