/// Why a request failed, in domain terms. The server maps each case to one
/// wire error code; `message` is safe to show the client (no secrets, no SQL).
public struct ChatFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case invalidField
        case tooLarge
        case invalidCredentials
        case invalidToken
        case tokenExpired
        case deviceRevoked
        case badSignature
        case accountDisabled
        case forbidden
        case notMember
        case notFound
        case conflict
        case rateLimited
        case registrationClosed
        case wrongState
        case unavailable
        case quotaExceeded
        case unsupportedType
        case hashMismatch
        case uploadIncomplete
        case inviteRevoked
        case inviteExpired
        case inviteUsedUp
        case `internal`
    }

    public var kind: Kind
    public var message: String
    public var field: String
    public var retryAfterMs: Int64

    public init(_ kind: Kind, _ message: String, field: String = "", retryAfterMs: Int64 = 0) {
        self.kind = kind
        self.message = message
        self.field = field
        self.retryAfterMs = retryAfterMs
    }

    public var description: String { "\(kind): \(message)" }

    public static func invalid(_ field: String, _ message: String) -> ChatFailure {
        ChatFailure(.invalidField, message, field: field)
    }

    public static func tooLong(_ field: String, max: Int) -> ChatFailure {
        ChatFailure(.tooLarge, "\(field) is longer than \(max) bytes", field: field)
    }

    public static func rateLimited(retryAfterMs: Int64, _ message: String = "too many attempts") -> ChatFailure {
        ChatFailure(.rateLimited, message, retryAfterMs: max(1, retryAfterMs))
    }
}
