import ChatCore
import GRDB

/// Writes only an operator makes (chatctl, spec/PROTOCOL.md §11).
extension SQLiteStore {
    public func appendSystemMessage(
        conversation: RoomID, text: String, clientMsgID: String, now: Millis
    ) async throws -> AppendResult {
        let server = ConversationService.serverSender
        return try await write { db, changes in
            guard let kind = try String.fetchOne(db, sql: "SELECT kind FROM conversations WHERE id = ?", arguments: [conversation])
            else { throw ChatFailure(.notFound, "no such conversation") }
            guard kind != ConversationKind.direct.rawValue else {
                throw ChatFailure(.forbidden, "broadcasts go to rooms and groups, not direct chats")
            }
            if let prior = try Self.priorEvent(db, sender: server, clientMsgID: clientMsgID) {
                guard prior.kind == .message, prior.conversationID == conversation else {
                    throw ChatFailure(.conflict, "client_msg_id was already used for something else")
                }
                return AppendResult(event: prior, duplicate: true)
            }
            let event = try Self.appendEvent(
                db, &changes,
                Event(
                    conversationID: conversation, seq: 0, kind: .message, senderID: server, clientMsgID: clientMsgID,
                    text: text, createdAt: now, messageType: .system))
            return AppendResult(event: event, duplicate: false)
        }
    }

    public func appendSystemNotice(text: String, now: Millis) async throws -> Int {
        try await write { db, changes in
            let users = try Int64.fetchAll(db, sql: "SELECT id FROM users WHERE disabled = 0 ORDER BY id")
            for user in users {
                try Self.appendAccountEvent(
                    db, &changes, AccountEvent(userID: user, kind: .systemNotice, reason: text, createdAt: now))
            }
            return users.count
        }
    }
}
