/// Deleting an account (chatctl user delete). Nothing is removed in a way
/// clients could not follow: conversation seqs stay gap-free and every
/// change arrives as an event.
extension AccountService {
    /// The username a deleted account keeps: not a valid username, so it can
    /// neither collide with nor be mistaken for a real one.
    public static func tombstoneUsername(_ id: UserID) -> String { "#deleted-\(id)" }

    public static func isTombstone(_ account: UserAccount) -> Bool {
        account.user.username == tombstoneUsername(account.user.id)
    }

    /// Messages deleted per write transaction, so that a prolific user's
    /// deletion does not hold the writer for long.
    public static let messageDeletionBatch = 500

    public struct Deletion: Sendable, Equatable {
        public var previousUsername: String
        public var messagesDeleted: Int
    }

    /// Ends the user's sessions, deletes their messages (unless `anonymise`)
    /// as a server DeleteMessage each, then turns the account into a
    /// tombstone. The username becomes free for a new account. Re-running
    /// after a failure finishes the job.
    public func adminDeleteUser(_ account: UserAccount, anonymise: Bool, actor: String) async throws -> Deletion {
        guard !Self.isTombstone(account) else { throw ChatFailure(.conflict, "this account was deleted already") }
        let user = account.user.id
        try await store.setDisabled(user: user, true)
        sessions.endSessions(user: user, reason: .accountDisabled)
        var deleted = 0
        if !anonymise {
            var after = ""
            while true {
                let (n, last) = try await store.deleteMessages(
                    sender: user, after: after, limit: Self.messageDeletionBatch, now: clock.nowMs())
                deleted += n
                guard n == Self.messageDeletionBatch, let last else { break }
                after = last
            }
        }
        let (tombstone, now) = (Self.tombstoneUsername(user), clock.nowMs())
        try await store.transaction { tx in try tx.deleteAccount(user, username: tombstone, now: now) }
        // Whatever logged in meanwhile (an operator's enable during a long
        // deletion) ends here: the tombstone has no devices.
        sessions.endSessions(user: user, reason: .accountDisabled)
        try await store.audit(
            AuditEntry(
                at: clock.nowMs(), action: .adminUserDelete, actor: actor, userID: user, address: "",
                detail: "username=\(account.user.username) anonymise=\(anonymise) messages_deleted=\(deleted)"))
        return Deletion(previousUsername: account.user.username, messagesDeleted: deleted)
    }
}
