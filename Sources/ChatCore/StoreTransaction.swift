/// The seam between the rules and the database: one write transaction.
///
/// `Store.transaction { tx in ... }` runs its body inside one database
/// transaction (for SQLite, a savepoint of a group-commit batch). The body
/// reads through `tx` exactly the rows a rule needs, as snapshots, decides
/// with a policy of ChatCore, and writes through `tx`; a failure thrown
/// anywhere rolls back everything the body wrote. So a check and the write
/// it guards always see the same rows: a send, an edit, a reaction or a
/// moderation step is one database operation, whatever runs concurrently.
///
/// Implementations do persistence only (statements and mapping): every
/// decision is made by the caller, in ChatCore. Events appended here are
/// published after the commit, in commit order. A transaction is used on
/// the thread that runs the body and never escapes it.
public protocol StoreTransaction: AnyObject {
    // MARK: Snapshots

    /// The conversation, the user's membership in it and the user's
    /// account, read together.
    func standing(of user: UserID, in conversation: ConversationID) throws -> Standing
    /// The account, or nil when there is no such user.
    func account(_ user: UserID) throws -> AccountSnapshot?
    /// The id of the user with this username key.
    func userID(usernameKey: String) throws -> UserID?
    /// The conversation as `viewer` sees it (`Conversation.myRole`, `peerUserID`).
    func conversation(_ id: ConversationID, viewer: UserID?) throws -> Conversation?
    /// The direct chat of two users, as `a` sees it.
    func directConversation(between a: UserID, and b: UserID) throws -> Conversation?
    /// The rooms and groups (not direct chats) the user is a member of, ascending.
    func roomsAndGroups(of user: UserID) throws -> [ConversationID]
    func isBanned(_ user: UserID, from conversation: ConversationID) throws -> Bool
    /// The member who joined first (then the lowest id), among those with
    /// `role`, or among all members when `role` is nil.
    func longestServing(in conversation: ConversationID, role: MemberRole?) throws -> UserID?
    /// The members with this role (nil: all of them), ascending.
    func members(of conversation: ConversationID, role: MemberRole?) throws -> [UserID]
    /// The other member of a direct chat.
    func peer(inDirect conversation: ConversationID, of user: UserID) throws -> UserID?
    /// Whether either user blocks the other.
    func isBlocked(_ a: UserID, _ b: UserID) throws -> Bool
    /// Whether `user` and the other member of a direct chat block one
    /// another (`peer(inDirect:)` and `isBlocked` in one statement); false
    /// when there is no other member.
    func blocksWithPeer(inDirect conversation: ConversationID, of user: UserID) throws -> Bool
    /// Whether `user` blocks `target` (one direction).
    func blocks(_ user: UserID, _ target: UserID) throws -> Bool
    /// The friendship row from `user` towards `other`: a pending request or an accepted friendship.
    func link(from user: UserID, to other: UserID) throws -> FriendPolicy.Link?
    /// The user's friends (accepted friendships).
    func friends(of user: UserID) throws -> [UserID]
    /// The device with this row id, revoked or not.
    func device(_ device: DeviceRowID) throws -> Device?
    /// Everyone with a friendship row (pending or accepted, either way) with the user.
    func friendshipPartners(of user: UserID) throws -> [UserID]

    /// The event at `seq`, in its current state.
    func event(conversation: ConversationID, seq: Seq) throws -> Event?
    /// The event a sender stored earlier under this client_msg_id.
    func priorEvent(sender: UserID, clientMsgID: String) throws -> Event?
    /// `standing`, `priorEvent` and the block check of a send at once
    /// (StoreTransaction+Messages gives it from those; a backend whose
    /// statements cross a network sends them together).
    func sendSnapshot(sender: UserID, in conversation: ConversationID, clientMsgID: String) throws -> SendSnapshot
    /// The MESSAGE_DELETED event of the message at `seq`.
    func deletion(conversation: ConversationID, of seq: Seq) throws -> Event?
    /// Members of the conversation among these usernames (mentions), ascending.
    func members(conversation: ConversationID, usernameKeys: [String]) throws -> [UserID]
    /// Up to `limit` of the sender's MESSAGEs that are not deleted, whose
    /// client_msg_id sorts after `after`, in that order.
    func undeletedMessages(sender: UserID, after: String, limit: Int) throws -> [Event]
    /// The seq of the REACTION_ADDED event of this user's reaction, if it is there.
    func reaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String) throws -> Seq?
    /// How many reactions the user has on the message.
    func reactionCount(conversation: ConversationID, seq: Seq, user: UserID) throws -> Int

    /// The file with this id.
    func file(id: String) throws -> StoredFile?
    /// Whether a message (not deleted) refers to the file in a conversation the user is a member of.
    func isFileShared(_ id: String, withMember user: UserID) throws -> Bool

    /// The invite link or registration token whose token hashes to this,
    /// locked until the transaction ends (two redemptions of the last use
    /// cannot both see it free).
    func grant(tokenHash: [UInt8]) throws -> Grant?
    /// The grant with this id, locked likewise.
    func grant(id: Int64) throws -> Grant?
    /// Invite links of `conversation` (kind `.invite`) or registration
    /// tokens (`.registration`, conversation nil), newest first; with
    /// `liveAt`, only those neither revoked, expired nor used up then.
    func grants(kind: Grant.Kind, conversation: ConversationID?, liveAt: Millis?, limit: Int) throws -> [Grant]

    // MARK: Writes

    /// Gives `event` the conversation's next seq, stores it (with its
    /// mentions) and queues it for publishing; returns it as stored.
    func append(_ event: Event) throws -> Event
    /// Stores a per-user account event and queues it for publishing.
    func append(_ event: AccountEvent) throws
    /// A new text for the message at `seq`, with its mentions.
    func setMessageText(conversation: ConversationID, seq: Seq, text: String, editedAt: Millis, mentions: [UserID]) throws
    /// Empties the message at `seq` (text, mentions, attachment, reactions,
    /// and the text of its edits); the row stays, so seqs keep no gaps.
    func eraseMessage(conversation: ConversationID, seq: Seq) throws
    func insertReaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String, eventSeq: Seq, at: Millis) throws
    func deleteReaction(conversation: ConversationID, seq: Seq, user: UserID, emoji: String) throws
    /// Sets the read position, and raises the delivered position to it
    /// when it is lower (a read position implies delivery).
    func setReadSeq(conversation: ConversationID, user: UserID, seq: Seq) throws
    func setDeliveredSeq(conversation: ConversationID, user: UserID, seq: Seq) throws
    func setNotifications(conversation: ConversationID, user: UserID, _ settings: NotificationSettings) throws
    /// The device's push target (§4.8), if it has one.
    func pushTarget(device: DeviceRowID) throws -> PushTarget?
    /// Stores the device's push target, replacing the one it had.
    func savePushTarget(_ target: PushTarget) throws
    func deletePushTarget(device: DeviceRowID) throws

    /// Creates or re-activates the device (user, deviceID) with the binding's token.
    func bindDevice(user: UserID, _ binding: DeviceBinding) throws -> Device
    /// The user's password hash as stored (nil: no such user).
    func passwordHash(_ user: UserID) throws -> String?
    /// Replaces the user's password hash (`not_found`: no such user).
    func setPasswordHash(user: UserID, hash: String) throws
    /// Ends the tokens of every device of `user` except `except` (revoked
    /// devices keep theirs, so a Resume says device_revoked); returns the
    /// devices that held one.
    func endTokens(user: UserID, except: DeviceRowID?) throws -> [DeviceRowID]
    /// Sets the fields `change` gives; returns the user as now stored (nil: no such user).
    func setProfile(user: UserID, _ change: ProfileChange, at: Millis) throws -> User?
    /// Marks the device revoked; its token hash is kept, so that a later
    /// Resume with it answers device_revoked rather than invalid_token.
    func setRevoked(_ device: DeviceRowID, at: Millis) throws
    /// Stores a new account (no checks beyond the database's constraints).
    func insertUser(_ user: NewUser) throws -> UserAccount
    /// Turns the account into a tombstone: devices and tokens are deleted,
    /// and the profile becomes "Deleted user" under the username `tombstone`.
    func tombstone(_ user: UserID, username tombstone: String, now: Millis) throws
    /// Stores a new conversation (a direct chat under its pair of users); returns its id.
    func insertConversation(_ new: NewConversation) throws -> ConversationID
    /// The user becomes a member with `role`, having read (and so received) everything before.
    func insertMember(conversation: ConversationID, user: UserID, role: MemberRole, at: Millis) throws
    func deleteMember(conversation: ConversationID, user: UserID) throws
    func setRole(conversation: ConversationID, user: UserID, role: MemberRole) throws
    func setMute(conversation: ConversationID, user: UserID, until: Millis?) throws
    func insertBan(conversation: ConversationID, user: UserID, by: UserID, at: Millis) throws
    /// Lifts a ban; false when there was none.
    func deleteBan(conversation: ConversationID, user: UserID) throws -> Bool
    /// Sets what is given; returns the name and description now.
    func updateConversation(
        _ conversation: ConversationID, name: String?, nameKey: String?, description: String?
    ) throws -> (name: String, description: String)
    /// Two users became contacts (friends or direct partners): the presence index hears of it after commit.
    func contactsAdded(_ a: UserID, _ b: UserID)
    /// Deletes the conversation and what is left in it; returns its kind, nil when there was none.
    func deleteConversation(_ conversation: ConversationID) throws -> ConversationKind?
    /// The conversation was deleted with these members: live connections hear of it after commit.
    func conversationDeleted(_ conversation: ConversationID, members: [UserID])
    /// Two users stopped being contacts (friends or direct partners).
    func contactsRemoved(_ a: UserID, _ b: UserID)
    /// Sets the row from `user` towards `other`.
    func setLink(_ link: FriendPolicy.Link, from user: UserID, to other: UserID, at: Millis) throws
    /// Deletes the pending request `from` → `to`; false when there was none.
    func deletePendingRequest(from: UserID, to: UserID) throws -> Bool
    /// Deletes the friendship rows of the two users, both ways.
    func deleteFriendship(_ a: UserID, _ b: UserID) throws
    func insertBlock(_ user: UserID, _ target: UserID, at: Millis) throws
    /// Lifts `user`'s block of `target`; false when there was none.
    func deleteBlock(_ user: UserID, _ target: UserID) throws -> Bool
    /// Stores a new invite link or registration token (the token's hash only).
    func insertGrant(_ new: NewGrant) throws -> Grant
    /// Counts one use of the grant.
    func addGrantUse(_ id: Int64) throws
    func setGrantRevoked(_ id: Int64, at: Millis) throws
    /// Deletes up to `limit` grants that stopped being usable before
    /// `before` (revoked or expired then; used up and created then);
    /// returns how many.
    func deleteDeadGrants(before: Millis, limit: Int) throws -> Int
}
