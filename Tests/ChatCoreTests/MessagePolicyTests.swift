import ChatCore
import Testing

/// The message rules (spec/PROTOCOL.md §5.9–§5.13, §6.3, the "own
/// messages / any message" columns and note ¹ of §5.3), without a database.
struct MessagePolicyTests {
    static func kind(_ body: () throws -> Void) -> ChatFailure.Kind? {
        ConversationPolicyTests.kind(body)
    }

    static func message(by sender: UserID, type: MessageType = .text, deleted: Bool = false) -> Event {
        Event(conversationID: 1, seq: 5, kind: .message, senderID: sender, text: "hi", createdAt: 1, messageType: type, deleted: deleted)
    }

    static let member = Membership(role: .member, readSeq: 0, mutedUntil: nil)

    /// ¹ Writing is forbidden while muted and, in a direct chat, while either user blocks the other.
    @Test func writers() {
        #expect(Self.kind { try MessagePolicy.checkWriter(Self.member, blocked: false, now: 100) } == nil)
        #expect(Self.kind { try MessagePolicy.checkWriter(Self.member, blocked: true, now: 100) } == .forbidden)
        var muted = Self.member
        muted.mutedUntil = 200
        #expect(Self.kind { try MessagePolicy.checkWriter(muted, blocked: false, now: 100) } == .forbidden)
        // An expired mute is not cleared, and no longer counts.
        #expect(Self.kind { try MessagePolicy.checkWriter(muted, blocked: false, now: 200) } == nil)
        #expect(MessagePolicy.blocksApply(in: .direct))
        #expect(!MessagePolicy.blocksApply(in: .room))
        #expect(!MessagePolicy.blocksApply(in: .group))
    }

    /// Account state: a write of a disabled (or deleted, so disabled) account does not land.
    @Test func activeAccounts() {
        #expect(Self.kind { try AccountPolicy.checkActive(AccountSnapshot(id: 1)) } == nil)
        #expect(Self.kind { try AccountPolicy.checkActive(AccountSnapshot(id: 1, disabled: true)) } == .accountDisabled)
        #expect(Self.kind { try AccountPolicy.checkActive(nil) } == .accountDisabled)
    }

    /// EditMessage: own messages only, whatever the role; not SYSTEM; not deleted.
    @Test(arguments: MemberRole.allCases)
    func edits(_ role: MemberRole) {
        _ = role  // Roles give no right to edit: the rule does not take one.
        #expect(Self.kind { try MessagePolicy.checkEdit(Self.message(by: 1), editor: 1) } == nil)
        #expect(Self.kind { try MessagePolicy.checkEdit(Self.message(by: 2), editor: 1) } == .forbidden)
        #expect(Self.kind { try MessagePolicy.checkEdit(Self.message(by: 1, type: .system), editor: 1) } == .forbidden)
        #expect(Self.kind { try MessagePolicy.checkEdit(Self.message(by: 1, deleted: true), editor: 1) } == .notFound)
    }

    /// DeleteMessage: owners and admins any message, members their own; server admins any.
    @Test(arguments: MemberRole.allCases)
    func deletes(_ role: MemberRole) {
        let others: ChatFailure.Kind? = role >= .admin ? nil : .forbidden
        #expect(Self.kind { try MessagePolicy.checkDelete(Self.message(by: 1), by: 1, role: role, serverAdmin: false) } == nil)
        #expect(Self.kind { try MessagePolicy.checkDelete(Self.message(by: 2), by: 1, role: role, serverAdmin: false) } == others)
        #expect(Self.kind { try MessagePolicy.checkDelete(Self.message(by: 2), by: 1, role: role, serverAdmin: true) } == nil)
    }

    @Test func targets() {
        #expect(Self.kind { _ = try MessagePolicy.target(Self.message(by: 1), seq: 5) } == nil)
        #expect(Self.kind { _ = try MessagePolicy.target(nil, seq: 5) } == .notFound)
        var join = Self.message(by: 1)
        join.kind = .memberJoined
        #expect(Self.kind { _ = try MessagePolicy.target(join, seq: 5) } == .notFound)
        #expect(Self.kind { try MessagePolicy.checkReply(to: Self.message(by: 2, deleted: true)) } == nil)
        #expect(Self.kind { try MessagePolicy.checkReply(to: join) } == .invalidField)
        #expect(Self.kind { try MessagePolicy.checkReply(to: nil) } == .invalidField)
    }

    /// §5.12: not on a deleted message; at most 20 emojis per user per message.
    @Test func reactions() {
        #expect(Self.kind { try MessagePolicy.checkReactable(Self.message(by: 1)) } == nil)
        #expect(Self.kind { try MessagePolicy.checkReactable(Self.message(by: 1, deleted: true)) } == .notFound)
        #expect(Self.kind { try MessagePolicy.checkNewReaction(existing: MessagePolicy.maxReactionsPerUserPerMessage - 1) } == nil)
        #expect(Self.kind { try MessagePolicy.checkNewReaction(existing: MessagePolicy.maxReactionsPerUserPerMessage) } == .tooLarge)
    }

    /// §5.13: a retry of the same request gets the stored event; any other use of the id is a conflict.
    @Test func retries() throws {
        let prior = Self.message(by: 1)
        #expect(try MessagePolicy.retry(nil, sameRequest: { _ in true }) == nil)
        #expect(try MessagePolicy.retry(prior, sameRequest: { $0.kind == .message }) == AppendResult(event: prior, duplicate: true))
        #expect(Self.kind { _ = try MessagePolicy.retry(prior, sameRequest: { $0.kind == .messageEdited }) } == .conflict)
    }

    /// §6.3: the read position only moves forward, never past the head.
    @Test func readPositions() throws {
        #expect(try MessagePolicy.advanceRead(to: 5, from: 3, head: 9) == 5)
        #expect(try MessagePolicy.advanceRead(to: 3, from: 3, head: 9) == nil)
        #expect(try MessagePolicy.advanceRead(to: 2, from: 3, head: 9) == nil)
        #expect(try MessagePolicy.advanceRead(to: 9, from: 3, head: 9) == 9)
        #expect(Self.kind { _ = try MessagePolicy.advanceRead(to: 10, from: 3, head: 9) } == .invalidField)
        #expect(Self.kind { try MessagePolicy.checkSyncPosition(9, head: 9) } == nil)
        #expect(Self.kind { try MessagePolicy.checkSyncPosition(10, head: 9) } == .invalidField)
    }
}

/// §13.1: who may read a file, and what an attachment stores (§5.9).
struct FilePolicyTests {
    static let file = StoredFile(id: "f", ownerID: 1, name: "cat.png", mimeType: "image/png", size: 10, hash: [], createdAt: 0)

    @Test func readers() {
        var asked = false
        #expect(FilePolicy.canRead(Self.file, viewer: 1, shared: { asked = true; return false }))
        #expect(!asked)
        #expect(FilePolicy.canRead(Self.file, viewer: 2, shared: { true }))
        #expect(!FilePolicy.canRead(Self.file, viewer: 2, shared: { false }))
    }

    @Test func attachments() throws {
        let requested = Attachment(fileID: "f", name: "", size: 999, mimeType: "text/plain", width: 3, height: 4)
        let stored = try FilePolicy.attachment(requested, file: Self.file, type: .image)
        #expect(stored == Attachment(fileID: "f", name: "cat.png", size: 10, mimeType: "image/png", width: 3, height: 4))
        var named = requested
        named.name = "mine.png"
        #expect(try FilePolicy.attachment(named, file: Self.file, type: .file).name == "mine.png")
        #expect(MessagePolicyTests.kind { _ = try FilePolicy.attachment(requested, file: nil, type: .file) } == .notFound)
        var text = Self.file
        text.mimeType = "text/plain"
        #expect(MessagePolicyTests.kind { _ = try FilePolicy.attachment(requested, file: text, type: .image) } == .invalidField)
        #expect(MessagePolicyTests.kind { _ = try FilePolicy.attachment(requested, file: text, type: .file) } == nil)
    }

    /// §13.2: 16 unfinished uploads at most; files plus unfinished uploads within the quota.
    @Test func newUploads() {
        let open = FileLimits.maxOpenUploads
        #expect(MessagePolicyTests.kind { try FilePolicy.checkNewUpload(size: 10, openUploads: open - 1, usedBytes: 90, quotaBytes: 100) } == nil)
        #expect(MessagePolicyTests.kind { try FilePolicy.checkNewUpload(size: 10, openUploads: open, usedBytes: 0, quotaBytes: 100) } == .quotaExceeded)
        #expect(MessagePolicyTests.kind { try FilePolicy.checkNewUpload(size: 11, openUploads: 0, usedBytes: 90, quotaBytes: 100) } == .quotaExceeded)
    }
}
