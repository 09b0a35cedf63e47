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
