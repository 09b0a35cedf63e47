import Foundation
import ChatCore

/// Message search on PostgreSQL full-text search: `search_docs.document`
/// (a tsvector of the lower-cased text, GIN-indexed), ids growing with
/// insertion so that newest first is descending id. The query is the one
/// `SearchQuery` parsed (spec §13.6), turned from its FTS5 form into a
/// tsquery whose every term is a bound parameter; the same bound on
/// examined candidates and the same cursors as on SQLite.
extension PostgresStore {
    public func searchMessages(_ r: SearchRequest) async throws -> (hits: [SearchHit], next: SearchCursor?) {
        let tsquery = try Self.tsquery(r.query.match)
        return try await read { s in
            var visible = "d.conversation_id IN (SELECT conversation_id FROM members WHERE user_id = ?)"
            var visibleArguments: [any PGBindable] = [r.viewer]
            if let c = r.conversation {
                visible += " AND d.conversation_id = ?"
                visibleArguments.append(c)
            }
            var page: [Int64] = []
            var next: SearchCursor?
            switch r.order {
            case .newest:
                var before = Int64.max
                if case .before(let key) = r.cursor { before = key }
                var examined = 0
                var batch = max(64, 4 * (r.limit + 1))
                scan: while examined < SearchCursor.maxCandidates {
                    let take = min(batch, SearchCursor.maxCandidates - examined)
                    let rows = try s.rows(
                        """
                        SELECT d.id, \(visible) FROM search_docs d
                        WHERE d.document @@ (\(tsquery.sql)) AND d.id < ? ORDER BY d.id DESC LIMIT ?
                        """, visibleArguments + tsquery.arguments + [before, take])
                    for row in rows {
                        let id = row[0].int
                        if row[1].bool {
                            if page.count == r.limit {
                                next = .before(key: page[page.count - 1])
                                break scan
                            }
                            page.append(id)
                        }
                        before = id
                    }
                    examined += rows.count
                    if rows.count < take { break }
                    if examined >= SearchCursor.maxCandidates { next = .before(key: before) }
                    batch *= 4
                }
            case .rank:
                var offset = 0
                if case .offset(let n) = r.cursor { offset = n }
                let ids = try s.ints(
                    """
                    SELECT c.id FROM
                      (SELECT d.id, d.conversation_id, ts_rank(d.document, t.q) AS score
                       FROM search_docs d, (SELECT (\(tsquery.sql)) AS q) t WHERE d.document @@ t.q ORDER BY d.id DESC LIMIT ?) c
                    JOIN search_docs d ON d.id = c.id
                    WHERE \(visible) ORDER BY c.score DESC, c.id DESC LIMIT ? OFFSET ?
                    """, tsquery.arguments + [SearchCursor.maxCandidates] + visibleArguments + [r.limit + 1, offset])
                page = Array(ids.prefix(r.limit))
                if ids.count > r.limit { next = .offset(offset + r.limit) }
            }
            guard !page.isEmpty else { return ([], next) }
            let placeholders = Array(repeating: "?", count: page.count).joined(separator: ",")
            let rows = try s.rows(
                """
                SELECT d.id, ts_headline('simple', e.text, t.q,
                         'StartSel="' || chr(2) || '", StopSel="' || chr(3) || '", MaxFragments=1, MaxWords=16, MinWords=4, FragmentDelimiter=…'),
                       d.conversation_id, d.seq, e.sender_id, e.created_at, e.message_type
                FROM search_docs d
                JOIN events e ON e.conversation_id = d.conversation_id AND e.seq = d.seq,
                (SELECT (\(tsquery.sql)) AS q) t
                WHERE d.id IN (\(placeholders))
                """, tsquery.arguments + page.map { $0 as any PGBindable })
            var byID: [Int64: PGRow] = [:]
            for row in rows { byID[row[0].int] = row }
            let hits = page.compactMap { id -> SearchHit? in
                guard let row = byID[id] else { return nil }
                return SearchHit(
                    conversationID: row[2].int, seq: row[3].int, senderID: row[4].int, createdAt: row[5].int,
                    messageType: row[6].textOrNil.flatMap(MessageType.init(rawValue:)), snippet: row[1].text)
            }
            return (hits, next)
        }
    }

    /// A tsquery expression, as SQL with `?` placeholders and their
    /// arguments, from the FTS5 expression `SearchQuery` makes: quoted
    /// terms (a trailing `*` for a prefix), AND, OR, NOT and parentheses.
    static func tsquery(_ match: String) throws -> (sql: String, arguments: [any PGBindable]) {
        var sql = ""
        var arguments: [any PGBindable] = []
        let chars = Array(match)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " {
                i += 1
            } else if c == "(" || c == ")" {
                sql += String(c)
                i += 1
            } else if c == "\"" {
                var term = ""
                i += 1
                while i < chars.count {
                    if chars[i] == "\"" {
                        if i + 1 < chars.count, chars[i + 1] == "\"" {
                            term.append("\"")
                            i += 2
                            continue
                        }
                        break
                    }
                    term.append(chars[i])
                    i += 1
                }
                i += 1
                if i < chars.count, chars[i] == "*" {
                    i += 1
                    // Each word of the prefix term as a tsquery lexeme, the last one a prefix.
                    sql += "to_tsquery('simple', ?)"
                    let words = Self.fold(term).split(whereSeparator: { !$0.isLetter && !$0.isNumber })
                    arguments.append(
                        words.enumerated().map { index, word in
                            "'" + word + "'" + (index == words.count - 1 ? ":*" : "")
                        }.joined(separator: " <-> "))
                } else {
                    sql += "phraseto_tsquery('simple', ?)"
                    arguments.append(Self.fold(term))
                }
            } else {
                var word = ""
                while i < chars.count, chars[i].isLetter {
                    word.append(chars[i])
                    i += 1
                }
                switch word {
                case "AND": sql += " && "
                case "OR": sql += " || "
                case "NOT": sql += " && !! "
                default: throw ChatFailure.invalid("query", "the query cannot be searched")
                }
            }
        }
        return (sql, arguments)
    }

    /// Case and accents ignored, as the documents are (`unaccent(lower(text))`)
    /// and as SQLite's unicode61 tokenizer does.
    static func fold(_ term: String) -> String {
        term.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
    }
}
