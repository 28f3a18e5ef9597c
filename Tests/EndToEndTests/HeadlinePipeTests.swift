import Foundation
import TestSupport
import XCTest

/// The project's headline line, run verbatim against both hook routes.
final class HeadlinePipeTests: ToolTestCase {
    static let line = "cat imgs.jsonl | mminf-gen --truncate | mminf-filter | mminf-gen --respond"
    static let png = Data(
        base64Encoded:
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!

    func runLine(baseURL: String) throws -> (status: Int32, out: [[String: Any]], err: String) {
        let r = try Tools.shell(HeadlinePipeTests.line, in: dir, baseURL: baseURL)
        return (r.status, r.records, r.stderr)
    }

    func testOnTheChatRouteWithImages() throws {
        let d = try ChatDouble()
        for i in 0..<3 { try HeadlinePipeTests.png.write(to: dir.appendingPathComponent("img\(i).png")) }
        try write(
            "imgs.jsonl", (0..<3).map { #"{"id":\#($0),"image":"img\#($0).png"}"# }.joined(separator: "\n") + "\n")
        let r = try runLine(baseURL: d.baseURL)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.count, 3, r.err)
        for rec in r.out {
            XCTAssertNotNil(rec["instruction"] as? String, "\(rec)")
            XCTAssertEqual(rec["response"] as? String, "echo: echo:", "--respond answered the hook's instruction")
            XCTAssertNotNil((rec["history"] as? [String: Any])?["hook"], "the raw hook is kept")
        }
        let hooks = try d.requests().filter { $0.body["continue_final_message"] as? Bool == true }
        XCTAssertEqual(hooks.count, 3, "the hook went through vLLM's open final message")
    }

    func testOnTheTemplateRouteOfARealServer() throws {
        let llama = try LlamaServer.shared.get()
        try write("imgs.jsonl", (0..<2).map { #"{"id":\#($0)}"# }.joined(separator: "\n") + "\n")
        let r = try runLine(baseURL: llama.baseURL)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.count, 2, r.err)
        for rec in r.out {
            let h = (rec["history"] as? [String: Any])?["hook"] as? [String: Any]
            XCTAssertEqual(h?["hook_via"] as? String, "template", "\(rec)")
            XCTAssertNotNil(rec["instruction"] as? String)
            XCTAssertNotNil(rec["response"] as? String)
        }
    }
}
