/// The closed table of error codes (ErrorResponse.code). Clients switch on the
/// number; the message is for people. See spec/PROTOCOL.md §9.
public enum ErrorCode: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    /// Frame header problem: unknown kind, a kind a client may not send, or non-zero flags.
    case badFrame = 1
    /// The payload is not a valid protobuf message for the op (includes invalid UTF-8 in a string).
    case badPayload = 2
    /// The op number is not known to this server.
    case unknownOp = 3
    /// A frame over max_frame_length, or a field over its byte limit.
    case tooLarge = 4
    /// A field's value is malformed (the `field` member names it).
    case invalidField = 5
    /// The first request on a connection must be Hello.
    case helloRequired = 6
    /// The request is not allowed in the connection's state (Hello twice, Login while logged in).
    case wrongState = 7
    /// The op needs an authenticated connection.
    case unauthenticated = 8
    /// Unknown username or wrong password (deliberately not distinguished).
    case invalidCredentials = 9
    /// The token is unknown, or was ended by logout, rotation or a password change.
    case invalidToken = 10
    /// The token expired; log in again with the password.
    case tokenExpired = 11
    /// The token's device was revoked.
    case deviceRevoked = 12
    /// The device has a public key and the signature is missing or does not verify.
    case badSignature = 13
    /// The account was disabled by an operator.
    case accountDisabled = 14
    /// The caller's role does not allow this.
    case forbidden = 15
    /// The caller is not a member of the conversation.
    case notMember = 16
    /// The addressed object does not exist (or the caller may not know it exists).
    case notFound = 17
    /// A uniqueness rule: username or room name taken, already a member.
    case conflict = 18
    /// Too many attempts; ErrorResponse.retry_after_ms says when to retry.
    case rateLimited = 19
    /// The protocol version in Hello is not supported.
    case unsupportedVersion = 20
    /// Registration is closed on this server.
    case registrationClosed = 21
    /// The server failed; the request may be retried.
    case `internal` = 22
    /// The server is shutting down and takes no new requests.
    case unavailable = 23
    /// The upload would take the user past their file quota, or they have too many unfinished uploads.
    case quotaExceeded = 24
    /// The file's type is not accepted, or its content does not match the declared type.
    case unsupportedType = 25
    /// The uploaded content's BLAKE2b-256 differs from the one declared at UploadBegin (the upload is discarded).
    case hashMismatch = 26
    /// UploadFinish before every byte arrived; UploadStatus lists the received ranges.
    case uploadIncomplete = 27
    /// The invite link or registration token was revoked.
    case inviteRevoked = 28
    /// The invite link or registration token has expired.
    case inviteExpired = 29
    /// The invite link or registration token has no use left.
    case inviteUsedUp = 30

    public var description: String {
        switch self {
        case .badFrame: "bad_frame"
        case .badPayload: "bad_payload"
        case .unknownOp: "unknown_op"
        case .tooLarge: "too_large"
        case .invalidField: "invalid_field"
        case .helloRequired: "hello_required"
        case .wrongState: "wrong_state"
        case .unauthenticated: "unauthenticated"
        case .invalidCredentials: "invalid_credentials"
        case .invalidToken: "invalid_token"
        case .tokenExpired: "token_expired"
        case .deviceRevoked: "device_revoked"
        case .badSignature: "bad_signature"
        case .accountDisabled: "account_disabled"
        case .forbidden: "forbidden"
        case .notMember: "not_member"
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .rateLimited: "rate_limited"
        case .unsupportedVersion: "unsupported_version"
        case .registrationClosed: "registration_closed"
        case .internal: "internal"
        case .unavailable: "unavailable"
        case .quotaExceeded: "quota_exceeded"
        case .unsupportedType: "unsupported_type"
        case .hashMismatch: "hash_mismatch"
        case .uploadIncomplete: "upload_incomplete"
        case .inviteRevoked: "invite_revoked"
        case .inviteExpired: "invite_expired"
        case .inviteUsedUp: "invite_used_up"
        }
    }
}
