import XCTest

@testable import Engine

/// --rps, --tpm and the retry schedule, on a clock the test sets.
final class PacingTests: XCTestCase {
    func testRequestsPerSecondAllowsOneSecondOfBurstThenSpacesRequests() {
        let t0 = Date()
        var p = RequestPacer(rps: 4, tpm: nil)
        var started = 0
        while p.mayStart(now: t0) {
            p.sent()
            started += 1
        }
        XCTAssertEqual(started, 4, "a burst is at most one second's worth")
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(0.2)))
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(0.26)), "one more every 1/rps seconds")
        p.sent()
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(0.27)))
        // A long pause refills to the burst size, not beyond.
        var later = 0
        while p.mayStart(now: t0.addingTimeInterval(100)) {
            p.sent()
            later += 1
        }
        XCTAssertEqual(later, 4)
    }

    func testFractionalRateStillSendsOneAtATime() {
        let t0 = Date()
        var p = RequestPacer(rps: 0.5, tpm: nil)
        XCTAssertTrue(p.mayStart(now: t0))
        p.sent()
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(1.5)))
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(2.01)))
    }

    func testTokensPerMinuteHoldsUntilTheMinuteRollsOver() {
        let t0 = Date()
        var p = RequestPacer(rps: nil, tpm: 100)
        XCTAssertTrue(p.mayStart(now: t0))
        p.used(60, now: t0)
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(1)))
        p.used(50, now: t0.addingTimeInterval(1))
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(30)), "110 tokens in the last minute")
        XCTAssertFalse(p.mayStart(now: t0.addingTimeInterval(59.9)))
        XCTAssertTrue(p.mayStart(now: t0.addingTimeInterval(60.5)), "the first 60 tokens are older than a minute")
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
