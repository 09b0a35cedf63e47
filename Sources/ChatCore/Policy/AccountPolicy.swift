/// Account-state rules (spec/PROTOCOL.md §4.1, §4.7): a disabled account,
/// and a deleted one (a disabled tombstone), acts no more. Checked inside
/// the write an account's request makes, so a request in flight when an
/// operator disabled or deleted the account does not land after it.
public enum AccountPolicy {
    /// The account exists and is not disabled. nil: no such account.
    public static func checkActive(_ account: AccountSnapshot?) throws(ChatFailure) {
        guard account?.disabled == false else { throw ChatFailure(.accountDisabled, "the account was disabled") }
    }
}

/// A device's last-seen record (spec/PROTOCOL.md §4.3 Resume, §4.5
/// ListDevices). Register and Login write it every time (they write the
/// device's token anyway). A Resume writes it only when the device comes
/// from another address than the one recorded, or the record is
/// `granularityMs` old or more: a storm of reconnects (a restart, a network
/// blip) then costs no durable write per connection, and
/// `last_seen_at_ms` is at most that much behind a device that keeps
/// resuming from one address.
public enum LastSeenPolicy {
    public static let granularityMs: Millis = 60_000

    /// Whether a Resume at `now` from `address` records itself.
    public static func resumeRecords(_ device: Device, now: Millis, address: String) -> Bool {
        device.lastAddress != address || now - device.lastSeenAt >= granularityMs || now < device.lastSeenAt
    }
}
