/// The message search syntax (spec/PROTOCOL.md §13), parsed into an FTS5
/// MATCH expression in which every term is a quoted string. Clients never
/// write FTS5 syntax, so no input can reach FTS5's parser as an operator or
/// a column filter, and a malformed query is `invalid_field`, never an
/// internal error.
///
///     word           messages containing the word (accents and case ignored)
///     "two words"    the phrase
///     pre*           words starting with "pre" (at least 2 characters)
///     a OR b         either (binds tighter than the implicit AND)
///     -word          without the word (at least one positive term needed)
///
/// Terms are ANDed.
public struct SearchQuery: Sendable, Equatable {
    public static let maxBytes = 256
    public static let maxTerms = 16
    public static let minPrefixCharacters = 2

    /// The FTS5 expression.
    public let match: String

    public init(_ text: String) throws(ChatFailure) {
        guard text.utf8.count <= Self.maxBytes else { throw .tooLong("query", max: Self.maxBytes) }
        let tokens = try Self.tokenize(text)
        var groups: [[String]] = []  // AND of ORs
        var negatives: [String] = []
        var pendingOr = false
        var lastWasExcluded = false
        var terms = 0
        for token in tokens {
            switch token {
            case .or:
                guard !lastWasExcluded else { throw .invalid("query", "OR cannot join an excluded term") }
                guard !pendingOr, !(groups.last?.isEmpty ?? true) else {
                    throw .invalid("query", "OR must stand between two terms")
                }
                pendingOr = true
            case .term(let fts, let negated):
                lastWasExcluded = negated
                terms += 1
                guard terms <= Self.maxTerms else { throw .invalid("query", "at most \(Self.maxTerms) terms") }
                if negated {
                    guard !pendingOr else { throw .invalid("query", "OR cannot join an excluded term") }
                    negatives.append(fts)
                } else if pendingOr, !groups.isEmpty {
                    groups[groups.count - 1].append(fts)
                    pendingOr = false
                } else {
                    groups.append([fts])
                }
            }
        }
        guard !pendingOr else { throw .invalid("query", "OR must stand between two terms") }
        guard !groups.isEmpty else {
            throw .invalid("query", negatives.isEmpty ? "the query has no words" : "the query needs a word that is not excluded")
        }
        var positive = groups.map { $0.count == 1 ? $0[0] : "(" + $0.joined(separator: " OR ") + ")" }
            .joined(separator: " AND ")
        if !negatives.isEmpty {
            positive = "(\(positive)) NOT (\(negatives.joined(separator: " OR ")))"
        }
        match = positive
    }

    enum Token: Equatable {
        case or
        case term(String, negated: Bool)
    }

    static func tokenize(_ text: String) throws(ChatFailure) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0
        func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
        while i < scalars.count {
            if isSpace(scalars[i]) {
                i += 1
                continue
            }
            if scalars[i].properties.generalCategory == .control {
                throw .invalid("query", "the query contains a control character")
            }
            var negated = false
            if scalars[i] == "-" {
                negated = true
                i += 1
                guard i < scalars.count, !isSpace(scalars[i]) else { throw .invalid("query", "'-' must precede a term") }
            }
            if scalars[i] == "\"" {
                guard let close = scalars[(i + 1)...].firstIndex(of: "\"") else {
                    throw .invalid("query", "unbalanced quote")
                }
                let phrase = String(String.UnicodeScalarView(scalars[(i + 1)..<close]))
                try requireWord(phrase)
                tokens.append(.term(quote(phrase), negated: negated))
                i = close + 1
                continue
            }
            var j = i
            while j < scalars.count, !isSpace(scalars[j]), scalars[j] != "\"" { j += 1 }
            var word = String(String.UnicodeScalarView(scalars[i..<j]))
            i = j
            if word == "OR" && !negated {
                tokens.append(.or)
                continue
            }
            var prefix = false
            if word.hasSuffix("*") {
                word.removeLast()
                prefix = true
                guard word.count >= minPrefixCharacters, !word.contains("*") else {
                    throw .invalid("query", "a prefix needs at least \(minPrefixCharacters) characters before '*'")
                }
            }
            guard !word.contains("*") else { throw .invalid("query", "'*' may only end a word") }
            try requireWord(word)
            tokens.append(.term(quote(word) + (prefix ? "*" : ""), negated: negated))
        }
        return tokens
    }

    /// A term must contain a letter or digit (else the tokenizer drops it and
    /// FTS5 would match nothing, or fail on an empty phrase).
    static func requireWord(_ s: String) throws(ChatFailure) {
        guard s.unicodeScalars.contains(where: { $0.properties.isAlphabetic || $0.properties.numericType != nil }) else {
            throw .invalid("query", "every term needs a letter or digit")
        }
        if s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalid("query", "the query contains a control character")
        }
    }

    static func quote(_ s: String) -> String { "\"" + s.replacingAll("\"", with: "\"\"") + "\"" }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}

public enum SearchOrder: Sendable, Equatable {
    case newest
    case rank
}

/// Where the next page starts: below a search key for newest-first, or an
/// offset into the ranked list. Opaque to clients ("n:<key>", "r:<n>").
public enum SearchCursor: Sendable, Equatable {
    case start
    case before(key: Int64)
    case offset(Int)

    public static let maxRankOffset = 1000
    /// Matching messages (server-wide, newest first) one request examines
    /// at most: the bound on a search's cost, whoever asks.
    public static let maxCandidates = 5000

    public init(_ text: String, order: SearchOrder) throws(ChatFailure) {
        if text.isEmpty {
            self = .start
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        switch (order, parts.count, parts.first) {
        case (.newest, 2, "n"):
            guard let key = Int64(parts[1]), key > 0 else { break }
            self = .before(key: key)
            return
        case (.rank, 2, "r"):
            guard let n = Int(parts[1]), n >= 0, n <= Self.maxRankOffset else { break }
            self = .offset(n)
            return
        default: break
        }
        throw .invalid("cursor", "cursor is not one this server gave for this order")
    }

    public var text: String {
        switch self {
        case .start: ""
        case .before(let key): "n:\(key)"
        case .offset(let n): "r:\(n)"
        }
    }
}

public struct SearchHit: Sendable, Equatable {
    public var conversationID: ConversationID
    public var seq: Seq
    public var senderID: UserID
    public var createdAt: Millis
    public var messageType: MessageType?
    /// The text around the matches; each match between U+0002 and U+0003.
    public var snippet: String

    public init(
        conversationID: ConversationID, seq: Seq, senderID: UserID, createdAt: Millis, messageType: MessageType?, snippet: String
    ) {
        self.conversationID = conversationID
        self.seq = seq
        self.senderID = senderID
        self.createdAt = createdAt
        self.messageType = messageType
        self.snippet = snippet
    }
}

public struct SearchRequest: Sendable, Equatable {
    public var viewer: UserID
    public var query: SearchQuery
    public var conversation: ConversationID?
    public var order: SearchOrder
    public var cursor: SearchCursor
    public var limit: Int

    public init(viewer: UserID, query: SearchQuery, conversation: ConversationID?, order: SearchOrder, cursor: SearchCursor, limit: Int) {
        self.viewer = viewer
        self.query = query
        self.conversation = conversation
        self.order = order
        self.cursor = cursor
        self.limit = limit
    }
}
