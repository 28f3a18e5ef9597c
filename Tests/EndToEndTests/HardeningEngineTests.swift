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
        let r = try gen(d, ["--max-retry-wait", "2", "--progress", "0.25"], input: records(1))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "waited the cap, not a day")
        XCTAssertEqual(try d.requests().count, 2)
        // The progress line shows the request that waits, not an idle run.
        XCTAssertTrue(r.stderr.contains("0 in flight, 1 waiting to retry"), r.stderr)
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

/// The request loop, second round: side files checked at start, reparse claims
/// its failures file, signals during a replay, extreme timeouts, a read-only cache.
final class HardeningEngineStartTests: ToolTestCase {
    func records(_ n: Int) -> String {
        (0..<n).map { #"{"id":\#($0),"topic":"topic \#($0)"}"# }.joined(separator: "\n") + "\n"
    }

    func testSideFilesAreCheckedBeforeAnyRequest() throws {
        let d = try ChatDouble()
        try write("blocker", "a file where a folder should be\n")
        for option in ["--stats", "--failures"] {
            let r = try Tools.run(
                "mminf-gen",
                [
                    "--base-url", d.baseURL, "--prompt", "x {topic}", "--progress", "0", option, path("blocker/f.json"),
                    "-o", path("out.jsonl"),
                ], input: records(2))
            XCTAssertEqual(r.status, 73, "\(option): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("cannot create the folder"), r.stderr)
        }
        XCTAssertEqual(try d.requests().count, 0, "nothing paid for")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.jsonl.partial")))
        // A folder that does not exist yet is made.
        let made = try Tools.run(
            "mminf-gen",
            ["--base-url", d.baseURL, "--prompt", "x {topic}", "--progress", "0", "--stats", path("new/dir/s.json")],
            input: records(1))
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("new/dir/s.json")))
    }

    func testReparseClaimsItsFailuresFile() throws {
        let input = try write("s.jsonl", #"{"id":1}"# + "\n")
        let r = try Tools.run(
            "mminf-score", ["--reparse", "--rubric", "clarity", input, "-o", path("out.jsonl"), "--failures", input],
            input: "")
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertEqual(try read("s.jsonl"), #"{"id":1}"# + "\n")
    }

    func testASignalStopsACachedReplay() throws {
        let d = try ChatDouble()
        let input = try write("in.jsonl", records(200))
        let args = ["--base-url", d.baseURL, "--prompt", "x {topic}", "--progress", "0", "--cache", path("c.sqlite")]
        XCTAssertEqual(try Tools.run("mminf-gen", args + [input], input: "").status, 0)
        // The replay of a large input: everything comes from the cache, nothing waits on the network.
        let big = try write("big.jsonl", String(repeating: records(200), count: 500))
        let t = try RunningTool("mminf-gen", args + [big, "-o", path("out.jsonl")])
        usleep(700_000)
        t.signal(SIGINT)
        XCTAssertEqual(t.wait(seconds: 10), 130, t.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.jsonl")), "not published")
    }

    func testExtremeTimeoutsAreRefused() throws {
        for args in [["--timeout", "1e300"], ["--connect-timeout", "1e17"], ["--timeout", "0.00001"]] {
            let r = try Tools.run(
                "mminf-gen", ["--base-url", "http://127.0.0.1:9/v1", "--prompt", "x"] + args, input: "")
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            assertNoCrash(r)
        }
    }

    func testAReadOnlyCacheOnReadOnlyStorage() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to mount a folder read-only") }
        let d = try ChatDouble()
        try FileManager.default.createDirectory(atPath: path("ro"), withIntermediateDirectories: true)
        let gen = Tools.binDir.appendingPathComponent("mminf-gen").path
        let base = "'\(gen)' --base-url \(d.baseURL) --prompt 'x {topic}' --progress 0 --cache '\(path("ro/c.sqlite"))'"
        XCTAssertEqual(
            try Tools.run(
                "mminf-gen",
                [
                    "--base-url", d.baseURL, "--prompt", "x {topic}", "--progress", "0",
                    "--cache", path("ro/c.sqlite"),
                ], input: records(2)
            ).status, 0)
        let script = """
            mount --bind '\(path("ro"))' '\(path("ro"))' && mount -o remount,ro,bind '\(path("ro"))' || exit 77
            printf '%s' '\(records(2))' | \(base) --cache-read-only > '\(path("out.jsonl"))' || exit 1
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["-m", "bash", "-c", script]
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus == 77 { throw XCTSkip("read-only bind mounts are not allowed here") }
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try read("out.jsonl").split(separator: "\n").count, 2)
        XCTAssertEqual(try d.requests().count, 2, "the replay asked nothing")
    }
}
