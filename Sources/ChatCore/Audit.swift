/// A query over the audit table (chatctl audit): newest first, paged by id.
public struct AuditFilter: Sendable, Equatable {
    public var user: UserID?
    public var action: AuditEntry.Action?
    /// Inclusive lower bound of `at`.
    public var since: Millis?
    /// Exclusive upper bound of `at`.
    public var until: Millis?
    /// Only rows with id < this (the next page); nil: from the newest.
    public var beforeID: Int64?
    public var limit: Int

    public static let defaultLimit = 100
    public static let maxLimit = 1000

    public init(
        user: UserID? = nil, action: AuditEntry.Action? = nil, since: Millis? = nil, until: Millis? = nil,
        beforeID: Int64? = nil, limit: Int = defaultLimit
    ) {
        self.user = user
        self.action = action
        self.since = since
        self.until = until
        self.beforeID = beforeID
        self.limit = limit
    }

    /// Checks a request's raw fields (0 and "" mean absent) and builds the filter.
    public static func validated(
        user: UserID?, action: String, sinceMs: Millis, untilMs: Millis, beforeID: UInt64, limit: Int
    ) throws(ChatFailure) -> AuditFilter {
        let known = AuditEntry.Action(rawValue: action)
        guard action.isEmpty || known != nil else {
            throw ChatFailure.invalid(
                "action", "unknown action; one of \(AuditEntry.Action.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard sinceMs >= 0 else { throw ChatFailure.invalid("since_ms", "since_ms must not be negative") }
        guard untilMs >= 0 else { throw ChatFailure.invalid("until_ms", "until_ms must not be negative") }
        if sinceMs > 0, untilMs > 0, untilMs <= sinceMs {
            throw ChatFailure.invalid("until_ms", "until_ms must be after since_ms")
        }
        return AuditFilter(
            user: user, action: known, since: sinceMs > 0 ? sinceMs : nil, until: untilMs > 0 ? untilMs : nil,
            beforeID: beforeID > 0 ? Int64(clamping: beforeID) : nil,
            limit: Validate.pageLimit(limit, default: defaultLimit, max: maxLimit))
    }
}

/// One audit row as stored, with its id and the user's current username.
public struct AuditRecord: Sendable, Equatable {
    public var id: Int64
    public var at: Millis
    /// The stored action name (rows written by newer versions may carry names this one does not know).
    public var action: String
    public var actor: String
    public var userID: UserID?
    public var username: String?
    public var address: String
    public var detail: String

    public init(
        id: Int64, at: Millis, action: String, actor: String, userID: UserID?, username: String?, address: String,
        detail: String
    ) {
        self.id = id
        self.at = at
        self.action = action
        self.actor = actor
        self.userID = userID
        self.username = username
        self.address = address
        self.detail = detail
    }
}
