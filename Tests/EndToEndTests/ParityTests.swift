import Foundation
import TestSupport
import XCTest

/// What the reference's users rely on: reasoning kept, media tags and repeats
/// handled, emoji banned as a class.
final class ParityTests: ToolTestCase {
    func testReasoningIsKeptApartOrJoinedAsThinkTags() throws {
        let d = try ChatDouble(faults: #"{"reasoning": true}"#)
        let base = ["--base-url", d.baseURL, "--prompt", "Solve {q}", "--out", "cot", "--progress", "0"]
        let apart = try Tools.run("mminf-gen", base + ["--reasoning-out", "thinking"], input: #"{"q":"1+1"}"# + "\n")
        XCTAssertEqual(apart.status, 0, apart.stderr)
        let a = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(apart.lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(a["thinking"] as? String, "thinking it over")
        XCTAssertEqual(
            ((a["history"] as? [String: Any])?["cot"] as? [String: Any])?["reasoning"] as? String, "thinking it over")
        let joined = try Tools.run("mminf-gen", base + ["--think-tags"], input: #"{"q":"1+1"}"# + "\n")
        let j = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(joined.lines[0].utf8)) as? [String: Any])
        let cot = try XCTUnwrap(j["cot"] as? String)
        XCTAssertTrue(cot.hasPrefix("<think>\nthinking it over\n</think>"), cot)
        XCTAssertTrue(cot.contains("echo: Solve 1+1"), "the answer follows the thinking: \(cot)")
        // The VLThinking test, contains(cot, "</think>"), now keeps the record.
        let kept = try Tools.run("mminf-filter", [#"contains(cot, "</think>")"#], input: joined.out)
        XCTAssertEqual(kept.lines.count, 1)
    }

    func testImageTagsInTheTextAreNotSentUnlessAsked() throws {
        let d = try ChatDouble()
        let input = #"{"instruction":"<image>\nWhat is shown?"}"# + "\n"
        XCTAssertEqual(
            try Tools.run("mminf-gen", ["--base-url", d.baseURL, "--respond", "--progress", "0"], input: input).status,
            0)
        XCTAssertEqual(
            try Tools.run(
                "mminf-gen", ["--base-url", d.baseURL, "--respond", "--progress", "0", "--keep-media-tags"],
                input: input
            )
            .status, 0)
        let texts = try d.requests().map {
            (($0.body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
        }
        XCTAssertEqual(texts, ["What is shown?", "<image>\nWhat is shown?"])
    }

    func testEmojiAreBannedAsAClass() throws {
        let d = try ChatDouble()
        let r = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--prompt", "x", "--ban-special", "--progress", "0"], input: "{}\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let banned = try XCTUnwrap(try d.requests().first?.body["bad_words"] as? [String])
        XCTAssertGreaterThan(banned.count, 1000, "the whole class, not a short list")
        for e in ["😂", "🦒", "🧋", "🫠", "⌚", "❤️", "🖼️", "☀️", "✔️"] { XCTAssertTrue(banned.contains(e), e) }
        XCTAssertFalse(banned.contains("中") || banned.contains("é") || banned.contains("#"), "text is not emoji")
    }
}

/// JSON array inputs, as datasets ship them: pretty-printed, or arriving slowly.
final class JSONArrayInputTests: ToolTestCase {
    func testAPrettyPrintedArrayBecomesOneLinePerRecord() throws {
        let array = """
            [
              {
                "id": 1,
                "conversations": [{"from": "human", "value": "<image>\\nWhat is [this], {that}?"}]
              },
              {"id": 2, "text": "a \\"quoted\\" ] bracket"}
            ]
            """
        let input = try write("data.json", array)
        let r = try Tools.run("mminf-filter", ["-q", input], input: "")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 2, r.out)
        XCTAssertEqual(r.lines[1], #"{"id":2,"text":"a \"quoted\" ] bracket"}"#)
        // And that output is JSONL for the next tool.
        XCTAssertEqual(try Tools.run("mminf-filter", ["-q", "id >= 1"], input: r.out).lines.count, 2)
    }

    func testStrayCommasAndCutFilesAreErrors() throws {
        for (text, message) in [
            (#"[{"a":1},]"#, "stray ','"), (#"[{"a":1},,{"a":2}]"#, "stray ','"), (#"[{"a":1}"#, "ends early"),
        ] {
            let r = try Tools.run("mminf-filter", ["-q"], input: text)
            XCTAssertEqual(r.status, 65, "\(text): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
        }
    }

    func testAnArrayAfterBlankLinesOnASlowPipe() throws {
        let t = try RunningTool("mminf-filter", ["-q"])
        t.feed("\n\n\n\n\n")
        usleep(300_000)
        t.feed(#"[{"a":1},{"b":2}]"# + "\n")
        t.closeInput()
        XCTAssertEqual(t.wait(seconds: 5), 0, t.stderr)
        let out = String(decoding: t.stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(out, #"{"a":1}"# + "\n" + #"{"b":2}"# + "\n")
    }

    func testFailuresSurviveARunStoppedByABadLine() throws {
        let d = try ChatDouble()
        try write("f.jsonl", #"{"reason":"old","record":{"id":1}}"# + "\n")
        let r = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--prompt", "x", "--progress", "0", "--failures", path("f.jsonl")],
            input: "garbage\n{}\n")
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("f.jsonl")), "not a complete run: the old file stays")
    }
}
