/// The three lists ListFriends pages through (§7.2).
public enum FriendList: Sendable, Equatable, CaseIterable {
    /// Friends, by username ignoring ASCII case.
    case friends
    /// Requests to the caller, oldest first (ties by user id).
    case incoming
    /// Requests from the caller, oldest first (ties by user id).
    case outgoing
}

/// Where a page of one friend list starts. On the wire it is the opaque
/// `*_cursor` string of a ListFriends answer, handed back unchanged; this
/// type is its only reader and writer, and refuses anything it did not write.
public enum FriendCursor: Sendable, Equatable {
    case start
    /// After this username key (the username in lower case).
    case afterUsername(String)
    /// After the request made at this time by or to this user.
    case afterRequest(at: Millis, user: UserID)

    /// Reads a cursor sent back for `list`; empty is the start.
    public init(wire: String, for list: FriendList) throws {
        let bad = ChatFailure.invalid("cursor", "not a cursor of this list; pass back the one an answer gave")
        if wire.isEmpty {
            self = .start
            return
        }
        switch list {
        case .friends:
            guard wire.utf8.count <= 32, wire.utf8.allSatisfy(Self.isUsernameKeyByte) else { throw bad }
            self = .afterUsername(wire)
        case .incoming, .outgoing:
            let parts = wire.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.utf8.count <= 19 && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
                let at = Millis(parts[0]), let user = UserID(parts[1])
            else { throw bad }
            self = .afterRequest(at: at, user: user)
        }
    }

    /// The cursor that continues after `entry`, the last one of a page of `list`.
    public init(after entry: FriendEntry, in list: FriendList) {
        switch list {
        case .friends: self = .afterUsername(entry.user.username.lowercased())
        case .incoming, .outgoing: self = .afterRequest(at: entry.since, user: entry.user.id)
        }
    }

    public var wire: String {
        switch self {
        case .start: ""
        case .afterUsername(let key): key
        case .afterRequest(let at, let user): "\(at)-\(user)"
        }
    }

    /// Lower-case username bytes (§4.2 after ASCII lower-casing).
    private static func isUsernameKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2E || b == 0x2D
    }
}
