import ChatCore
import ChatStore
import Logging

/// The jobs `PeriodicJobService` runs; failures are logged, never thrown
/// (the next run tries again).
extension Daemon {
    /// The retention purge (`retention.default_days` and per-conversation
    /// retention), the audit prune (`retention.audit_days`) and the removal
    /// of invite links and registration tokens dead for 30 days.
    func purge() async {
        do {
            let report = try await rooms.purgeExpired()
            if report.events > 0 {
                logger.info(
                    "retention purge",
                    metadata: [
                        "chatd.conversations": "\(report.conversations)", "chatd.events": "\(report.events)",
                        "chatd.messages": "\(report.messages)",
                    ])
            }
        } catch {
            logger.error("retention purge failed", metadata: ["chatd.error": "\(error)"])
        }
        do {
            let removed = try await accounts.pruneAudit()
            if removed > 0 { logger.info("audit pruned", metadata: ["chatd.rows": "\(removed)"]) }
        } catch {
            logger.error("audit prune failed", metadata: ["chatd.error": "\(error)"])
        }
        do {
            let removed = try await accounts.pruneGrants()
            if removed > 0 { logger.info("dead invite links and registration tokens removed", metadata: ["chatd.rows": "\(removed)"]) }
        } catch {
            logger.error("invite link and registration token prune failed", metadata: ["chatd.error": "\(error)"])
        }
    }

    /// File garbage collection: expired uploads, unreferenced files, strays.
    func collectGarbage() async {
        do {
            let report = try await files.collectGarbage()
            if report != GarbageReport() {
                logger.info(
                    "file garbage collected",
                    metadata: [
                        "chatd.uploads": "\(report.expiredUploads)", "chatd.files": "\(report.files)",
                        "chatd.contents": "\(report.contents)", "chatd.bytes": "\(report.contentBytes)",
                        "chatd.strays": "\(report.strays)",
                    ])
            }
        } catch {
            logger.error("file garbage collection failed", metadata: ["chatd.error": "\(error)"])
        }
    }
}

extension Daemon {
    /// Logs the search index's state when it changed (`SearchIndexWatch`).
    func watchSearchIndex() {
        let status = store.searchIndexStatus
        if let line = searchIndexWatch.withLock({ $0.observe(status) }) {
            logger.log(level: line.level, "\(line.message)")
        }
    }
}

/// What to tell the operator of the search index's state
/// (`DaemonDatabase.searchIndexStatus`), once per change: that it is being
/// rebuilt (after a start that did not trust its file, or a restore), that
/// its rounds fail and why, and that it is current again.
struct SearchIndexWatch: Equatable {
    /// The state last seen; chatd starts out expecting a current index.
    private(set) var last = SearchIndexState.current

    /// The log line for `status`, nil when it has not changed.
    mutating func observe(_ status: SearchIndexState) -> (level: Logger.Level, message: String)? {
        guard status != last else { return nil }
        last = status
        switch status {
        case .current:
            return (.notice, "search index current")
        case .rebuilding:
            return (.notice, "search index rebuilding from the messages; searches may answer unavailable meanwhile")
        case .failing:
            return (.error, "search index \(status); searches wait, then answer unavailable")
        }
    }
}
