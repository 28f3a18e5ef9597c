import Foundation

/// The counts a tool reports in its one-line summary on exit.
public final class RunSummary {
    public let tool: String
    public var recordsIn = 0
    public var recordsOut = 0
    public var badLines = 0
    /// Drop reasons in the order first seen, with counts.
    public private(set) var dropped: [(reason: String, count: Int)] = []
    let started = Date()

    public init(tool: String) { self.tool = tool }

    public var droppedTotal: Int { dropped.reduce(0) { $0 + $1.count } }

    public func drop(_ reason: String, count: Int = 1) {
        if let i = dropped.firstIndex(where: { $0.reason == reason }) {
            dropped[i].count += count
        } else {
            dropped.append((reason, count))
        }
    }

    public var elapsed: Double { Date().timeIntervalSince(started) }

    /// `mminf-filter: 1000 in, 620 out, 380 dropped (where 350, unique 30), 0 bad lines, 0.41s (2439/s)`
    public func line() -> String {
        var s = "\(tool): \(recordsIn) in, \(recordsOut) out"
        let d = droppedTotal
        s += ", \(d) dropped"
        if d > 0 { s += " (" + dropped.map { "\($0.count) \($0.reason)" }.joined(separator: "; ") + ")" }
        s += ", \(badLines) bad line\(badLines == 1 ? "" : "s")"
        let t = elapsed
        s += String(format: ", %.2fs", t)
        if t > 0 && recordsIn > 0 { s += " (\(RunSummary.rate(Double(recordsIn) / t))/s)" }
        return s
    }

    static func rate(_ r: Double) -> String {
        if r >= 1e6 { return String(format: "%.2fM", r / 1e6) }
        if r >= 1e4 { return String(format: "%.0fk", r / 1e3) }
        return String(format: "%.0f", r)
    }
}
