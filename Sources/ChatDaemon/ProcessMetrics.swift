import Foundation

/// The standard `process_*` metrics of Prometheus client libraries, read
/// from /proc/self at each scrape: CPU seconds, resident and virtual memory,
/// open and maximum file descriptors, start time.
struct ProcessMetrics: Equatable {
    var cpuSeconds: Double = 0
    var residentBytes: Double = 0
    var virtualBytes: Double = 0
    var openFDs: Double = 0
    var maxFDs: Double = 0
    var startTimeSeconds: Double = 0

    static func read() -> ProcessMetrics {
        var m = ProcessMetrics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8) {
            m.apply(stat: stat, ticksPerSecond: ticks, pageSize: pageSize, bootTime: bootTime())
        }
        m.openFDs = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { m.maxFDs = Double(limit.rlim_cur) }
        return m
    }

    /// Fields of /proc/self/stat after the command name (which may hold
    /// spaces and parentheses, so it is skipped up to the last ')').
    mutating func apply(stat: String, ticksPerSecond: Double, pageSize: Double, bootTime: Double) {
        guard let close = stat.lastIndex(of: ")") else { return }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3 of proc(5)); utime is field 14, stime 15,
        // starttime 22, vsize 23, rss 24.
        func field(_ number: Int) -> Double { fields.count > number - 3 ? Double(fields[number - 3]) ?? 0 : 0 }
        cpuSeconds = (field(14) + field(15)) / ticksPerSecond
        startTimeSeconds = bootTime + field(22) / ticksPerSecond
        virtualBytes = field(23)
        residentBytes = field(24) * pageSize
    }

    /// Seconds since 1970 at boot (/proc/stat btime).
    static func bootTime() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
