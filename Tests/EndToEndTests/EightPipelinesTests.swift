import Foundation
import TestSupport
import XCTest

/// The eight reference pipelines, composed as pipes, on inputs shaped as the
/// reference's datasets are (no ids, a .json array, `image` beside `images`),
/// against a scripted double that answers each step in the form it expects.
final class EightPipelinesTests: DoubleTestCase {
    static let png = Data(
        base64Encoded:
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!

    /// What the scripted model answers, by a phrase of each preset or rubric.
    static let script: [[String]] = [
        [#"^\s*$"#, " What colour is the bicycle?"],  // the hook: an empty, open user turn
        ["Decide whether it contains a request", "Instruction: What colour is the bicycle?"],
        ["double square brackets", "The instruction is clear. [[5]]"],
        ["请评估下面的回答", "回答切题，准确。【8分】"],
        ["Compare a candidate answer", "Yes"],
        ["Decide whether everything the statement claims", "Correct"],
        ["Here is a detailed caption", "1. What is red?\n2. Where is it?\n3. Who rides it?"],
        ["Split the image caption below", "The bicycle is red.\nIt stands by a bakery."],
        ["What you see is described here", "<think>The description mentions a red bicycle.</think>\nIt is red."],
        ["only read a description", "<think>The image shows a red bicycle.</think>\nIt is red."],
        ["Write a structured description", "Overview: a street.\nObjects: a red bicycle."],
        ["Below is a detailed description", "Describe the street scene in detail."],
        ["审阅下面这条用户指令", "指令可以更具体。"],
        ["下面是一条关于图片的用户指令", "请描述图中自行车的颜色和位置。"],
        ["Describe this image in detail", "A red bicycle leans against a bakery."],
    ]

    override func setUpWithError() throws {
        try super.setUpWithError()
        double = try ChatDouble(script: EightPipelinesTests.script)
        for name in ["a.png", "b.png"] { try EightPipelinesTests.png.write(to: dir.appendingPathComponent(name)) }
        // A .json array without ids; one record names its image twice.
        try write(
            "images.json",
            #"[{"image": "a.png"}, {"image": "b.png", "images": ["b.png"]}]"#)
        try write(
            "qa.json",
            #"[{"image": "a.png", "instruction": "What colour is the bicycle?", "response": "Red."}]"#)
    }

    func pipe(_ script: String) throws -> [[String: Any]] {
        let r = try Tools.shell(script, in: dir, baseURL: double.baseURL)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.records
    }

    func keys(_ records: [[String: Any]]) -> [Set<String>] { records.map { Set($0.keys) } }

    func testOasis() throws {
        let out = try pipe(
            """
            mminf-filter -q --number id images.json \\
            | mminf-gen -q --truncate --progress 0 \\
            | mminf-gen -q --preset extract-instruction --progress 0 \\
            | mminf-filter -q --extract extracted --regex '^Instruction:\\s*([\\s\\S]+?)\\s*$' --into instruction \\
            | mminf-score -q --rubric solvability --rubric hallucination --rubric clarity --progress 0 \\
            | mminf-score -q --rubric nonsense --progress 0 \\
            | mminf-filter -q 'scores.solvability >= 3 && scores.hallucination == 5 && scores.clarity >= 3
                            && scores.nonsense == 5 && scores.solvability + scores.clarity >= 7' \\
            | mminf-gen -q --respond --progress 0 \\
            | mminf-filter -q --set data_source=oasis --format sharegpt
            """)
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(keys(out)[0], ["image", "conversations", "id", "data_source"])
        XCTAssertEqual(out[0]["id"] as? String, "000000000000")
        let turns = try XCTUnwrap(out[0]["conversations"] as? [[String: Any]])
        XCTAssertEqual(turns.first?["value"] as? String, "What colour is the bicycle?")
        // The record with image and images sent its picture once.
        let respond = try double.requests().filter {
            (($0.body["messages"] as? [[String: Any]])?.last?["content"] as? [[String: Any]])?.last?["text"] as? String
                == "What colour is the bicycle?"
        }
        XCTAssertFalse(respond.isEmpty, "the respond step's requests are found by their instruction")
        for r in respond {
            let parts = ((r.body["messages"] as? [[String: Any]])?.last?["content"] as? [[String: Any]]) ?? []
            XCTAssertEqual(parts.filter { $0["type"] as? String == "image_url" }.count, 1)
        }
    }

    func testCaptionGen() throws {
        let out = try pipe(
            """
            mminf-gen -q --preset caption --progress 0 < images.json \\
            | mminf-filter -q --set 'query=<image>\\nDescribe the image in detail.' --keep image,caption,query
            """)
        XCTAssertEqual(keys(out), [["image", "caption", "query"], ["image", "caption", "query"]])
    }

    func testCaptionConversation() throws {
        let out = try pipe(
            """
            mminf-gen -q --preset caption --progress 0 < images.json \\
            | mminf-gen -q --preset five-questions --progress 0 \\
            | mminf-split -q --field questions --into instruction --by raw-lines --max-parts 7 \\
            | mminf-gen -q --respond --progress 0
            """)
        XCTAssertEqual(out.count, 6, "three questions for each of two images")
        for r in out {
            XCTAssertNotNil(r["instruction"])
            XCTAssertNotNil(r["response"])
        }
    }

    func testCaptionHallucination() throws {
        let out = try pipe(
            """
            mminf-filter -q --number id images.json \\
            | mminf-gen -q --preset caption --progress 0 \\
            | mminf-gen -q --preset paragraphs --progress 0 \\
            | mminf-split -q --field paragraphs --into paragraph \\
            | mminf-score -q --rubric correct --bind text=paragraph --progress 0 \\
            | mminf-split -q --join id --collect scores.correct \\
            | mminf-filter -q 'all(scores.correct)'
            """)
        XCTAssertEqual(out.count, 2, "each caption kept: every paragraph Correct")
        XCTAssertEqual((out[0]["scores"] as? [String: Any])?["correct"] as? [Bool], [true, true])
        XCTAssertNotNil(out[0]["caption"])
    }

    func testDetailedInst() throws {
        let out = try pipe(
            "mminf-gen -q --preset broad-instruction --bind description=response --out instruction --progress 0 < qa.json"
        )
        XCTAssertEqual(out.first?["instruction"] as? String, "Describe the street scene in detail.")
    }

    func testVLThinking() throws {
        let out = try pipe(
            """
            mminf-gen -q --preset structured-caption --progress 0 < qa.json \\
            | mminf-gen -q --preset answer-from-caption --progress 0 \\
            | mminf-filter -q 'contains(cot, "</think>")' \\
            | mminf-gen -q --preset rewrite-caption-mentions --bind text=cot --progress 0 \\
            | mminf-filter -q --extract cot_response --regex '</think>\\s*([\\s\\S]+)' --into answer \\
            | mminf-score -q --rubric verify --bind gold=response --bind answer=answer --progress 0 \\
            | mminf-filter -q 'scores.verify' --keep image,instruction,cot_response
            """)
        XCTAssertEqual(keys(out), [["image", "instruction", "cot_response"]])
    }

    func testMatchScoreZh() throws {
        let out = try pipe("mminf-score -q --rubric match-zh --progress 0 < qa.json")
        XCTAssertEqual((out.first?["scores"] as? [String: Any])?["match-zh"] as? Double, 8)
    }

    func testPromptEvolveZh() throws {
        let out = try pipe(
            """
            mminf-score -q --rubric match-zh --as match --progress 0 < qa.json \\
            | mminf-gen -q --preset improve-instruction-zh --progress 0 \\
            | mminf-gen -q --preset rewrite-instruction-zh --progress 0 \\
            | mminf-gen -q --respond --bind instruction=new_instruction --out new_response --progress 0 \\
            | mminf-score -q --rubric match-zh --bind instruction=new_instruction --bind response=new_response \\
                --as match_after --progress 0
            """)
        let scores = try XCTUnwrap(out.first?["scores"] as? [String: Any])
        XCTAssertEqual(scores["match"] as? Double, 8)
        XCTAssertEqual(scores["match_after"] as? Double, 8)
        XCTAssertEqual(out.first?["new_instruction"] as? String, "请描述图中自行车的颜色和位置。")
    }
}
