import Foundation
import TestSupport
import XCTest

final class ScoreToolTests: ToolTestCase {
    func rubricText(_ name: String) throws -> String {
        let text = try String(
            contentsOf: packageRoot.appendingPathComponent("prompts/rubrics/\(name).txt"), encoding: .utf8)
        var body = String(text[text.range(of: "---\n")!.upperBound...])
        while body.hasSuffix("\n") { body.removeLast() }
        return body
    }

    func testExactPromptsMediaPerRubricAndConcurrentJudges() throws {
        let d = try ChatDouble(faults: #"{"latency_ms":400}"#)
        try OasisGenTests.png.write(to: dir.appendingPathComponent("p.png"))
        let r = try Tools.run(
            "mminf-score",
            [
                "--base-url", d.baseURL, "--rubric", "solvability", "--rubric", "nonsense", "--rubric", "clarity",
                "--media-root", dir.path, "--progress", "0",
            ],
            input: #"{"id":"x","image":"p.png","instruction":"What is written on the sign?"}"# + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let reqs = try d.requests()
        XCTAssertEqual(reqs.count, 3)
        let times = reqs.compactMap { $0.dict["t"] as? Double }
        XCTAssertLessThan(times.max()! - times.min()!, 0.3, "the rubrics of one record go out together")
        func content(_ r: JSONObjectLike) -> Any? { (r.body["messages"] as? [[String: Any]])?.last?["content"] }
        let solv = try rubricText("solvability").replacingOccurrences(
            of: "{instruction}", with: "What is written on the sign?")
        let nons = try rubricText("nonsense").replacingOccurrences(
            of: "{instruction}", with: "What is written on the sign?")
        let byText = Dictionary(
            uniqueKeysWithValues: reqs.map { r -> (String, JSONObjectLike) in
                if let s = content(r) as? String { return (s, r) }
                let parts = content(r) as? [[String: Any]] ?? []
                return ((parts.last?["text"] as? String) ?? "", r)
            })
        XCTAssertNotNil(byText[nons], "nonsense is text only, sent as a plain string")
        let s = try XCTUnwrap(byText[solv], "solvability's exact prompt")
        let parts = try XCTUnwrap(content(s) as? [[String: Any]])
        XCTAssertEqual(parts.first?["type"] as? String, "image_url", "solvability sees the image")
        XCTAssertEqual(s.body["temperature"] as? Double, 0, "judges are greedy by default")
        // The double echoes the prompt's first 200 characters: prose with no score in it, so null, not a guess.
        let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.lines[0].utf8)) as? [String: Any])
        let scores = try XCTUnwrap(out["scores"] as? [String: Any])
        for name in ["solvability", "nonsense", "clarity"] {
            XCTAssertTrue(scores[name] is NSNull, "\(name): \(String(describing: scores[name]))")
        }
        let h = (out["history"] as? [String: Any])?["score_solvability"] as? [String: Any]
        XCTAssertTrue((h?["response"] as? String)?.hasPrefix("echo: ") == true)
    }

    func testGarbageIsNullRenameAndReparse() throws {
        let d = try ChatDouble()
        let garbage = try write("garbage.txt", "media: no\nscale: 1-5\n---\nno score here for {instruction}\n")
        let marked = try write("marked.txt", "media: no\nscale: 1-10\n---\n[[7]] {instruction}\n")
        let r = try Tools.run(
            "mminf-score", ["--base-url", d.baseURL, "--rubric", garbage, "--progress", "0"],
            input: #"{"instruction":"q"}"# + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.lines[0].contains(#""scores":{"garbage":null}"#), r.lines[0])
        XCTAssertTrue(
            r.lines[0].contains(#""response":"echo: no score here for q""#), "the raw judgement stays in history")

        let renamed = try Tools.run(
            "mminf-score",
            [
                "--base-url", d.baseURL, "--rubric", marked, "--as", "match_after", "--progress", "0",
                "--bind", "instruction=new",
            ], input: #"{"new":"Q2","scores":{"match":3}}"# + "\n")
        XCTAssertTrue(renamed.lines[0].contains(#""scores":{"match":3,"match_after":7}"#), renamed.lines[0])

        // A parser change after the fact: --reparse reads history again with no model.
        let edited = renamed.out.replacingOccurrences(of: "echo: [[7]] Q2", with: "echo: [[9]] Q2")
        let again = try Tools.run(
            "mminf-score", ["--reparse", "--rubric", marked, "--as", "match_after"], input: edited)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.lines[0].contains(#""match_after":9"#), again.lines[0])
        let shown = try Tools.run("mminf-score", ["--show-rubric", "match-zh"])
        XCTAssertTrue(shown.out.contains("【X分】"))
        XCTAssertTrue(try Tools.run("mminf-score", ["--list-rubrics"]).out.contains("verify"))
    }

    func testFailuresAreNamedAfterTheRubricAndReparseFailsOnlyTheRecordWithoutHistory() throws {
        let d = try ChatDouble(faults: #"{"preset":["400"]}"#)
        let rubric = try write("garbage.txt", "media: no\n---\nno score {instruction}\n")
        let r = try Tools.run(
            "mminf-score", ["--base-url", d.baseURL, "--rubric", rubric, "--progress", "0"],
            stdin: Data((#"{"instruction":"a"}"# + "\n").utf8), cwd: dir)
        XCTAssertEqual(r.status, 1)
        let failed = try read("score_garbage.failed.jsonl")
        XCTAssertTrue(failed.hasPrefix(#"{"reason":"score_garbage: HTTP 400"#), failed)

        let scored = #"{"id":1,"history":{"score_garbage":{"response":"[[4]]"}}}"#
        let input =
            [scored, #"{"id":2}"#, scored.replacingOccurrences(of: #""id":1"#, with: #""id":3"#)].joined(
                separator: "\n") + "\n"
        let again = try Tools.run("mminf-score", ["--reparse", "--rubric", rubric], stdin: Data(input.utf8), cwd: dir)
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.lines.count, 2, "records 1 and 3 re-read; 2 set aside")
        XCTAssertTrue(try read("score_reparse.failed.jsonl").contains(#""line":2,"record":{"id":2}"#))
    }

    func testPromptEscapesAndBindNames() throws {
        let d = try ChatDouble()
        let r = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--prompt", #"Q:\n{topic}"#, "--progress", "0"],
            input: #"{"topic":"cat"}"# + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(
            (try d.requests().first?.body["messages"] as? [[String: Any]])?.last?["content"] as? String, "Q:\ncat")
        let bad = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--prompt", "{meta.title}", "--bind", "meta.title=caption"],
            input: "{}\n")
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("NAME is a placeholder name"), bad.stderr)
    }

    func testPresetDecidesMediaAndOutput() throws {
        let d = try ChatDouble()
        try OasisGenTests.png.write(to: dir.appendingPathComponent("p.png"))
        let r = try Tools.run(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--preset", "extract-instruction", "--progress", "0", "--no-history",
                "--media-root", dir.path,
            ],
            input: #"{"image":"p.png","instruction":"how many cats"}"# + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let content = (try d.requests().first?.body["messages"] as? [[String: Any]])?.last?["content"]
        XCTAssertTrue(
            (content as? String)?.hasSuffix("Text:\nhow many cats") == true,
            "text only, the hook filled in: \(String(describing: content))")
        XCTAssertTrue(r.lines[0].contains(#""extracted":"echo: "#), "the preset's output field")
    }
}

/// Presets and rubrics state their sampling; the command line overrides it.
final class PresetSamplingTests: ToolTestCase {
    func testPresetDefaultsAndWhatOverridesThem() throws {
        let d = try ChatDouble()
        let input = #"{"description":"a red bicycle"}"# + "\n"
        let base = [
            "--base-url", d.baseURL, "--progress", "0", "--no-media", "--preset", "broad-instruction",
            "--bind", "description=description",
        ]
        XCTAssertEqual(try Tools.run("mminf-gen", base, input: input).status, 0)
        XCTAssertEqual(try Tools.run("mminf-gen", base + ["--temperature", "0.7"], input: input).status, 0)
        let bodies = try d.requests().map(\.body)
        XCTAssertEqual(bodies[0]["temperature"] as? Double, 0, "the preset's temperature")
        XCTAssertEqual(bodies[0]["max_tokens"] as? Int, 1024, "the preset's max_tokens")
        XCTAssertEqual(bodies[1]["temperature"] as? Double, 0.7, "a flag wins over the preset")
        XCTAssertEqual(bodies[1]["max_tokens"] as? Int, 1024)
        // A plain --prompt sends nothing it is not told: the server's defaults apply.
        XCTAssertEqual(
            try Tools.run("mminf-gen", ["--base-url", d.baseURL, "--progress", "0", "--prompt", "x"], input: "{}\n")
                .status, 0)
        let plain = try XCTUnwrap(try d.requests().last?.body)
        XCTAssertNil(plain["temperature"])
        XCTAssertNil(plain["max_tokens"])
    }
}
