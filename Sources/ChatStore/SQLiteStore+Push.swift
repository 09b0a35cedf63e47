import ChatCore
import Foundation
import GRDB

/// Push targets and what a notification says (PROTOCOL.md §4.8).
extension SQLiteStore: BlockingPushReads {
    static let pushTargetColumns =
        "p.device_id, p.user_id, d.device_id AS client_device_id, p.kind, p.endpoint, p.pushkey, p.app_id, p.platform, p.created_at, p.p256dh, p.auth"

    static func pushTarget(_ row: Row) -> PushTarget {
        PushTarget(
            device: row[0], userID: row[1], deviceID: row[2], kind: PushKind(rawValue: row[3]) ?? .unifiedPush, endpoint: row[4],
            pushkey: row[5], appID: row[6], platform: row[7], p256dh: [UInt8]((row[9] as Data?) ?? Data()),
            auth: [UInt8]((row[10] as Data?) ?? Data()), createdAt: row[8])
    }

    public func pushTargets(user: UserID?) async throws -> [PushTarget] {
        try await read { db in
            try Row.decodeAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.pushTargetColumns) FROM push_targets p JOIN devices d ON d.id = p.device_id
                        WHERE ?1 IS NULL OR p.user_id = ?1 ORDER BY p.user_id, p.device_id
                        """), arguments: [user], Self.pushTarget)
        }
    }

    public func pushContexts(_ notes: [PushQueue.Note], now: Millis, withSender: Bool) async throws -> [PushContext] {
        try await read { db in try Self.pushContexts(db, notes, now: now, withSender: withSender) }
    }

    /// On the calling thread: GRDB's synchronous read runs its block on the
    /// caller (a serial queue's `sync`), and starts no thread.
    public func pushContextsBlocking(_ notes: [PushQueue.Note], now: Millis, withSender: Bool) throws -> [PushContext] {
        do {
            return try writer.read { db in try Self.pushContexts(db, notes, now: now, withSender: withSender) }
        } catch let error as DatabaseError {
            throw Self.translate(error)
        }
    }

    private static func pushContexts(_ db: Database, _ notes: [PushQueue.Note], now: Millis, withSender: Bool) throws -> [PushContext] {
        try notes.map { note in
            let targets = try Row.decodeAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(pushTargetColumns) FROM push_targets p JOIN devices d ON d.id = p.device_id JOIN users u ON u.id = p.user_id
                        WHERE p.user_id = ? AND d.revoked_at IS NULL AND d.token_expires_at > ? AND u.disabled = 0 ORDER BY p.device_id
                        """), arguments: [note.user, now], pushTarget)
            let member = try Row.fetchOneCached(db,
                sql: "SELECT read_seq, notify_level, notify_muted_until FROM members WHERE conversation_id = ? AND user_id = ?",
                arguments: [note.conversation, note.user])
            guard let member, !targets.isEmpty else {
                return PushContext(note: note, targets: targets, isMember: member != nil, settings: NotificationSettings(), unread: 0, mentions: 0)
            }
            let readSeq: Int64 = member[0] ?? 0
            let settings = NotificationSettings(
                level: (member[1] as String?).flatMap(NotifyLevel.init(rawValue:)) ?? .all, mutedUntil: member[2])
            // Counted up to a bound: a badge says "99+" long before.
            let unread = try Int.fetchOneCached(db,
                sql: """
                    SELECT count(*) FROM (SELECT 1 FROM events WHERE conversation_id = ? AND seq > ? AND kind = 'message'
                    AND sender_id != ? AND deleted = 0 LIMIT \(PushContext.maxCount))
                    """, arguments: [note.conversation, readSeq, note.user]) ?? 0
            let mentions = try Int.fetchOneCached(db,
                sql: """
                    SELECT count(*) FROM (SELECT 1 FROM mentions m JOIN events e ON e.conversation_id = m.conversation_id AND e.seq = m.seq
                    WHERE m.conversation_id = ? AND m.user_id = ? AND m.seq > ? AND e.sender_id != ? LIMIT \(PushContext.maxCount))
                    """, arguments: [note.conversation, note.user, readSeq, note.user]) ?? 0
            let sender = withSender
                ? try String.fetchOneCached(db, sql: "SELECT username FROM users WHERE id = ?", arguments: [note.sender]) : nil
            var current = note
            if withSender {
                // The text as it is now: edited, or gone with a deletion or a purge.
                let row = try Row.fetchOneCached(db,
                    sql: "SELECT text, deleted FROM events WHERE conversation_id = ? AND seq = ?", arguments: [note.conversation, note.seq])
                current.text = PushContext.currentText(row.map { ($0[0] as String?, ($0[1] as Int64?) == 1) })
            }
            return PushContext(
                note: current, targets: targets, isMember: true, settings: settings, unread: unread, mentions: mentions,
                senderUsername: sender)
        }
    }
}
