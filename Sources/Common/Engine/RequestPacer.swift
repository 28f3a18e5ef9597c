import Foundation

/// The `--rps` and `--tpm` limits: whether the next request may start now.
///
/// Requests per second are spaced evenly: one every 1/rps seconds, no burst
/// (`--rps 4` starts a request at 0, 0.25, 0.5, 0.75 s...). Tokens per minute
/// are counted over a rolling sixty seconds: a request is admitted only when
/// the tokens the server reported for the last minute, plus the estimates of
/// the requests still in flight, plus this request's estimate fit under the
/// limit. When an answer arrives, its estimate is replaced by the usage the
/// server reported. A request larger than the whole limit still goes when
/// nothing else is counted, so a run never waits forever.
struct RequestPacer {
    let rps: Double?
    let tpm: Double?
    private var nextStart: Date?
    private var tokenLog: [(at: Date, tokens: Int)] = []
    private var tokenLogHead = 0
    private var reserved = 0
    private var reportedPrompt = (sum: 0, count: 0)
    private var reportedCompletion = (sum: 0, count: 0)

    /// Completion tokens assumed when neither --max-tokens nor any answer says more.
    static let defaultCompletionEstimate = 256
    /// Prompt tokens assumed from a body's size before the server has reported any:
    /// about 4 bytes a token, at most this many (media make bodies large, not prompts).
    static let largestPromptEstimate = 8192

    init(rps: Double?, tpm: Double?) {
        self.rps = rps
        self.tpm = tpm
    }

    var limitsRate: Bool { rps != nil }
    var countsTokens: Bool { tpm != nil }

    /// The tokens a request is expected to use: its prompt (the mean the server has
    /// reported, else from its size) and its completion (`max_tokens` when set, else
    /// the mean reported, else a default).
    func estimate(bodyBytes: Int, maxTokens: Int?) -> Int {
        let prompt =
            reportedPrompt.count > 0
            ? reportedPrompt.sum / reportedPrompt.count
            : min(RequestPacer.largestPromptEstimate, bodyBytes / 4)
        let completion =
            maxTokens
            ?? (reportedCompletion.count > 0
                ? reportedCompletion.sum / reportedCompletion.count : RequestPacer.defaultCompletionEstimate)
        return prompt + completion
    }

    /// True when a request of `estimate` tokens may start now; the caller then calls `sent`.
    mutating func mayStart(now: Date, estimate: Int) -> Bool {
        if let nextStart, now < nextStart { return false }
        if let tpm {
            let counted = tokensInLastMinute(now) + reserved
            if counted > 0 && Double(counted + estimate) > tpm { return false }
        }
        return true
    }

    mutating func sent(now: Date, estimate: Int) {
        if let rps {
            // Evenly spaced from the later of now and the previous slot.
            let base = max(now, nextStart ?? now)
            nextStart = base.addingTimeInterval(1 / rps)
        }
        if tpm != nil { reserved += estimate }
    }

    /// A request ended: its estimate is released and what the server reported is counted.
    mutating func ended(estimate: Int, prompt: Int?, completion: Int?, now: Date) {
        guard tpm != nil else { return }
        reserved = max(0, reserved - estimate)
        if let prompt {
            reportedPrompt.sum += prompt
            reportedPrompt.count += 1
        }
        if let completion {
            reportedCompletion.sum += completion
            reportedCompletion.count += 1
        }
        // No usage reported: count the estimate, so the limit still holds.
        let used = prompt == nil && completion == nil ? estimate : (prompt ?? 0) + (completion ?? 0)
        if used > 0 { tokenLog.append((now, used)) }
    }

    /// When the next request could start for the rate limit (nil: now).
    var nextRateSlot: Date? { nextStart }

    private mutating func tokensInLastMinute(_ now: Date) -> Int {
        let cutoff = now.addingTimeInterval(-60)
        while tokenLogHead < tokenLog.count, tokenLog[tokenLogHead].at < cutoff { tokenLogHead += 1 }
        if tokenLogHead > 1024 {
            tokenLog.removeFirst(tokenLogHead)
            tokenLogHead = 0
        }
        return tokenLog[tokenLogHead...].reduce(0) { $0 + $1.tokens }
    }
}
