import ChatCore
import ChatProtocol
import Foundation
import Logging
import NIOCore
import SwiftProtobuf

/// Runs one client request: decodes the payload for its op, calls the
/// service, encodes the response or the error. No NIO types beyond frames.
public struct ClientRouter: Sendable {
    public let accounts: AccountService
    public let conversations: ConversationService
    public let invites: InviteService
    public let friends: FriendService
    public let files: FileService
    public let hub: FanoutHub
    /// Push targets (§4.8); nil: this server sends no push notifications.
    public let push: PushTargetService?
    public let clock: any WallClock
    let logger: Logger

    /// The largest frame the server sends (its announced max_frame_length):
    /// pages are cut to fit.
    let maxFrameLength: Int

    public init(
        accounts: AccountService, conversations: ConversationService, invites: InviteService, friends: FriendService,
        files: FileService, hub: FanoutHub, push: PushTargetService? = nil, clock: any WallClock, logger: Logger,
        maxFrameLength: Int = 1 << 20
    ) {
        self.push = push
        self.maxFrameLength = maxFrameLength
        self.accounts = accounts
        self.conversations = conversations
        self.invites = invites
        self.friends = friends
        self.files = files
        self.hub = hub
        self.clock = clock
        self.logger = logger
    }

    var presence: PresenceHub { hub.presence }

    /// Room in a frame for everything but a page's events: the header, the
    /// other fields and each event's tag and length.
    static let framingReserve = 256

    /// Cuts a History page that would not fit in one frame (many large
    /// messages): drops events from the end paged away from (the newest for
    /// `after_seq`, the oldest otherwise) and sets `has_more`, so the next
    /// request continues without a gap. At least one event stays (a message
    /// always fits: max_message_bytes is checked against the frame limit).
    static func fit(_ r: inout Chatd_V1_HistoryResponse, within limit: Int, keepingOldest: Bool) {
        let sizes = r.events.map { (try? $0.serializedBytes() as [UInt8])?.count ?? 0 }
        var total = sizes.reduce(framingReserve) { $0 + $1 + 8 }
        guard total > limit else { return }
        var events = r.events[...]
        var remaining = sizes[...]
        while total > limit, events.count > 1 {
            let dropped = keepingOldest ? remaining.removeLast() : remaining.removeFirst()
            if keepingOldest { events.removeLast() } else { events.removeFirst() }
            total -= dropped + 8
        }
        r.events = Array(events)
        r.hasMore_p = true
    }

    /// What the connection must do besides writing the frame.
    public enum Outcome: Sendable {
        case reply(Frame)
        case authenticated(Frame, Session)
        case authenticationFailed(Frame)
        case refreshed(Frame, Session)
        case loggedOut(Frame)

        var frame: Frame {
            switch self {
            case .reply(let f), .authenticated(let f, _), .authenticationFailed(let f), .refreshed(let f, _), .loggedOut(let f): f
            }
        }
    }

    /// Runs `op` by its row in the route table.
    public func route(op: Op, frame: Frame, session: Session?, context: ConnectionContext) async -> Outcome {
        let row = op.route
        if row.requirement == .authenticated && session == nil { return .reply(unauthenticated(frame)) }
        let result = await respond(frame) { try await row.run(self, frame.payload, session, context) }
        switch result {
        case .success(.message(let message)):
            return .reply(Frame(kind: .response, op: frame.op, id: frame.id, payload: message.payloadBuffer()))
        case .success(.authenticated(let auth)):
            return .authenticated(response(frame, authResponse(auth)), auth.session)
        case .success(.refreshed(let auth)):
            return .refreshed(response(frame, authResponse(auth)), auth.session)
        case .success(.loggedOut):
            return .loggedOut(response(frame, Chatd_V1_LogoutResponse()))
        case .failure(let error):
            return row.requirement == .unauthenticated ? .authenticationFailed(error.frame) : .reply(error.frame)
        }
    }

    // MARK: Handlers too long for a table row

    func listConversations(_ q: Chatd_V1_ListConversationsRequest, _ session: Session) async throws
        -> Chatd_V1_ListConversationsResponse
    {
        // The cursor is both fields of the last item, or neither (the first page).
        if (q.beforeActivityMs == 0) != (q.beforeID == 0) {
            throw ChatFailure.invalid(
                q.beforeID == 0 ? "before_id" : "before_activity_ms",
                "give before_activity_ms and before_id together (the last item's), or neither")
        }
        let before: (Millis, ConversationID)? = q.beforeActivityMs == 0 ? nil : (q.beforeActivityMs, ProtoMap.id(q.beforeID))
        let page = try await conversations.listConversations(
            session, before: before, kind: try ProtoMap.kind(q.kind), limit: Int(q.limit))
        var r = Chatd_V1_ListConversationsResponse()
        r.conversations = page.items.map { ProtoMap.conversation($0.conversation) }
        r.states = page.items.map(ProtoMap.conversationState)
        r.hasMore_p = page.hasMore
        return r
    }

    func history(_ q: Chatd_V1_HistoryRequest, _ session: Session) async throws -> Chatd_V1_HistoryResponse {
        if q.hasAfterSeq && q.hasBeforeSeq {
            throw ChatFailure.invalid("before_seq", "give after_seq or before_seq, not both")
        }
        let anchor: HistoryAnchor =
            q.hasAfterSeq ? .after(ProtoMap.id(q.afterSeq)) : q.hasBeforeSeq ? .before(ProtoMap.id(q.beforeSeq)) : .newest
        let page = try await conversations.history(
            session, conversation: ProtoMap.id(q.conversationID), anchor: anchor, limit: Int(q.limit))
        var r = Chatd_V1_HistoryResponse()
        r.events = page.events.map(ProtoMap.event)
        r.hasMore_p = page.hasMore
        r.headSeq = UInt64(page.headSeq)
        r.purgedThroughSeq = UInt64(page.purgedThroughSeq)
        if case .after = anchor {
            Self.fit(&r, within: maxFrameLength, keepingOldest: true)
        } else {
            Self.fit(&r, within: maxFrameLength, keepingOldest: false)
        }
        return r
    }

    func listFriends(_ session: Session, _ q: Chatd_V1_ListFriendsRequest) async throws -> Chatd_V1_ListFriendsResponse {
        let lists: [FriendList]
        switch q.list {
        case .all:
            guard q.cursor.isEmpty else { throw ChatFailure.invalid("cursor", "a cursor continues one list: name it in list") }
            lists = FriendList.allCases
        case .friends: lists = [.friends]
        case .incoming: lists = [.incoming]
        case .outgoing: lists = [.outgoing]
        case .UNRECOGNIZED: throw ChatFailure.invalid("list", "unknown list")
        }
        var pages: [FriendList: (page: PageResult<FriendEntry>, from: FriendCursor)] = [:]
        for list in lists {
            let from = try FriendCursor(wire: q.cursor, for: list)
            pages[list] = (try await friends.page(session, list, after: from, limit: Int(q.limit)), from)
        }
        Self.fit(&pages, within: maxFrameLength)
        var r = Chatd_V1_ListFriendsResponse()
        for (list, (page, from)) in pages {
            let cursor = page.items.last.map { FriendCursor(after: $0, in: list) } ?? from
            switch list {
            case .friends:
                r.friends = page.items.map(friend)
                (r.friendsHasMore, r.friendsCursor) = (page.hasMore, page.hasMore ? cursor.wire : "")
            case .incoming:
                r.incomingRequests = page.items.map { ProtoMap.user($0.user) }
                (r.incomingHasMore, r.incomingCursor) = (page.hasMore, page.hasMore ? cursor.wire : "")
            case .outgoing:
                r.outgoingRequests = page.items.map { ProtoMap.user($0.user) }
                (r.outgoingHasMore, r.outgoingCursor) = (page.hasMore, page.hasMore ? cursor.wire : "")
            }
        }
        return r
    }

    private func friend(_ entry: FriendEntry) -> Chatd_V1_Friend {
        var f = Chatd_V1_Friend()
        f.user = ProtoMap.user(entry.user)
        let state = presence.presence(of: entry.user.id)
        f.presence = ProtoMap.presence(state)
        if state == .offline { f.lastSeenAtMs = presence.lastSeen(of: entry.user.id) ?? entry.lastSeenAt }
        f.sinceMs = entry.since
        return f
    }

    /// Cuts friend pages to fit one frame: the longest list loses its last
    /// entry until the answer fits (or one entry is left in all), and a cut
    /// list says it has more.
    static func fit(_ pages: inout [FriendList: (page: PageResult<FriendEntry>, from: FriendCursor)], within limit: Int) {
        // A Friend entry is a User plus presence and two times: 40 bytes covers the extras and the framing.
        var sizes = pages.mapValues { $0.page.items.map { (try? ProtoMap.user($0.user).serializedBytes() as [UInt8])?.count ?? 0 } }
        var total = sizes.values.joined().reduce(framingReserve) { $0 + $1 + 40 }
        while total > limit {
            guard let (list, entries) = sizes.max(by: { $0.value.count < $1.value.count }), entries.count > 0,
                sizes.values.reduce(0, { $0 + $1.count }) > 1
            else { return }
            total -= (sizes[list]?.removeLast() ?? 0) + 40
            pages[list]?.page.items.removeLast()
            pages[list]?.page.hasMore = true
        }
    }

    /// Cuts a ListBlocked page to fit one frame (§10): entries go from its
    /// end, one always stays (paging by `after_id` then advances), and a cut
    /// page says it has more.
    static func fit(_ page: inout PageResult<User>, within limit: Int) {
        var total = framingReserve
        for (i, user) in page.items.enumerated() {
            total += ((try? ProtoMap.user(user).serializedBytes() as [UInt8])?.count ?? 0) + 8
            if total > limit, i > 0 {
                page.items.removeSubrange(i...)
                page.hasMore = true
                return
            }
        }
    }

    // MARK: Helpers

    private func authResponse(_ auth: AuthResult) -> Chatd_V1_AuthResponse {
        var r = Chatd_V1_AuthResponse()
        r.user = ProtoMap.user(auth.session.user)
        r.deviceID = auth.session.deviceID
        r.token = auth.token.map { Data($0) } ?? Data()
        r.tokenExpiresAtMs = auth.session.tokenExpiresAt
        return r
    }

    private func response(_ request: Frame, _ message: some SwiftProtobuf.Message) -> Frame {
        Frame.response(op: request.op, id: request.id, message)
    }

    private func unauthenticated(_ frame: Frame) -> Frame {
        Frame.error(op: frame.op, id: frame.id, code: .unauthenticated, message: "log in first")
    }

    func respond<T: Sendable>(_ request: Frame, _ body: () async throws -> T) async -> Result<T, ErrorFrame> {
        await ErrorResponder(logger: logger).respond(request, body)
    }
}

/// An error response, as the failure side of a `Result`.
struct ErrorFrame: Error {
    let frame: Frame
}

/// Turns thrown errors into error responses: domain failures keep their code
/// and message; decoding failures are bad_payload; anything else is logged
/// with its detail and answered `internal` without it.
struct ErrorResponder: Sendable {
    let logger: Logger

    /// Runs `body`, turning every failure into the error frame for `request`.
    func respond<T: Sendable>(_ request: Frame, _ body: () async throws -> T) async -> Result<T, ErrorFrame> {
        do {
            return .success(try await body())
        } catch let failure as ChatFailure {
            return .failure(
                ErrorFrame(
                    frame: Frame.error(
                        op: request.op, id: request.id, code: ErrorMap.code(failure.kind), message: failure.message,
                        retryAfterMs: UInt32(clamping: failure.retryAfterMs), field: failure.field)))
        } catch let error where error is BinaryDecodingError || error is WrongWireTypeError {
            return .failure(
                ErrorFrame(
                    frame: Frame.error(
                        op: request.op, id: request.id, code: .badPayload, message: "payload does not parse: \(error)")))
        } catch {
            logger.error("request failed", metadata: ["chatd.op": "\(request.op)", "chatd.error": "\(error)"])
            return .failure(
                ErrorFrame(frame: Frame.error(op: request.op, id: request.id, code: .internal, message: "internal error")))
        }
    }
}
