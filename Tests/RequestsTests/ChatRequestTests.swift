import XCTest

@testable import Requests

final class ChatRequestTests: XCTestCase {
    func testCacheKeysFollowTheExactRequest() {
        var s = Sampling()
        s.temperature = 0.7
        let a = ChatRequest(model: "m", messages: [ChatMessage(role: "user", text: "hi")], sampling: s).bodyBytes
        XCTAssertEqual(
            String(decoding: a, as: UTF8.self),
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.7}"#)
        XCTAssertEqual(ChatRequest.cacheKey(body: a, sample: 0), ChatRequest.cacheKey(body: a, sample: 0))
        XCTAssertNotEqual(ChatRequest.cacheKey(body: a, sample: 0), ChatRequest.cacheKey(body: a, sample: 1))
        s.temperature = 0.8
        let b = ChatRequest(model: "m", messages: [ChatMessage(role: "user", text: "hi")], sampling: s).bodyBytes
        XCTAssertNotEqual(ChatRequest.cacheKey(body: a, sample: 0), ChatRequest.cacheKey(body: b, sample: 0))
    }

}
