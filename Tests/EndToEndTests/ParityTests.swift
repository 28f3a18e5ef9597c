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
        for e in ["😂", "🦒", "🧋", "🫠", "⌚"] { XCTAssertTrue(banned.contains(e), e) }
        XCTAssertFalse(banned.contains("中") || banned.contains("é") || banned.contains("#"), "text is not emoji")
    }
}
