import Foundation
import TestSupport
import XCTest

/// --rps and --window seen from the server: when requests arrived.
final class EngineLimitsTests: ToolTestCase {
    func records(_ n: Int) -> String {
        (0..<n).map { #"{"id":\#($0),"topic":"topic \#($0)"}"# }.joined(separator: "\n") + "\n"
    }

    func gen(_ d: ChatDouble, _ extra: [String], _ n: Int) throws -> ToolRun {
        try Tools.run(
            "mminf-gen",
            ["--base-url", d.baseURL, "--prompt", "Ask about {topic}.", "--out", "q", "--progress", "0"] + extra,
            input: records(n))
    }

    func arrivals(_ d: ChatDouble) throws -> [Double] {
        try d.requests().compactMap { $0.dict["t"] as? Double }.sorted()
    }

    func testRequestsPerSecond() throws {
        let d = try ChatDouble()
        let r = try gen(d, ["--rps", "4"], 12)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 12)
        let t = try arrivals(d)
        XCTAssertEqual(t.count, 12)
        let span = t.last! - t.first!
        // One every 0.25 s, no burst: 12 requests span 2.75 s, 4 start in the first second.
        XCTAssertGreaterThanOrEqual(span, 2.6, "\(t.map { $0 - t[0] })")
        XCTAssertLessThan(span, 4.5, "\(t.map { $0 - t[0] })")
        XCTAssertEqual(t.filter { $0 - t[0] < 0.95 }.count, 4, "\(t.map { $0 - t[0] })")
        for (a, b) in zip(t, t.dropFirst()) {
            XCTAssertGreaterThan(b - a, 0.2, "evenly spaced: \(t.map { $0 - t[0] })")
        }
    }

    func testTokensPerMinute() throws {
        // Each request has a 50-word prompt (the double counts words as tokens) and --max-tokens 40:
        // the double echoes up to 200 characters back: about 80 tokens used each. With --tpm 200, two fit.
        let d = try ChatDouble(faults: #"{"latency_ms": 200}"#)
        let prompt = "Ask about {topic}. " + Array(repeating: "word", count: 47).joined(separator: " ")
        let t = try RunningTool(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", prompt, "--out", "q", "--progress", "0",
                "--tpm", "200", "--max-tokens", "40", "--concurrency", "8",
            ])
        t.feed(records(12))
        t.closeInput()
        usleep(3_000_000)
        let sent = try arrivals(d).count
        XCTAssertGreaterThanOrEqual(sent, 2, "the limit lets some through")
        XCTAssertLessThanOrEqual(sent, 4, "and holds the rest for the minute: \(sent) sent in 3 s")
        t.signal(SIGTERM)
        XCTAssertEqual(t.wait(seconds: 10), 143, t.stderr)
        // Without the limit all twelve go at once.
        let free = try ChatDouble(faults: #"{"latency_ms": 200}"#)
        XCTAssertEqual(try gen(free, ["--max-tokens", "40"], 12).status, 0)
        XCTAssertEqual(try arrivals(free).count, 12)
    }

    func testWindowBoundsWhatIsReadPastASlowRecord() throws {
        // The first request to arrive hangs until its 1.5 s timeout, then its retry succeeds.
        // That is record k of 0-3 (four go out at once, in any order); records before it are
        // written, so with a window of 4 only records 0 to k+3 may be out meanwhile.
        let d = try ChatDouble(faults: #"{"preset": ["hang"]}"#)
        let r = try gen(d, ["--window", "4", "--timeout", "1.5", "--retries", "2"], 20)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(
            r.lines.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? Int },
            Array(0..<20), "input order")
        let t = try arrivals(d)
        let hung = try XCTUnwrap(d.requests().first { $0.dict["action"] as? String == "hang" })
        let text = try XCTUnwrap((hung.body["messages"] as? [[String: Any]])?.last?["content"] as? String)
        let k = try XCTUnwrap((0..<4).first { text == "Ask about topic \($0)." }, text)
        XCTAssertEqual(t.filter { $0 - t[0] < 1.0 }.count, k + 4, "record \(k) hung: \(t.map { $0 - t[0] })")
        // Without the window, all 20 go out at once.
        let d2 = try ChatDouble(faults: #"{"preset": ["hang"]}"#)
        XCTAssertEqual(try gen(d2, ["--timeout", "1.5", "--retries", "2"], 20).status, 0)
        let t2 = try arrivals(d2)
        XCTAssertEqual(t2.filter { $0 - t2[0] < 1.0 }.count, 20, "\(t2.map { $0 - t2[0] })")
    }
}
