import Foundation

/// The counts a tool reports in its one-line summary on exit.
public final class RunSummary {
    public let tool: String
    public var recordsIn = 0
    public var recordsOut = 0
    public var badLines = 0
    /// Model-calling tools: records that failed, calls, and what they cost.
    public var failed = 0
    public var callsModel = false
    public var requests = 0
    public var cacheHits = 0
    public var retries = 0
    public var promptTokens = 0
    public var completionTokens = 0
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
        if callsModel { s += ", \(failed) failed" }
        s += ", \(badLines) bad line\(badLines == 1 ? "" : "s")"
        if callsModel {
            s +=
                "; \(requests) requests, \(cacheHits) cached, \(retries) retries, tokens \(promptTokens) in / \(completionTokens) out"
        }
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

extension RunSummary {
    /// The final figures as JSON (`--stats FILE`).
    public func json() -> JSONValue {
        var o = JSONObject([
            ("tool", .string(tool)), ("in", .int(recordsIn)), ("out", .int(recordsOut)),
            ("dropped", .int(droppedTotal)), ("bad_lines", .int(badLines)),
        ])
        if !dropped.isEmpty {
            o["dropped_by_reason"] = .object(JSONObject(dropped.map { ($0.reason, JSONValue.int($0.count)) }))
        }
        if callsModel {
            o["failed"] = .int(failed)
            o["requests"] = .int(requests)
            o["cache_hits"] = .int(cacheHits)
            o["retries"] = .int(retries)
            o["prompt_tokens"] = .int(promptTokens)
            o["completion_tokens"] = .int(completionTokens)
        }
        let t = elapsed
        o["elapsed_s"] = .double((t * 1000).rounded() / 1000)
        o["records_per_s"] = .double(t > 0 ? (Double(recordsIn) / t * 10).rounded() / 10 : 0)
        if callsModel {
            o["completion_tokens_per_s"] = .double(t > 0 ? (Double(completionTokens) / t * 10).rounded() / 10 : 0)
        }
        return .object(o)
    }
}

extension RunSummary {
    /// Writes `json()` as one line to `path` (`--stats FILE`).
    public func writeStats(to path: String) throws {
        let sink = try OutputSink.open(path)
        try sink.writeLine(json())
        try sink.publish()
    }
}
