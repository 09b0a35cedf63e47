import ChatProtocol

/// The client side of "nothing missed, nothing twice" (spec/PROTOCOL.md,
/// Sync and read state): it tracks the last applied seq of every
/// conversation and the last account event, applies pushes in order, and
/// fills any gap with History or Sync before applying what follows.
///
/// Feed it every push (`handle`) and call `catchUp()` after (re)connecting.
/// Each event reaches `deliver` exactly once, in seq order per conversation.
public actor ConversationSync {
    public private(set) var lastSeq: [UInt64: UInt64] = [:]
    public private(set) var accountSeq: UInt64 = 0
    private let connection: ChatConnection
    private let deliver: @Sendable (Chatd_V1_Event) -> Void
    private let deliverAccount: @Sendable (Chatd_V1_AccountEvent) -> Void
    private let purged: @Sendable (_ conversation: UInt64, _ throughSeq: UInt64) -> Void

    /// `purged` is told when the events after the last applied one up to
    /// `throughSeq` were removed by the server's retention policy: that gap
    /// is not a loss, and the client should drop what it kept of it.
    public init(
        connection: ChatConnection, lastSeq: [UInt64: UInt64] = [:], accountSeq: UInt64 = 0,
        deliver: @escaping @Sendable (Chatd_V1_Event) -> Void,
        deliverAccount: @escaping @Sendable (Chatd_V1_AccountEvent) -> Void = { _ in },
        purged: @escaping @Sendable (_ conversation: UInt64, _ throughSeq: UInt64) -> Void = { _, _ in }
    ) {
        self.connection = connection
        self.lastSeq = lastSeq
        self.accountSeq = accountSeq
        self.deliver = deliver
        self.deliverAccount = deliverAccount
        self.purged = purged
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
                apply(event)
            } else if try await !fill(event.conversationID, through: event.seq) {
                // History is closed to us now (e.g. this push is our own
                // removal): the push itself is still the truth.
                apply(event)
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
            for event in page.events { apply(event) }
            if !page.hasMore_p || page.events.isEmpty { break }
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

    private func apply(_ event: Chatd_V1_Event) {
        guard event.seq > (lastSeq[event.conversationID] ?? 0) else { return }
        lastSeq[event.conversationID] = event.seq
        deliver(event)
    }
}
