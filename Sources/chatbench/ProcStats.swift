import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time and memory of the chatd process under test, from /proc/<pid>;
/// with several nodes, the sums over their processes.
struct ProcStats: Sendable {
    let pids: [Int32]

    init(pids: [Int32]) { self.pids = pids }

    /// user + system CPU seconds consumed so far.
    func cpuSeconds() -> Double? {
        var total = 0.0
        for pid in pids {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = text.lastIndex(of: ")")
            else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            // After the command: state(0) ... utime is field 14 overall = index 11 here, stime index 12.
            guard fields.count > 12, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
            total += (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        return total
    }

    /// Resident set size in bytes.
    func rssBytes() -> Int? {
        var total = 0
        for pid in pids {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
            else { return nil }
            total += kib * 1024
        }
        return total
    }
}

/// Raises the open-file limit as far as allowed (many connections).
func raiseFileLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
}
