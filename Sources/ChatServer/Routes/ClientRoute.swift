import ChatCore
import ChatProtocol
import NIOCore
import SwiftProtobuf

/// One row of the client route table (`ClientRoutes`): an op, what the
/// connection must have done before sending it, how large its answer can be,
/// the request type its payload decodes as, and the handler that runs it.
struct ClientRoute: Sendable {
    /// What a connection must have done before sending the op.
    enum Requirement: Sendable {
        /// Allowed as the very first request.
        case none
        /// After Hello, authenticated or not.
        case hello
        /// After Hello, only while not authenticated. A failure counts as a failed authentication.
        case unauthenticated
        /// After a successful Register, Login or Resume.
        case authenticated
    }

    /// How large the answer can be, for the connection's outbound budget:
    /// `small` answers are acks and single records; `page` answers carry a
    /// list or file bytes and can fill a frame.
    enum AnswerSize: Sendable {
        case small
        case page
    }

    /// What a handler produced, besides the frame.
    enum Reply: Sendable {
        case message(any SwiftProtobuf.Message)
        /// Register, Login, Resume: the connection binds the session.
        case authenticated(AuthResult)
        /// RefreshToken: the connection takes the new expiry.
        case refreshed(AuthResult)
        /// Logout: the connection closes after the answer.
        case loggedOut
    }

    typealias Handler = @Sendable (ClientRouter, ByteBuffer, Session?, ConnectionContext) async throws -> Reply

    let op: Op
    let requirement: Requirement
    let answerSize: AnswerSize
    let requestType: any SwiftProtobuf.Message.Type
    let run: Handler

    /// Answered by the connection handler itself (it owns the Hello nonce and
    /// the typing throttle); the router never runs it.
    static func connection<Request: SwiftProtobuf.Message>(
        _ op: Op, _ requirement: Requirement, _ request: Request.Type
    ) -> ClientRoute {
        ClientRoute(op: op, requirement: requirement, answerSize: .small, requestType: request) { _, _, _, _ in
            throw ChatFailure(.internal, "op misrouted")
        }
    }

    /// An op that needs no session (Ping, Register, Login, Resume).
    static func open<Request: SwiftProtobuf.Message>(
        _ op: Op, _ requirement: Requirement, _ request: Request.Type,
        _ body: @escaping @Sendable (ClientRouter, Request, ConnectionContext) async throws -> Reply
    ) -> ClientRoute {
        ClientRoute(op: op, requirement: requirement, answerSize: .small, requestType: request) {
            router, payload, _, context in
            try await body(router, try Request(payload: payload), context)
        }
    }

    /// An op of a logged-in connection whose answer is its response message.
    static func session<Request: SwiftProtobuf.Message>(
        _ op: Op, _ size: AnswerSize, _ request: Request.Type,
        _ body: @escaping @Sendable (ClientRouter, Request, Session, ConnectionContext) async throws -> any SwiftProtobuf.Message
    ) -> ClientRoute {
        sessionReply(op, size, request) { router, q, session, context in
            .message(try await body(router, q, session, context))
        }
    }

    /// An op of a logged-in connection that changes the connection's session.
    static func sessionReply<Request: SwiftProtobuf.Message>(
        _ op: Op, _ size: AnswerSize, _ request: Request.Type,
        _ body: @escaping @Sendable (ClientRouter, Request, Session, ConnectionContext) async throws -> Reply
    ) -> ClientRoute {
        ClientRoute(op: op, requirement: .authenticated, answerSize: size, requestType: request) {
            router, payload, session, context in
            // `ClientRouter.route` answers `unauthenticated` before a row runs without a session.
            guard let session else { throw ChatFailure(.wrongState, "log in first") }
            return try await body(router, try Request(payload: payload), session, context)
        }
    }
}

extension Op {
    /// The op's row in the client route table.
    var route: ClientRoute { ClientRoutes.row(self) }
    var requirement: ClientRoute.Requirement { route.requirement }
    var answerSize: ClientRoute.AnswerSize { route.answerSize }
}
