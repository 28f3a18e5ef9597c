import Foundation
import TestSupport
import XCTest

/// mminf-gen's request loop against the test double: request shape, retries,
/// failures, ordering, the cache across kill -9, signals, secrets.
final class GenEngineTests: ToolTestCase {
    func records(_ n: Int) -> String {
        (0..<n).map { #"{"id":\#($0),"topic":"topic \#($0)"}"# }.joined(separator: "\n") + "\n"
    }

    /// "N requests, M cached" from a summary line.
    func requestCounts(_ stderr: String) -> (Int, Int)? {
        let re = try! NSRegularExpression(pattern: #"(\d+) requests, (\d+) cached"#)
        guard let m = re.firstMatch(in: stderr, range: NSRange(stderr.startIndex..., in: stderr)),
            let a = Range(m.range(at: 1), in: stderr), let b = Range(m.range(at: 2), in: stderr)
        else { return nil }
        return (Int(stderr[a])!, Int(stderr[b])!)
    }

    func gen(_ double: ChatDouble, _ extra: [String], input: String, env: [String: String] = [:]) throws -> ToolRun {
        try Tools.run(
            "mminf-gen",
            [
                "--base-url", double.baseURL, "--prompt", "Ask about {topic}.", "--out", "q",
                "--progress", "0", "--failures", path("failed.jsonl"),
            ] + extra, input: input, env: env)
    }

    func testRequestShapeAndHistory() throws {
        let d = try ChatDouble()
        let r = try gen(
            d,
            [
                "--system", "Be brief about {topic}.", "--temperature", "0.7", "--top-k", "20", "--max-tokens", "64",
                "--stop", "###", "--seed", "5", "--extra", #"{"chat_template_kwargs":{"x":1}}"#,
            ], input: records(1))
        XCTAssertEqual(r.status, 0, r.stderr)
        let reqs = try d.requests()
        XCTAssertEqual(reqs.count, 1)
        let body = reqs[0].body
        XCTAssertEqual(body["model"] as? String, "double-model", "the server's only model")
        let messages = body["messages"] as? [[String: Any]]
        XCTAssertEqual(messages?.count, 2)
        XCTAssertEqual(messages?[0]["role"] as? String, "system")
        XCTAssertEqual(messages?[0]["content"] as? String, "Be brief about topic 0.")
        XCTAssertEqual(messages?[1]["content"] as? String, "Ask about topic 0.")
        XCTAssertEqual(body["temperature"] as? Double, 0.7)
        XCTAssertEqual(body["top_k"] as? Int, 20)
        XCTAssertEqual(body["max_tokens"] as? Int, 64)
        XCTAssertEqual(body["stop"] as? [String], ["###"])
        XCTAssertEqual(body["seed"] as? Int, 5)
        XCTAssertNotNil(body["chat_template_kwargs"])
        let out = try JSONSerialization.jsonObject(with: Data(r.lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(out["q"] as? String, "echo: Ask about topic 0.")
        let h = (out["history"] as? [String: Any])?["q"] as? [String: Any]
        XCTAssertEqual(h?["prompt"] as? String, "Ask about topic 0.")
        XCTAssertEqual(h?["system"] as? String, "Be brief about topic 0.")
        XCTAssertEqual(h?["finish_reason"] as? String, "stop")
        XCTAssertEqual(h?["attempts"] as? Int, 1)
        XCTAssertNotNil((h?["usage"] as? [String: Any])?["completion_tokens"])
        XCTAssertTrue(
            r.lines[0].hasPrefix(#"{"id":0,"topic":"topic 0","q":"echo: Ask about topic 0.","history":"#),
            "user fields first, untouched")
    }

    func testSamplesAndBinds() throws {
        let d = try ChatDouble()
        let r = try gen(d, ["-n", "3", "--seed", "10", "--bind", "topic=id", "--no-history"], input: records(2))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 6)
        XCTAssertEqual(r.lines[0], #"{"id":0,"topic":"topic 0","q":"echo: Ask about 0.","sample":0}"#)
        XCTAssertEqual(r.lines[5], #"{"id":1,"topic":"topic 1","q":"echo: Ask about 1.","sample":2}"#)
        let seeds = try d.requests().compactMap { $0.body["seed"] as? Int }.sorted()
        XCTAssertEqual(seeds, [10, 10, 11, 11, 12, 12], "sample i uses seed + i")
    }

    func testRetriesUnderFaultsKeepEveryRecordInOrder() throws {
        let d = try ChatDouble(
            faults: #"{"p500":0.10,"p429":0.05,"p_reset":0.02,"retry_after":1,"seed":3,"latency_ms":5}"#)
        let r = try gen(
            d, ["--retries", "5", "--concurrency", "16", "--no-history", "--stats", path("stats.json")],
            input: records(200))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 200)
        for (i, l) in r.lines.enumerated() {
            XCTAssertEqual(l, #"{"id":\#(i),"topic":"topic \#(i)","q":"echo: Ask about topic \#(i)."}"#)
        }
        let actions = try d.requests().map(\.action)
        XCTAssertGreaterThan(actions.filter { $0 == "500" }.count, 5, "faults really happened: \(Set(actions))")
        XCTAssertGreaterThan(actions.filter { $0 == "429" }.count, 2)
        XCTAssertGreaterThan(actions.filter { $0 == "reset" }.count, 0)
        let stats = try JSONSerialization.jsonObject(with: Data(try read("stats.json").utf8)) as! [String: Any]
        XCTAssertEqual(stats["out"] as? Int, 200)
        XCTAssertEqual(stats["failed"] as? Int, 0)
        // libcurl itself resends once when a reused keep-alive connection turns out dead, so the
        // double can see a few more requests than mminf counted retries.
        let retries = try XCTUnwrap(stats["retries"] as? Int)
        XCTAssertGreaterThanOrEqual(retries, actions.filter { $0 == "500" || $0 == "429" }.count)
        XCTAssertLessThanOrEqual(retries, actions.count - 200)
    }

    func testClientErrorsFailTheRecordAtOnceWithTheServersMessage() throws {
        let d = try ChatDouble(faults: #"{"preset":["ok","400","422","ok"]}"#)
        let r = try gen(d, ["--concurrency", "1", "--no-history"], input: records(4))
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.lines.map { String($0.prefix(8)) }, [#"{"id":0,"#, #"{"id":3,"#])
        XCTAssertTrue(r.stderr.contains("4 in, 2 out, 0 dropped, 2 failed"), r.stderr)
        XCTAssertTrue(r.stderr.contains("2 records failed; they are in \(path("failed.jsonl"))"), r.stderr)
        let failed = try read("failed.jsonl").split(separator: "\n").map(String.init)
        XCTAssertEqual(failed.count, 2)
        XCTAssertTrue(
            failed[0].hasPrefix(
                #"{"reason":"q: HTTP 400: This model's maximum context length is 4096 tokens","status":400,"attempts":1,"step":"q","#
            ), failed[0])
        XCTAssertTrue(failed[0].hasSuffix(#""line":2,"record":{"id":1,"topic":"topic 1"}}"#), failed[0])
        XCTAssertTrue(failed[1].contains(#""status":422,"attempts":1"#), failed[1])
        XCTAssertEqual(try d.requests().count, 4, "no retry of a 400 or 422")
    }

    func testMaxFailuresEndsWithStatusZeroWithinTheBudgetOnly() throws {
        // Two of four records fail for good (400, 422): 50% of those read.
        for (budget, status) in [("2", 0), ("50%", 0), ("1", 1), ("49.9%", 1), ("0", 1)] {
            let d = try ChatDouble(faults: #"{"preset":["ok","400","422","ok"]}"#)
            let r = try gen(d, ["--concurrency", "1", "--no-history", "--max-failures", budget], input: records(4))
            XCTAssertEqual(r.status, Int32(status), "--max-failures \(budget): \(r.stderr)")
            XCTAssertEqual(r.lines.count, 2, "the output is complete either way")
            XCTAssertEqual(try read("failed.jsonl").split(separator: "\n").count, 2)
            if status == 0 {
                XCTAssertTrue(r.stderr.contains("(within --max-failures \(budget))"), r.stderr)
            } else if budget != "0" {
                XCTAssertTrue(r.stderr.contains("more than --max-failures \(budget) of 4"), r.stderr)
            }
        }
        for bad in ["-1", "101%", "x", "1.5"] {
            let r = try Tools.run("mminf-gen", ["--max-failures=" + bad, "--base-url", "http://127.0.0.1:9/v1"])
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("--max-failures \(bad):"), r.stderr)
        }
    }

    func testTimeoutsMalformedAndTrickleAreRetried() throws {
        let d = try ChatDouble(faults: #"{"preset":["hang","malformed","trickle","ok"]}"#)
        let r = try gen(d, ["--concurrency", "1", "--timeout", "1.5", "--no-history"], input: records(2))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 2)
        XCTAssertTrue(r.stderr.contains("3 retries"), "hang and trickle time out, malformed is retried: \(r.stderr)")

        let stuck = try ChatDouble(faults: #"{"preset":{"sequence":["503"],"cycle":true}}"#)
        let g = try gen(stuck, ["--retries", "2", "--no-history"], input: records(1))
        XCTAssertEqual(g.status, 1)
        XCTAssertTrue(try read("failed.jsonl").contains(#"gave up after 3 attempts: HTTP 503"#))
    }

    func testUnusableAnswersAreNotCachedAndBadLinesStopAfterTheWorkBefore() throws {
        let d = try ChatDouble(faults: #"{"preset":["empty","error200"]}"#)
        let args = ["--concurrency", "1", "--no-history", "--cache", path("c.sqlite")]
        let first = try gen(d, args, input: records(2))
        XCTAssertEqual(first.status, 1)
        let failed = try read("failed.jsonl")
        XCTAssertTrue(failed.contains("the server's answer has no choices[0]"), failed)
        XCTAssertTrue(failed.contains("HTTP 200 carrying an error: upstream model overloaded"), failed)
        let second = try gen(d, args, input: records(2))
        XCTAssertEqual(second.status, 0, "nothing unusable was cached: asked again, answered now")
        XCTAssertTrue(second.stderr.contains("2 requests, 0 cached"), second.stderr)

        let bad = try gen(d, ["--no-history"], input: records(2) + "not json\n" + records(1))
        XCTAssertEqual(bad.status, 65)
        XCTAssertEqual(bad.lines.count, 2, "the records before the bad line are finished and written")
        XCTAssertTrue(bad.stderr.contains("<stdin>:3:1: not a JSON object"), bad.stderr)
    }

    func testSlowPipeDoesNotHoldBackAnswersOrSignals() throws {
        let d = try ChatDouble()
        let p = Process()
        p.executableURL = Tools.binDir.appendingPathComponent("mminf-gen")
        p.arguments = [
            "--base-url", d.baseURL, "--prompt", "x {topic}", "--out", "q", "--progress", "0", "--no-history", "-o",
            path("out.jsonl"),
        ]
        let stdin = Pipe()
        p.standardInput = stdin
        p.standardError = FileHandle.nullDevice
        try p.run()
        // One record, and the pipe stays open, as when the tool upstream is slow.
        try stdin.fileHandleForWriting.write(contentsOf: Data(#"{"topic":"a"}"#.utf8 + [0x0A]))
        usleep(1_500_000)
        XCTAssertEqual(
            try read("out.jsonl.partial"), #"{"topic":"a","q":"echo: x a"}"# + "\n",
            "the answer went downstream while the pipe stayed open (under the staging name until the end)")
        let interrupted = Date()
        p.interrupt()
        p.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(interrupted), 3, "SIGINT ends the tool while it waits for input")
        XCTAssertEqual(p.terminationStatus, 130)
        try? stdin.fileHandleForWriting.close()
    }

    func testRetryAfterIsHonoured() throws {
        let d = try ChatDouble(faults: #"{"preset":["429","ok"],"retry_after":2}"#)
        let started = Date()
        let r = try gen(d, ["--no-history"], input: records(1))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 2.0)
        let times = try d.requests().compactMap { $0.dict["t"] as? Double }
        XCTAssertGreaterThanOrEqual(times[1] - times[0], 1.95)
    }

    /// Connections back in libcurl's pool stay registered with epoll between requests.
    /// A server closing them while idle must neither spin the loop while another
    /// request is in flight nor leave a new connection unwatched.
    func testServerClosingIdleConnectionsNeitherSpinsNorStalls() throws {
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        func childCPU() -> Double {
            var u = rusage()
            getrusage(RUSAGE_CHILDREN.rawValue, &u)
            return seconds(u.ru_utime) + seconds(u.ru_stime)
        }
        // The first request hangs for 2 s (then is sent again); meanwhile the other
        // connection answers the rest and is closed by the server while idle.
        let hang = try ChatDouble(faults: #"{"preset":["hang"],"idle_close_ms":30}"#)
        var cpu = childCPU()
        var started = Date()
        var r = try gen(hang, ["--concurrency", "2", "--timeout", "2", "--no-history"], input: records(6))
        var wall = Date().timeIntervalSince(started)
        cpu = childCPU() - cpu
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 6)
        XCTAssertEqual(try hang.requests().count, 7, "the hung request, sent once more")
        XCTAssertLessThan(cpu, wall / 2, "mminf-gen used \(cpu) CPU-s in \(wall) s: a closed socket kept waking it")

        // Paced requests: every connection is closed between two of them, so each
        // request opens a new one, often under the number of the one just closed.
        let paced = try ChatDouble(faults: #"{"idle_close_ms":30}"#)
        started = Date()
        r = try gen(
            paced, ["--rps", "12", "--concurrency", "2", "--timeout", "20", "--no-history"], input: records(24))
        wall = Date().timeIntervalSince(started)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 24)
        XCTAssertEqual(try paced.requests().count, 24, "no request timed out and was sent again")
        XCTAssertLessThan(wall, 10, "a connection waited for its timeout")
        let ports = Set(try paced.requests().compactMap { $0.dict["client_port"] as? Int })
        XCTAssertGreaterThan(ports.count, 2, "the double closed no connection")
    }

    func testUnorderedWritesAsAnswersArrive() throws {
        let d = try ChatDouble(faults: #"{"preset":["hang"]}"#)
        let r = try gen(d, ["--unordered", "--timeout", "2", "--no-history"], input: records(5))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 5)
        let hung = try d.requests().first { $0.action == "hang" }
        let prompt = ((hung?.body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? "?"
        XCTAssertTrue(r.lines.last?.contains(prompt) == true, "the record whose request hung comes last: \(prompt)")
    }

    func testCacheReplaysAndSurvivesKill9() throws {
        let input = try write("in.jsonl", records(120))
        let args = ["--prompt", "Ask about {topic}.", "--no-history", "--progress", "0", "--concurrency", "4", input]
        // Reference: one uninterrupted run (about 3 s: 120 requests of 100 ms, 4 at a time).
        let ref = try ChatDouble(faults: #"{"latency_ms":100}"#)
        let clean = try Tools.run("mminf-gen", ["--base-url", ref.baseURL, "--cache", path("ref.sqlite")] + args)
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertEqual(clean.lines.count, 120)

        // Three runs killed with SIGKILL at random moments, each resuming from the cache the last one left.
        let d = try ChatDouble(faults: #"{"latency_ms":100}"#)
        let cache = path("run.sqlite")
        for _ in 0..<3 {
            let p = Process()
            p.executableURL = Tools.binDir.appendingPathComponent("mminf-gen")
            p.arguments = ["--base-url", d.baseURL, "--cache", cache, "-o", path("partial.jsonl")] + args
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(useconds_t(Double.random(in: 0.3...0.9) * 1_000_000))
            XCTAssertTrue(p.isRunning, "killed mid-run")
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        let resumed = try Tools.run("mminf-gen", ["--base-url", d.baseURL, "--cache", cache] + args)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(
            resumed.stdout, clean.stdout, "byte-identical to the uninterrupted run: nothing lost, nothing duplicated")
        let (sent, cached) = try XCTUnwrap(requestCounts(resumed.stderr))
        XCTAssertEqual(sent + cached, 120)
        XCTAssertGreaterThan(cached, 10, "the killed runs' answers were replayed")
        XCTAssertGreaterThan(sent, 0, "and the rest was asked for")

        // Once complete, a rerun replays everything and sends nothing.
        let again = try Tools.run("mminf-gen", ["--base-url", d.baseURL, "--cache", cache] + args)
        XCTAssertEqual(again.stdout, clean.stdout)
        XCTAssertTrue(again.stderr.contains("0 requests, 120 cached"), again.stderr)
    }

    func testAPIKeyOnlyFromEnvironmentAndNeverWritten() throws {
        let d = try ChatDouble()
        let secret = "sk-test-\(UUID().uuidString)"
        let r = try gen(
            d, ["--cache", path("c.sqlite"), "--stats", path("s.json")], input: records(2),
            env: ["MMINF_API_KEY": secret])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try d.requests().first?.headers["authorization"] as? String, "present")
        XCTAssertFalse(r.out.contains(secret))
        XCTAssertFalse(r.stderr.contains(secret))
        for f in ["c.sqlite", "c.sqlite-wal", "s.json"] {
            if let data = FileManager.default.contents(atPath: path(f)) {
                XCTAssertNil(data.range(of: Data(secret.utf8)), "\(f) holds the key")
            }
        }
        let named = try gen(d, ["--api-key-env", "MY_KEY"], input: records(1))
        XCTAssertEqual(named.status, 64)
        XCTAssertTrue(named.stderr.contains("--api-key-env MY_KEY: that environment variable is not set"), named.stderr)
    }

    func testSignalsAndClosedStdout() throws {
        let d = try ChatDouble(faults: #"{"latency_ms":300}"#)
        let input = try write("in.jsonl", records(200))
        let p = Process()
        p.executableURL = Tools.binDir.appendingPathComponent("mminf-gen")
        p.arguments = [
            "--base-url", d.baseURL, "--prompt", "Ask about {topic}.", "--no-history", "--progress", "0",
            "--concurrency", "4", "--cache", path("c.sqlite"), input, "-o", path("out.jsonl"),
        ]
        let err = Pipe()
        p.standardError = err
        try p.run()
        usleep(1_000_000)
        p.terminate()  // SIGTERM
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 143)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stderr.contains("interrupted by SIGTERM"), stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.jsonl")), "kept under out.jsonl.partial")
        let written = try read("out.jsonl.partial").split(separator: "\n")
        XCTAssertGreaterThan(written.count, 0)
        for (i, l) in written.enumerated() { XCTAssertTrue(l.hasPrefix(#"{"id":\#(i),"#), "in order, no gaps") }

        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/bash")
        sh.arguments = [
            "-c",
            "set -o pipefail; '\(Tools.binDir.path)/mminf-gen' --base-url \(d.baseURL) --prompt 'x {topic}' -q --progress 0 --unordered '\(input)' 2>\(path("err.txt")) | head -1 >/dev/null",
        ]
        try sh.run()
        sh.waitUntilExit()
        let errText = try read("err.txt")
        XCTAssertEqual(sh.terminationStatus, 0, errText)
    }

    func testServersSpreadAndDeadOneIsRested() throws {
        let a = try ChatDouble(faults: #"{"latency_ms":30}"#)
        let b = try ChatDouble(faults: #"{"latency_ms":30}"#)
        let r = try Tools.run(
            "mminf-gen",
            [
                "--base-url", a.baseURL, "--base-url", b.baseURL, "--base-url", "http://127.0.0.1:9/v1",
                "--model", "double-model", "--prompt", "x {topic}", "--no-history", "--progress", "0",
                "--concurrency", "8", "--stats", path("s.json"),
            ], input: records(60))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 60)
        // Refused connections come back at once, so without resting the dead server would
        // always have the fewest in flight and draw request after request.
        let stats = try JSONSerialization.jsonObject(with: Data(try read("s.json").utf8)) as! [String: Any]
        XCTAssertLessThanOrEqual(stats["retries"] as? Int ?? 99, 2 * 3, "the dead server was rested after 3 failures")
        let na = try a.requests().count
        let nb = try b.requests().count
        XCTAssertEqual(na + nb, 60)
        XCTAssertGreaterThan(min(na, nb), 15, "spread over both: \(na) / \(nb)")
    }

    func testCheckAndMissingServer() throws {
        let d = try ChatDouble()
        let ok = try Tools.run("mminf-gen", ["--check", "--base-url", d.baseURL, "--model", "double-model"])
        XCTAssertEqual(ok.status, 0)
        XCTAssertEqual(ok.out, "\(d.baseURL): reachable, 1 model: double-model; double-model is served\n")
        let none = try Tools.run("mminf-gen", ["--prompt", "x"], input: "{}\n")
        XCTAssertEqual(none.status, 64)
        XCTAssertTrue(none.stderr.contains("no server: give --base-url URL or set MMINF_BASE_URL"), none.stderr)
        let dead = try Tools.run("mminf-gen", ["--prompt", "x", "--base-url", "http://127.0.0.1:9/v1"], input: "{}\n")
        XCTAssertEqual(dead.status, 69)
        XCTAssertTrue(dead.stderr.contains("cannot reach the server"), dead.stderr)
    }
}
