import ChatConfig
import ChatCore
import Foundation
import GRDB

/// One fuzz input through the message search syntax (`SearchQuery`) and
/// the search cursor, the input read as UTF-8 (invalid bytes replaced, as
/// SwiftProtobuf refuses invalid UTF-8 in a string field before the parser
/// sees it).
///
/// Property beyond "no crash": SearchQuery promises that no input reaches
/// FTS5's parser as an operator, so every expression it accepts must be
/// accepted by FTS5 itself (an in-memory table with the store's tokenizer).
public enum SearchQueryFuzzing {
    public static func check(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? SearchCursor(text, order: .newest)
        _ = try? SearchCursor(text, order: .rank)
        let query: SearchQuery
        do {
            query = try SearchQuery(text)
        } catch {
            return nil
        }
        guard !query.match.isEmpty else { return "accepted \(text.debugDescription) as an empty expression" }
        guard let fts = Self.fts else { return "no in-memory SQLite with FTS5" }
        do {
            _ = try fts.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE t MATCH ?", arguments: [query.match])
            }
        } catch {
            return "FTS5 refused \(query.match.debugDescription) (from \(text.debugDescription)): \(error)"
        }
        return nil
    }

    /// The store's FTS5 table (Schema.swift, message_search), with a few rows.
    static let fts: DatabaseQueue? = try? {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE VIRTUAL TABLE t USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
                    INSERT INTO t (text) VALUES ('hello, @bob'), ('a "big cat" and a dog'), ('Ça va? prêt-à-porter 42');
                    """)
        }
        return queue
    }()
}

/// One fuzz input through the config loader: TOML parsing and validation
/// against the config table (`Config.parse`, what `chatd --check-config`
/// and SIGHUP run), the input read as UTF-8 (`Config.load` refuses a file
/// that is not).
///
/// Properties beyond "no crash": an accepted config has a value of the
/// declared type within bounds for every key of the table, breaks no rule
/// between keys, and can be printed (`chatctl config show`).
public enum ConfigFuzzing {
    public static func check(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = ListenAddress(text)
        let config: Config
        do {
            config = try Config.parse(text, file: "fuzz.conf")
        } catch {
            _ = "\(error)"
            return nil
        }
        if let problem = config.relationProblem() { return "accepted a config that breaks a rule: \(problem)" }
        for key in ConfigTable.keys {
            guard let value = config.values[key.path] else { return "no value for \(key.path)" }
            switch (key.type, value) {
            case (.int(let min, let max), .int(let i)):
                guard i >= min && i <= max else { return "\(key.path) = \(i) outside \(min)...\(max)" }
            case (.string, .string), (.path, .string), (.bool, .bool), (.stringList, .strings):
                break
            case (.address, .string(let s)):
                guard s.isEmpty || ListenAddress(s) != nil else { return "\(key.path) = \(s.debugDescription) is no address" }
            case (.choice(let options), .string(let s)):
                guard options.contains(s) else { return "\(key.path) = \(s.debugDescription) is not a choice" }
            default:
                return "\(key.path) holds \(value), not a \(key.type)"
            }
        }
        _ = config.entries()
        _ = (config.listen, config.tlsListen, config.dataDir, config.controlSocketPath, config.filesDir)
        return nil
    }
}
