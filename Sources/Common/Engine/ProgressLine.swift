import Foundation
import RecordCore

/// The progress line a long run prints on stderr every few seconds, prefixed
/// with the tool and step so that several tools can share one terminal:
/// `mminf-gen[hook]: 1200 done (12%), ETA 14m05s, 9.8 rec/s, 310 tok/s, 64 in flight, 3 retries, 0 failed`
struct ProgressLine {
    let every: Double
    let step: String
    let started = Date()
    private var last = Date()

    init(every: Double, step: String) {
        self.every = every
        self.step = step
    }

    mutating func maybePrint(_ tool: RecordTool, inFlight: Int, now: Date = Date()) {
        guard every > 0, now.timeIntervalSince(last) >= every else { return }
        last = now
        let s = tool.summary
        let t = now.timeIntervalSince(started)
        let done = s.recordsOut + s.failed
        var line = "\(tool.name)[\(step)]: \(done) done"
        if let fraction = tool.input.fraction, fraction > 0 {
            let eta = t / fraction - t
            line += String(format: " (%.0f%%)", fraction * 100)
            line += ", ETA \(ProgressLine.duration(eta))"
        }
        line += String(format: ", %.1f rec/s, %.0f tok/s", Double(done) / t, Double(s.completionTokens) / t)
        line += ", \(inFlight) in flight, \(s.retries) retries, \(s.failed) failed"
        RecordTool.printError(line)
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let v = Int(s)
        if v >= 3600 { return "\(v / 3600)h\(String(format: "%02d", (v % 3600) / 60))m" }
        if v >= 60 { return "\(v / 60)m\(String(format: "%02d", v % 60))s" }
        return "\(v)s"
    }
}
