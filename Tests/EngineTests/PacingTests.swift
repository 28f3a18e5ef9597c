import XCTest

@testable import Engine

/// --rps, --tpm and the retry schedule, on a clock the test sets.
final class PacingTests: XCTestCase {
    func testRequestsPerSecondAreEvenlySpacedWithoutABurst() {
        let t0 = Date()
        var p = RequestPacer(rps: 4, tpm: nil)
        XCTAssertTrue(p.mayStart(now: t0, estimate: 0))
        p.sent(now: t0, estimate: 0)
        XCTAssertFalse(p.mayStart(now: t0, estimate: 0), "no burst")
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(0.2), estimate: 0))
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(0.25), estimate: 0), "one every 1/rps seconds")
        p.sent(now: t0.addingTimeInterval(0.25), estimate: 0)
        // After a long pause, still one at a time.
        let later = t0.addingTimeInterval(100)
        XCTAssertTrue(p.mayStart(now: later, estimate: 0))
        p.sent(now: later, estimate: 0)
        XCTAssertFalse(p.mayStart(now: later.addingTimeInterval(0.1), estimate: 0))
    }

    func testInTheFirstSecondAtMostRpsRequestsStart() {
        let t0 = Date()
        var p = RequestPacer(rps: 4, tpm: nil)
        var started = 0
        for ms in stride(from: 0, to: 1000, by: 5) {
            let now = t0.addingTimeInterval(Double(ms) / 1000)
            if p.mayStart(now: now, estimate: 0) {
                p.sent(now: now, estimate: 0)
                started += 1
            }
        }
        XCTAssertEqual(started, 4)
    }

    func testFractionalRate() {
        let t0 = Date()
        var p = RequestPacer(rps: 0.5, tpm: nil)
        XCTAssertTrue(p.mayStart(now: t0, estimate: 0))
        p.sent(now: t0, estimate: 0)
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(1.9), estimate: 0))
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(2.0), estimate: 0))
    }

    func testTokensPerMinuteCountWhatIsInFlightAndWhatWasReported() {
        let t0 = Date()
        var p = RequestPacer(rps: nil, tpm: 100)
        let e = p.estimate(bodyBytes: 80, maxTokens: 20)
        XCTAssertEqual(e, 40, "80 bytes ≈ 20 prompt tokens, plus max_tokens")
        XCTAssertTrue(p.mayStart(now: t0, estimate: e))
        p.sent(now: t0, estimate: e)
        XCTAssertTrue(p.mayStart(now: t0, estimate: e))
        p.sent(now: t0, estimate: e)
        XCTAssertFalse(p.mayStart(now: t0, estimate: e), "40 + 40 in flight + 40 > 100")
        // The server reports less than estimated: the difference is freed.
        p.ended(estimate: e, prompt: 10, completion: 5, now: t0.addingTimeInterval(1))
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(1), estimate: e), "15 + 40 + 40 <= 100")
        p.sent(now: t0.addingTimeInterval(1), estimate: e)
        p.ended(estimate: e, prompt: 30, completion: 40, now: t0.addingTimeInterval(2))
        p.ended(estimate: e, prompt: 30, completion: 40, now: t0.addingTimeInterval(2))
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(30), estimate: p.estimate(bodyBytes: 80, maxTokens: 20)))
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(62.5), estimate: 40), "the minute rolled over")
    }

    func testEstimatesLearnFromTheServer() {
        var p = RequestPacer(rps: nil, tpm: 1000)
        XCTAssertEqual(
            p.estimate(bodyBytes: 400_000, maxTokens: nil), 8192 + 256, "bounded prompt guess, default completion")
        p.ended(estimate: 0, prompt: 700, completion: 100, now: Date())
        p.ended(estimate: 0, prompt: 900, completion: 300, now: Date())
        XCTAssertEqual(p.estimate(bodyBytes: 400_000, maxTokens: nil), 800 + 200, "the means reported so far")
        XCTAssertEqual(p.estimate(bodyBytes: 400_000, maxTokens: 50), 850)
    }

    func testARequestLargerThanTheLimitStillGoesAlone() {
        let t0 = Date()
        var p = RequestPacer(rps: nil, tpm: 100)
        XCTAssertTrue(
            p.mayStart(now: t0, estimate: 500), "nothing else counted: it goes, or the run would wait forever")
        p.sent(now: t0, estimate: 500)
        XCTAssertFalse(p.mayStart(now: t0, estimate: 1))
    }

    func testRetryDelaysGrowWithJitterAndHonourRetryAfter() {
        var s = RetrySchedule<Int>(base: 0.5, cap: 30)
        for attempt in 1...10 {
            let ceiling = min(30, 0.5 * pow(2, Double(attempt - 1)))
            for _ in 0..<50 {
                let d = s.delay(afterAttempt: attempt, retryAfter: nil)
                XCTAssertTrue((0...ceiling).contains(d), "attempt \(attempt): \(d)")
            }
        }
        XCTAssertGreaterThanOrEqual(s.delay(afterAttempt: 1, retryAfter: 7), 7)
    }

    func testRetriesComeDueInOrder() {
        let t0 = Date()
        var s = RetrySchedule<String>(base: 0.5, cap: 30)
        s.add("late", after: 3, now: t0)
        s.add("early", after: 1, now: t0)
        s.add("middle", after: 2, now: t0)
        XCTAssertEqual(s.takeDue(now: t0.addingTimeInterval(0.5)), [])
        XCTAssertEqual(s.takeDue(now: t0.addingTimeInterval(2.5)), ["early", "middle"])
        XCTAssertEqual(s.count, 1)
        XCTAssertEqual(s.nextDue, t0.addingTimeInterval(3))
    }
}
