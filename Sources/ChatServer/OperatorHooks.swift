import ChatCore

/// What the control router needs from the daemon itself (files, process
/// state), as functions, so that ChatServer does not depend on ChatDaemon.
public struct OperatorHooks: Sendable {
    /// Writes an online backup into a new or empty directory.
    public var backup: @Sendable (_ path: String) async throws -> BackupSummary

    public init(backup: @escaping @Sendable (String) async throws -> BackupSummary = { _ in throw Self.unsupported }) {
        self.backup = backup
    }

    public static let unsupported = ChatFailure(.unavailable, "not available in this chatd")
}

/// What `chatctl backup` wrote.
public struct BackupSummary: Sendable, Equatable {
    public var path: String
    public var databaseBytes: Int64
    public var files: Int
    public var fileBytes: Int64
    public var tookMs: Int64

    public init(path: String, databaseBytes: Int64, files: Int, fileBytes: Int64, tookMs: Int64) {
        self.path = path
        self.databaseBytes = databaseBytes
        self.files = files
        self.fileBytes = fileBytes
        self.tookMs = tookMs
    }
}
