import ChatCore

/// Push targets and what a notification says (as SQLiteStore+Push).
extension PostgresStore {
    static let pushTargetColumns =
        "p.device_id, p.user_id, d.device_id AS client_device_id, p.kind, p.endpoint, p.pushkey, p.app_id, p.platform, p.created_at, p.p256dh, p.auth"

    static func pushTarget(_ row: PGRow) -> PushTarget {
        PushTarget(
            device: row[0].int, userID: row[1].int, deviceID: row[2].text, kind: PushKind(rawValue: row[3].text) ?? .unifiedPush,
            endpoint: row[4].text, pushkey: row[5].text, appID: row[6].text, platform: row[7].text, p256dh: row[9].bytesOrNil ?? [],
            auth: row[10].bytesOrNil ?? [], createdAt: row[8].int)
    }

    public func pushTargets(user: UserID?) async throws -> [PushTarget] {
        try await read { s in
            if let user {
                return try s.rows(
                    "SELECT \(Self.pushTargetColumns) FROM push_targets p JOIN devices d ON d.id = p.device_id WHERE p.user_id = ? ORDER BY p.device_id",
                    [user]
                ).map(Self.pushTarget)
            }
            return try s.rows(
                "SELECT \(Self.pushTargetColumns) FROM push_targets p JOIN devices d ON d.id = p.device_id ORDER BY p.user_id, p.device_id"
            ).map(Self.pushTarget)
        }
    }

    public func pushContexts(_ notes: [PushQueue.Note], now: Millis, withSender: Bool) async throws -> [PushContext] {
        try await read { s in
            try notes.map { note in
                let targets = try s.rows(
                    """
                    SELECT \(Self.pushTargetColumns) FROM push_targets p JOIN devices d ON d.id = p.device_id JOIN users u ON u.id = p.user_id
                    WHERE p.user_id = ? AND d.revoked_at IS NULL AND d.token_expires_at > ? AND NOT u.disabled ORDER BY p.device_id
                    """, [note.user, now]
                ).map(Self.pushTarget)
                let member = try s.row(
                    "SELECT read_seq, notify_level, notify_muted_until FROM members WHERE conversation_id = ? AND user_id = ?",
                    [note.conversation, note.user])
                guard let member, !targets.isEmpty else {
                    return PushContext(note: note, targets: targets, isMember: member != nil, settings: NotificationSettings(), unread: 0, mentions: 0)
                }
                let readSeq = member[0].int
                let settings = NotificationSettings(
                    level: member[1].textOrNil.flatMap(NotifyLevel.init(rawValue:)) ?? .all, mutedUntil: member[2].intOrNil)
                let unread = try s.int(
                    """
                    SELECT count(*) FROM (SELECT 1 FROM events WHERE conversation_id = ? AND seq > ? AND kind = 'message'
                    AND sender_id != ? AND NOT deleted LIMIT \(PushContext.maxCount)) AS u
                    """, [note.conversation, readSeq, note.user]) ?? 0
                let mentions = try s.int(
                    """
                    SELECT count(*) FROM (SELECT 1 FROM mentions m JOIN events e ON e.conversation_id = m.conversation_id AND e.seq = m.seq
                    WHERE m.conversation_id = ? AND m.user_id = ? AND m.seq > ? AND e.sender_id != ? LIMIT \(PushContext.maxCount)) AS m
                    """, [note.conversation, note.user, readSeq, note.user]) ?? 0
                let sender = withSender ? try s.row("SELECT username FROM users WHERE id = ?", [note.sender])?[0].textOrNil : nil
                var current = note
                if withSender {
                    // The text as it is now: edited, or gone with a deletion or a purge.
                    let row = try s.row("SELECT text, deleted FROM events WHERE conversation_id = ? AND seq = ?", [note.conversation, note.seq])
                    current.text = PushContext.currentText(row.map { ($0[0].textOrNil, $0[1].bool) })
                }
                return PushContext(
                    note: current, targets: targets, isMember: true, settings: settings, unread: Int(unread), mentions: Int(mentions),
                    senderUsername: sender)
            }
        }
    }
}
