import ChatCore
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
