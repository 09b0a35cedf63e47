import Foundation
import Histogram

struct LatencySummary: Codable {
    var count: UInt64
    var p50Ms: Double
    var p99Ms: Double
    var p999Ms: Double
    var maxMs: Double

    init(_ h: Histogram<UInt64>) {
        count = h.totalCount
        p50Ms = Double(h.valueAtPercentile(50)) / 1e6
        p99Ms = Double(h.valueAtPercentile(99)) / 1e6
        p999Ms = Double(h.valueAtPercentile(99.9)) / 1e6
        maxMs = Double(h.max) / 1e6
    }
}

struct Report: Codable {
    var scenario: String
    var parameters: [String: String] = [:]
    var seconds: Double = 0
    var rates: [String: Double] = [:]
    var counts: [String: Int] = [:]
    var latency: [String: LatencySummary] = [:]
    var server: [String: Double] = [:]
    var errors: Int = 0
    var notes: [String] = []

    func table() -> String {
        var lines = ["scenario: \(scenario)"]
        if !parameters.isEmpty {
            lines.append("parameters: " + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
        lines.append(String(format: "measured: %.1f s", seconds))
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        for (k, v) in rates.sorted(by: { $0.key < $1.key }) { lines.append("  " + pad(k, 36) + String(format: "%12.1f", v)) }
        for (k, v) in counts.sorted(by: { $0.key < $1.key }) { lines.append("  " + pad(k, 36) + String(format: "%12d", v)) }
        for (k, l) in latency.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "  " + pad(k + " latency", 24)
                    + String(
                        format: "p50 %7.2f ms  p99 %7.2f ms  p99.9 %7.2f ms  max %7.2f ms  (n=%llu)", l.p50Ms, l.p99Ms, l.p999Ms,
                        l.maxMs, l.count))
        }
        for (k, v) in server.sorted(by: { $0.key < $1.key }) { lines.append("  " + pad("server " + k, 36) + String(format: "%12.2f", v)) }
        lines.append("  errors \(errors)")
        for note in notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
