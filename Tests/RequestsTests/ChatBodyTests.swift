import Engine
import Prompts
import RecordCore
import XCTest

@testable import Requests

/// The request body is written two ways: straight to bytes (no --extra) and
/// through a JSON tree (with --extra). Cache keys hash the bytes, so both must
/// give the same bytes for the same request.
final class ChatBodyTests: XCTestCase {
    func plan(_ sampling: Sampling, banned: [String] = [], bannedTokens: [Int] = []) throws -> GenerationPlan {
        var p = GenerationPlan(
            model: "Qwen/Qwen2-VL-7B-Instruct", system: nil, prompt: try PromptTemplate("{q}"), sampling: sampling,
            out: try FieldPath(parsing: "a"), step: "gen")
        p.banned = banned
        p.bannedTokens = bannedTokens
        return p
    }

    func testBothBodyPathsWriteTheSameBytes() throws {
        var full = Sampling()
        full.temperature = 0.7
        full.topP = 0.95
        full.topK = 20
        full.minP = 0.05
        full.maxTokens = 1024
        full.minTokens = 50
        full.repetitionPenalty = 1.05
        full.frequencyPenalty = 1
        full.presencePenalty = 1
        full.seed = 42
        full.stop = ["\n\n", "停"]
        let settings: [(Sampling, [String], [Int])] = [
            (Sampling(), [], []), (full, [], []), (full, ["😂", "🔥"], [100_001, 100_002]), (Sampling(), [], [7]),
        ]
        let messages: [[ChatMessage]] = [
            [ChatMessage(role: "user", text: "描述这张图片 🌄 \"quoted\" \\ back\nslash")],
            [
                ChatMessage(role: "system", text: "You are brief."),
                ChatMessage(
                    role: "user",
                    parts: [.imageURL("data:image/png;base64,iVBORw0KGgo="), .videoURL("https://x/v.mp4"), .text("")]),
            ],
            [
                ChatMessage(
                    role: "user",
                    parts: [
                        .inline(video: false, mime: "image/jpeg", base64: Array("/9j/4AAQSkZJRg+/==".utf8)),
                        .inline(video: true, mime: "video/mp4", base64: Array("AAAAGGZ0eXA=".utf8)), .text("说明 🖼️"),
                    ])
            ],
        ]
        for (sampling, banned, tokens) in settings {
            for m in messages {
                for hook in [false, true] {
                    for sample in [0, 2] {
                        let fast = try plan(sampling, banned: banned, bannedTokens: tokens)
                        var withExtra = sampling
                        withExtra.extra = JSONObject()  // an empty --extra takes the tree path and adds nothing
                        let tree = try plan(withExtra, banned: banned, bannedTokens: tokens)
                        let a = fast.chatBody(m, sample: sample, hook: hook)
                        let b = tree.chatBody(m, sample: sample, hook: hook)
                        XCTAssertEqual(
                            String(decoding: a, as: UTF8.self), String(decoding: b, as: UTF8.self),
                            "hook \(hook), sample \(sample), banned \(banned), tokens \(tokens)")
                        XCTAssertNoThrow(try JSONValue.parse(bytes: a), "the body is JSON")
                    }
                }
            }
        }
    }

    func testExtraIsMergedLastAndOverrides() throws {
        var s = Sampling()
        s.temperature = 0.2
        s.extra = JSONObject([
            ("temperature", .double(0.9)), ("guided_choice", .array([.string("Yes"), .string("No")])),
        ])
        let body = try plan(s).chatBody([ChatMessage(role: "user", text: "hi")], sample: 0, hook: false)
        let o = try XCTUnwrap(try JSONValue.parse(bytes: body).objectValue)
        XCTAssertEqual(o["temperature"]?.doubleValue, 0.9)
        XCTAssertNotNil(o["guided_choice"])
    }
}
