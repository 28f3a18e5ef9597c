import Foundation
import TestSupport
import XCTest

/// mminf-gen against a real llama.cpp server running SmolLM2-135M-Instruct.
final class LlamaServerTests: ToolTestCase {
    var server: LlamaServer!

    override func setUpWithError() throws {
        try super.setUpWithError()
        server = try LlamaServer.shared.get()
    }

    func gen(_ extra: [String], input: String) throws -> ToolRun {
        try Tools.run(
            "mminf-gen", ["--base-url", server.baseURL, "--progress", "0", "--failures", path("failed.jsonl")] + extra,
            input: input)
    }

    let topics = [
        "a lighthouse", "a bowl of soup", "a city bus", "an old map", "a red kite", "a snowy street", "a chess board",
        "a bakery",
        "a river bridge", "a desk lamp", "a market stall", "a sailboat", "a library", "a garden gate",
        "a train platform", "a violin",
    ]

    func input(_ n: Int) -> String {
        topics.prefix(n).enumerated().map { #"{"id":"t\#($0.offset)","topic":"\#($0.element)"}"# }.joined(
            separator: "\n") + "\n"
    }

    func parse(_ line: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func testAnswersArriveWithUsageAtConcurrency8AndTheCacheReplays() throws {
        let args = [
            "--prompt", "Write one short question about {topic}.", "--out", "question", "--max-tokens", "32",
            "--temperature", "0", "--concurrency", "8", "--cache", path("c.sqlite"), "--stats", path("s.json"),
        ]
        let r = try gen(args, input: input(16))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 16)
        for (i, line) in r.lines.enumerated() {
            let o = try parse(line)
            XCTAssertEqual(o["id"] as? String, "t\(i)", "input order")
            XCTAssertFalse((o["question"] as? String ?? "").trimmingCharacters(in: .whitespaces).isEmpty, line)
            let h = try XCTUnwrap((o["history"] as? [String: Any])?["question"] as? [String: Any])
            XCTAssertEqual(h["prompt"] as? String, "Write one short question about \(topics[i]).")
            XCTAssertTrue(["stop", "length"].contains(h["finish_reason"] as? String ?? ""), "\(h)")
            XCTAssertGreaterThan((h["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 0, 0)
        }
        let stats = try parse(try read("s.json"))
        XCTAssertEqual(stats["requests"] as? Int, 16)
        XCTAssertGreaterThan(stats["completion_tokens"] as? Int ?? 0, 16)

        let again = try gen(args, input: input(16))
        XCTAssertEqual(again.stdout, r.stdout, "replayed from the cache, byte for byte")
        XCTAssertTrue(again.stderr.contains("0 requests, 16 cached"), again.stderr)
    }

    func testSamples() throws {
        let r = try gen(
            [
                "--prompt", "Name a colour.", "-n", "3", "--max-tokens", "8", "--temperature", "1.0", "--seed", "1",
                "--no-history",
            ], input: input(2))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 6)
        XCTAssertEqual(try r.lines.map { try parse($0)["sample"] as? Int }, [0, 1, 2, 0, 1, 2])
    }

    func testHookContinuesTheUserTurnThroughTheTemplateRoute() throws {
        let r = try gen(
            ["--truncate", "--prompt", "What is the", "--max-tokens", "40", "--seed", "3"],
            input: #"{"id":"h1"}"# + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try parse(r.lines[0])
        let h = try XCTUnwrap((o["history"] as? [String: Any])?["hook"] as? [String: Any])
        XCTAssertEqual(h["hook_via"] as? String, "template", "llama.cpp is asked through /apply-template + /completion")
        let prompt = try XCTUnwrap(h["prompt"] as? String)
        // The prompt ends inside the user's turn: the seed is the last thing, no end-of-turn after it.
        XCTAssertTrue(prompt.hasSuffix("<|im_start|>user\nWhat is the"), prompt)
        XCTAssertFalse(prompt.contains("<|im_start|>assistant"))
        let instruction = try XCTUnwrap(o["instruction"] as? String)
        XCTAssertTrue(instruction.hasPrefix("What is the"), "the user's message starts with the seed: \(instruction)")
        XCTAssertGreaterThan(instruction.count, "What is the".count, "the model continued the user's text")
        XCTAssertEqual(
            instruction,
            ("What is the" + (h["response"] as? String ?? "")).trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertTrue(["stop", "length"].contains(h["finish_reason"] as? String ?? ""))
        XCTAssertGreaterThan((h["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 0, 0)
    }

    func testBanSpecialKeepsTemplateMarkersOutOfTheHook() throws {
        let r = try gen(
            ["--truncate", "--ban-special", "--prompt", "What is", "--max-tokens", "30", "--seed", "2"], input: "{}\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse((try parse(r.lines[0])["instruction"] as? String ?? "").contains("<|im_start|>"))
    }

    func testHookCacheKeyHoldsTheModel() throws {
        let args = [
            "--truncate", "--prompt", "Why", "--max-tokens", "12", "--cache", path("hook.sqlite"), "--no-history",
        ]
        let a = try gen(args + ["--model", "model-a"], input: "{}\n")
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try gen(args + ["--model", "model-b"], input: "{}\n")
        XCTAssertTrue(b.stderr.contains("1 requests, 0 cached"), "another model is another request: \(b.stderr)")
        let c = try gen(args + ["--model", "model-a"], input: "{}\n")
        XCTAssertTrue(c.stderr.contains("0 requests, 1 cached"), c.stderr)
    }

    func testRealJudgeAnswerParsesOrIsNull() throws {
        let r = try Tools.run(
            "mminf-score",
            ["--base-url", server.baseURL, "--rubric", "nonsense", "--max-tokens", "48", "--progress", "0"],
            input: #"{"instruction":"What colour is the bus?"}"# + "\n" + #"{"instruction":"bus the the ## purple"}"#
                + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        for line in r.lines {
            let o = try parse(line)
            let score = (o["scores"] as? [String: Any])?["nonsense"]
            if let v = score as? Double {
                XCTAssertTrue((1...5).contains(v), "\(v)")
            } else {
                XCTAssertTrue(score is NSNull, "number or null: \(String(describing: score))")
            }
            let raw = ((o["history"] as? [String: Any])?["score_nonsense"] as? [String: Any])?["response"] as? String
            XCTAssertFalse((raw ?? "").isEmpty, "the raw judgement is kept")
        }
    }

    func testContextOverflowFailsTheRecordWithTheServersText() throws {
        let long = String(repeating: "word ", count: 3000)
        let r = try gen(
            ["--prompt", "Summarise: {text}", "--max-tokens", "8"],
            input: #"{"id":"long","text":"\#(long)"}"# + "\n" + #"{"id":"short","text":"hi"}"# + "\n")
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.lines.count, 1)
        let failed = try read("failed.jsonl")
        XCTAssertTrue(failed.contains(#""status":400,"attempts":1"#), failed)
        XCTAssertTrue(failed.contains("context"), "the server's own message: \(failed.prefix(300))")
    }
}
