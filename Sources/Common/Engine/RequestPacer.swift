import Foundation

/// The `--rps` and `--tpm` limits: whether another request may start now.
/// Requests per second is a token bucket holding at most one second's worth
/// (so a burst is at most `rps` requests); tokens per minute is a rolling
/// sixty-second log of the tokens the server reported.
struct RequestPacer {
    let rps: Double?
    let tpm: Double?
    private var bucket: Double
    private var lastRefill: Date?
    private var tokenLog: [(at: Date, tokens: Int)] = []
    private var tokenLogHead = 0

    init(rps: Double?, tpm: Double?) {
        self.rps = rps
        self.tpm = tpm
        bucket = rps.map { max(1, $0) } ?? 0
    }

    var limitsRate: Bool { rps != nil }

    /// True when a request may start now; the caller then calls `sent()`.
    mutating func mayStart(now: Date) -> Bool {
        if let rps {
            let elapsed = lastRefill.map { max(0, now.timeIntervalSince($0)) } ?? 0
            bucket = min(max(1, rps), bucket + elapsed * rps)
            lastRefill = now
            if bucket < 1 { return false }
        }
        if let tpm, tokensInLastMinute(now) >= Int(tpm) { return false }
        return true
    }

    mutating func sent() {
        if rps != nil { bucket -= 1 }
    }

    /// Tokens (prompt + completion) a finished request used.
    mutating func used(_ tokens: Int, now: Date) {
        if tpm != nil { tokenLog.append((now, tokens)) }
    }

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
