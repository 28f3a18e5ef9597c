import Engine
import RecordCore
import TestSupport
import XCTest

@testable import Requests

/// The llama.cpp template route's library parts against the real server (skipped,
/// saying why, when scripts/test.sh has not started one).
final class LlamaTemplateTests: XCTestCase {
    var server: LlamaServer!

    override func setUpWithError() throws {
        server = try LlamaServer.shared.get()
    }

    func testBanSpecialForbidsTemplateMarkersButNotTheEndOfTurn() throws {
        let hook = try TemplateHook(base: server.baseURL, headers: [])
        let ids = try SpecialTokens.llama(hook, headers: [])
        func id(_ marker: String) throws -> Int {
            let t = HTTPRequest.post(
                server.url + "/tokenize", body: Array(#"{"content":"\#(marker)","parse_special":true}"#.utf8))
            let v = try JSONValue.parse(bytes: t.response)
            return Int(try XCTUnwrap(v.objectValue?["tokens"]?.arrayValue?.first?.doubleValue))
        }
        XCTAssertTrue(ids.contains(try id("<|im_start|>")), "\(ids)")
        XCTAssertFalse(
            ids.contains(try id("<|im_end|>")),
            "the end of turn stays allowed, or the hook could not stop: \(ids) eot=\(hook.endOfTurn.debugDescription)")
        // Emoji that are several byte tokens are not banned: their bytes also spell CJK and accented letters.
        let sentence = HTTPRequest.post(server.url + "/tokenize", body: Array(#"{"content":"这是一个测试 Ünïcödé ❤️"}"#.utf8))
        let sentenceIDs = Set(
            (try JSONValue.parse(bytes: sentence.response).objectValue?["tokens"]?.arrayValue ?? []).compactMap {
                $0.doubleValue.map(Int.init)
            })
        XCTAssertTrue(sentenceIDs.isDisjoint(with: Set(try SpecialTokens.llama(hook, headers: [], extra: ["❤️", "😂"]))))
    }
}
