/// A user named by id, else by username (spec/PROTOCOL.md §7.1): checked
/// before any lookup, so a bad reference costs no read.
public enum UserReference: Sendable, Equatable {
    case id(UserID)
    /// The username's comparison key, to look up.
    case usernameKey(String)

    public init(id: UserID, username: String) throws(ChatFailure) {
        if id != 0 {
            self = .id(id)
            return
        }
        guard !username.isEmpty else { throw ChatFailure.invalid("user_id", "give user_id or username") }
        if username.utf8.count > WireLimits.usernameMaxBytes {
            throw ChatFailure.tooLong("username", max: WireLimits.usernameMaxBytes)
        }
        self = .usernameKey(Validate.usernameKey(username))
    }

    /// The user's id: `lookup` finds a username's (nil: no such user).
    public func resolve(_ lookup: (String) throws -> UserID?) throws -> UserID {
        switch self {
        case .id(let id): return id
        case .usernameKey(let key):
            guard let id = try lookup(key) else { throw ChatFailure(.notFound, "no such user") }
            return id
        }
    }
}
