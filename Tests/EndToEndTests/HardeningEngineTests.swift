import Foundation
import TestSupport
import XCTest

/// Hardening, the request loop: the cache under contention, secrets a server
/// echoes, waits and bodies a server cannot make unbounded, values that would hang.
final class HardeningEngineTests: ToolTestCase {
    func records(_ n: Int) -> String {
        (0..<n).map { #"{"id":\#($0),"topic":"topic \#($0)"}"# }.joined(separator: "\n") + "\n"
    }

    func gen(_ d: ChatDouble, _ extra: [String], input: String, env: [String: String] = [:]) throws -> ToolRun {
        try Tools.run(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", "Ask about {topic}.", "--out", "q", "--progress", "0",
                "--failures", path("failed.jsonl"),
            ] + extra,
            input: input, env: env)
    }

    func shell(_ script: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    func testEightProcessesOpenOneNewCacheAtOnce() throws {
        // No server is contacted: the input is empty; each process opens the cache, proves it writable, ends.
        let args = ["--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--prompt", "x", "--progress", "0", "-q"]
        for round in 0..<50 {
            let cache = path("c\(round).sqlite")
            let tools = try (0..<8).map { _ in try RunningTool("mminf-gen", args + ["--cache", cache]) }
            for t in tools { t.closeInput() }
            for (i, t) in tools.enumerated() {
                XCTAssertEqual(t.wait(seconds: 40), 0, "round \(round), process \(i): \(t.stderr)")
            }
        }
    }

    func testACacheThatCannotBeWrittenIsRefusedBeforeAnyRequest() throws {
        let d = try ChatDouble()
        XCTAssertEqual(try gen(d, ["--cache", path("c.sqlite")], input: records(2)).status, 0)
        let before = try d.requests().count
        // Permission bits do not stop root: make the file immutable instead (as root may).
        let asRoot = getuid() == 0
        if asRoot {
            XCTAssertEqual(try shell("chattr +i '\(path("c.sqlite"))'"), 0, "chattr works on this file system")
        } else {
            chmod(path("c.sqlite"), 0o444)
        }
        defer { _ = try? shell("chattr -i '\(path("c.sqlite"))' 2>/dev/null") }
        let r = try gen(d, ["--cache", path("c.sqlite")], input: records(2))
        XCTAssertEqual(r.status, 74, r.stderr)
        XCTAssertTrue(r.stderr.contains("--cache-read-only"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("error:") }.count, 1, r.stderr)
        XCTAssertEqual(try d.requests().count, before, "no request was paid for")
        // Read-only replay: every answer comes from the cache, nothing is stored.
        let replay = try gen(d, ["--cache", path("c.sqlite"), "--cache-read-only"], input: records(2))
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertTrue(replay.stderr.contains("2 cached"), replay.stderr)
        XCTAssertEqual(try d.requests().count, before)
        let missing = try gen(d, ["--cache", path("none.sqlite"), "--cache-read-only"], input: records(1))
        XCTAssertEqual(missing.status, 74, missing.stderr)
    }

    func testAKeyTheServerEchoesIsNeverWritten() throws {
        let d = try ChatDouble(faults: #"{"preset": {"sequence": ["echo_key"], "cycle": true}}"#)
        let secret = "sk-test-\(UUID().uuidString)"
        let r = try gen(
            d, ["--cache", path("c.sqlite"), "--stats", path("s.json")], input: records(2),
            env: ["MMINF_API_KEY": secret])
        XCTAssertEqual(r.status, 1, r.stderr)
        let failures = try read("failed.jsonl")
        XCTAssertTrue(failures.contains("Invalid API key: Bearer [REDACTED]"), failures)
        XCTAssertFalse(failures.contains(secret))
        XCTAssertFalse(r.stderr.contains(secret))
        XCTAssertFalse(r.out.contains(secret))
    }

    func testRetryAfterIsCapped() throws {
        let d = try ChatDouble(faults: #"{"preset": ["429", "ok"], "retry_after": 86400}"#)
        let started = Date()
        let r = try gen(d, ["--max-retry-wait", "1"], input: records(1))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "waited the cap, not a day")
        XCTAssertEqual(try d.requests().count, 2)
    }

    func testAnEndlessBodyFailsItsRecordWithoutRetrying() throws {
        let d = try ChatDouble(faults: #"{"preset": ["endless"]}"#)
        let r = try gen(d, ["--max-response-bytes", "1048576"], input: records(2))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.lines.count, 1, "the other record is written")
        XCTAssertTrue(try read("failed.jsonl").contains("larger than 1048576 bytes"))
        XCTAssertEqual(try d.requests().count, 2, "not retried")
    }

    func testValuesThatWouldHangAreRefused() throws {
        let d = try ChatDouble()
        for args in [
            ["--window", "0"], ["--rps", "0"], ["--rps", "1e-9"], ["--tpm", "0"], ["--temperature", "nan"],
            ["--timeout", "inf"], ["--max-tokens", "0"], ["--base-url", "file:///etc/passwd"],
        ] {
            let r = try gen(d, args, input: records(1))
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line: \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("mminf-gen: error: "), r.stderr)
        }
        let twice = try Tools.run(
            "mminf-score", ["--base-url", d.baseURL, "--rubric", "clarity", "--rubric", "clarity"], input: "")
        XCTAssertEqual(twice.status, 64, twice.stderr)
        let negative = try gen(d, ["--temperature", "-1"], input: records(1))
        XCTAssertTrue(negative.stderr.contains("--option=-1"), negative.stderr)
        XCTAssertEqual(try d.requests().count, 0)
        let unreadable = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--prompt-file", path("missing.txt")], input: records(1))
        XCTAssertEqual(
            unreadable.stderr,
            "mminf-gen: error: --prompt-file \(path("missing.txt")): cannot read it: No such file or directory\n")
    }
}
