/// Who may read a file, and what an attachment to it stores
/// (spec/PROTOCOL.md §13.1, §5.9). Pure: the file row and whether it is
/// shared with the viewer come as snapshots.
public enum FilePolicy {
    /// The uploader may read a file, and every member of a conversation
    /// where a message (not deleted) refers to it. `shared` is asked only
    /// when the viewer is not the uploader.
    public static func canRead(_ file: StoredFile, viewer: UserID, shared: () throws -> Bool) rethrows -> Bool {
        try file.ownerID == viewer || shared()
    }

    /// A new upload (§13.2), checked in the transaction that records it:
    /// at most `FileLimits.maxOpenUploads` unfinished at once, and the
    /// user's files and unfinished uploads (`usedBytes`) plus this one
    /// within the quota. (An unfinished upload of the same content resumes
    /// instead, before this is asked.)
    public static func checkNewUpload(size: Int64, openUploads: Int, usedBytes: Int64, quotaBytes: Int64) throws(ChatFailure) {
        guard openUploads < FileLimits.maxOpenUploads else {
            throw ChatFailure(.quotaExceeded, "at most \(FileLimits.maxOpenUploads) unfinished uploads; finish or cancel one")
        }
        guard usedBytes + size <= quotaBytes else {
            throw ChatFailure(.quotaExceeded, "this upload would use \(usedBytes + size) of your \(quotaBytes) bytes", field: "size")
        }
    }

    /// The attachment a message stores for `requested`, naming `file` (nil:
    /// missing or unreadable): the file's size and type, whatever the client
    /// claimed; its name unless the client gave one. An IMAGE needs an image file.
    public static func attachment(
        _ requested: Attachment, file: StoredFile?, type: MessageType?
    ) throws(ChatFailure) -> Attachment {
        guard let file else { throw ChatFailure(.notFound, "no such file", field: "attachment.file_id") }
        if type == .image, !file.mimeType.hasPrefix("image/") {
            throw ChatFailure.invalid("message_type", "an image message needs an image file (this one is \(file.mimeType))")
        }
        return Attachment(
            fileID: file.id, name: requested.name.isEmpty ? file.name : requested.name, size: file.size,
            mimeType: file.mimeType, width: requested.width, height: requested.height)
    }
}
