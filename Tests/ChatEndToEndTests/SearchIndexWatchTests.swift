import ChatStore
import Testing

@testable import ChatDaemon

/// The operator hears of the search index's state once per change.
struct SearchIndexWatchTests {
    @Test func eachChangeIsToldOnce() {
        var watch = SearchIndexWatch()
        #expect(watch.observe(.current) == nil, "chatd starts out expecting a current index")
        let rebuilding = watch.observe(.rebuilding)
        #expect(rebuilding?.level == .notice && rebuilding?.message.hasPrefix("search index rebuilding") == true)
        #expect(watch.observe(.rebuilding) == nil)
        #expect(watch.observe(.current)?.message == "search index current")
        let failing = watch.observe(.failing("SQLite error 13: database or disk is full"))
        #expect(failing?.level == .error)
        #expect(failing?.message.hasPrefix("search index failing: SQLite error 13: database or disk is full") == true)
        #expect(watch.observe(.failing("SQLite error 13: database or disk is full")) == nil)
        #expect(watch.observe(.failing("SQLite error 5: database is locked"))?.level == .error, "another reason is told")
        #expect(watch.observe(.current)?.level == .notice)
        #expect(watch.last == .current)
    }
}
