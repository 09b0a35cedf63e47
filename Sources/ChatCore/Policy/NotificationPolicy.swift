/// Notification settings (spec/PROTOCOL.md §6.6): per member and
/// conversation, a level (all, mentions only, none) and an optional mute
/// until a time. Stored with the membership; the member's other devices
/// learn a change through a NOTIFICATIONS_CHANGED account event. The
/// server stores, syncs and reports them, and push notifications to
/// offline devices respect them (`PushPolicy.notifies`); clients badge and
/// notify by them.
public enum NotificationPolicy {
    /// Longest mute of notifications, as for a moderator's mute: 366 days.
    public static let maxMuteMs: Millis = ModerationPolicy.maxMuteMs

    /// SetNotifications' fields. `level` nil: the request's value is not a
    /// known level. `mutedUntil` 0: not muted; a past time is allowed (it
    /// means not muted).
    public static func validate(level: NotifyLevel?, mutedUntil: Millis, now: Millis) throws(ChatFailure) -> NotificationSettings {
        guard let level else { throw ChatFailure.invalid("level", "level must be NOTIFY_ALL, NOTIFY_MENTIONS or NOTIFY_NONE") }
        guard mutedUntil >= 0, mutedUntil <= now + maxMuteMs else {
            throw ChatFailure.invalid("muted_until_ms", "muted_until_ms must be 0 or at most 366 days ahead")
        }
        return NotificationSettings(level: level, mutedUntil: mutedUntil == 0 ? nil : mutedUntil)
    }
}

/// What a member wants to be notified of in one conversation.
public enum NotifyLevel: String, Sendable, CaseIterable {
    case all
    case mentions
    case nothing = "none"
}

/// A member's notification settings for one conversation.
public struct NotificationSettings: Sendable, Equatable {
    public var level: NotifyLevel
    /// The end of a mute of notifications; nil: not muted.
    public var mutedUntil: Millis?

    public init(level: NotifyLevel = .all, mutedUntil: Millis? = nil) {
        self.level = level
        self.mutedUntil = mutedUntil
    }

    /// How a NOTIFICATIONS_CHANGED account event stores them in its
    /// `reason` (the account event table has no other free column):
    /// "level" or "level mutedUntil".
    public var encoded: String { mutedUntil.map { "\(level.rawValue) \($0)" } ?? level.rawValue }

    public init?(encoded: String) {
        let parts = encoded.split(separator: " ")
        guard let first = parts.first, let level = NotifyLevel(rawValue: String(first)), parts.count <= 2 else { return nil }
        var until: Millis?
        if parts.count == 2 {
            guard let value = Millis(parts[1]) else { return nil }
            until = value
        }
        self.init(level: level, mutedUntil: until)
    }
}
