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

    mutating func maybePrint(_ tool: RecordTool, inFlight: Int, waiting: Int, now: Date = Date()) {
        guard every > 0, now.timeIntervalSince(last) >= every else { return }
        last = now
        let s = tool.summary
        let t = now.timeIntervalSince(started)
        let done = s.recordsOut + s.failed
        var line = "\(tool.name)[\(step)]: \(done) done"
        if let share = ProgressLine.finishedShare(done: done, read: s.recordsIn, readFraction: tool.input.fraction) {
            line += String(format: " (%.0f%%)", share * 100)
            if share > 0 { line += ", ETA \(ProgressLine.duration(t / share - t))" }
        }
        line += String(format: ", %.1f rec/s, %.0f tok/s", Double(done) / t, Double(s.completionTokens) / t)
        line += ", \(inFlight) in flight"
        if waiting > 0 { line += ", \(waiting) waiting to retry" }
        line += ", \(s.retries) retries, \(s.failed) failed"
        RecordTool.printError(line)
    }

    /// The share of the whole input whose records are finished: records done over
    /// the records the input is estimated to hold (those read so far, scaled by the
    /// share of the input's bytes read). Bytes alone would say 100% as soon as the
    /// reader is ahead, with nothing done. nil when the input size is unknown (a pipe).
    static func finishedShare(done: Int, read: Int, readFraction: Double?) -> Double? {
        guard let readFraction, readFraction > 0, read > 0 else { return nil }
        let estimatedTotal = Double(read) / readFraction
        return min(1, Double(done) / estimatedTotal)
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let v = Int(s)
        if v >= 3600 { return "\(v / 3600)h\(String(format: "%02d", (v % 3600) / 60))m" }
        if v >= 60 { return "\(v / 60)m\(String(format: "%02d", v % 60))s" }
        return "\(v)s"
    }
}
