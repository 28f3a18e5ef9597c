import CCurl
import RecordCore
import XCTest

@testable import Engine

final class EngineTests: XCTestCase {
    func testSHA256KnownVectors() {
        // FIPS 180-4 examples.
        XCTAssertEqual(
            SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var streamed = SHA256()
        for chunk in stride(from: 0, to: 1000, by: 37) {
            streamed.update(Array(repeating: UInt8(ascii: "a"), count: min(37, 1000 - chunk)))
        }
        XCTAssertEqual(
            SHA256.hexString(streamed.finish()), SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1000)))
    }

    func testServerErrorShapesAndRetryAfter() {
        XCTAssertEqual(
            ServerReply.errorMessage(Array(#"{"error":{"message":"context too long","code":400}}"#.utf8)),
            "context too long")
        XCTAssertEqual(
            ServerReply.errorMessage(
                Array(#"{"object":"error","message":"bad field","type":"BadRequestError","code":422}"#.utf8)),
            "bad field")
        XCTAssertEqual(ServerReply.errorMessage(Array(#"{"detail":"Not Found"}"#.utf8)), "Not Found")
        XCTAssertEqual(
            ServerReply.errorMessage(Array("<html>502 Bad Gateway</html>".utf8)), "<html>502 Bad Gateway</html>")
        XCTAssertEqual(ServerReply.retryAfter("3"), 3)
        XCTAssertNil(ServerReply.retryAfter("soon"))
        let inTen = ServerReply.retryAfter(Self.httpDate(Date().addingTimeInterval(10)))
        XCTAssertNotNil(inTen)
        XCTAssertEqual(inTen ?? 0, 10, accuracy: 1.5)
    }

    static func httpDate(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: d)
    }

    func testChatAnswerReadsContentAndUserRole() throws {
        let v = try JSONValue.parse(
            #"{"model":"x","choices":[{"message":{"role":"user","content":" what is it?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":4}}"#
        )
        let a = try ChatAnswer(v)
        XCTAssertEqual(a.text, " what is it?")
        XCTAssertEqual(a.role, "user")
        XCTAssertEqual(a.completionTokens, 4)
        XCTAssertThrowsError(try ChatAnswer(try JSONValue.parse(#"{"choices":[]}"#)))
    }

    func testResponseCacheRoundTripAcrossHandles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mminf-cache-\(UUID().uuidString)/nested/c.sqlite"
        ).path
        let a = try ResponseCache(path: path)
        try a.put("k1", Array("answer".utf8))
        let b = try ResponseCache(path: path)  // a second process would see the same
        XCTAssertEqual(try b.get("k1"), Array("answer".utf8))
        XCTAssertNil(try b.get("k2"))
        XCTAssertEqual(b.count, 1)
    }

    func testServerPoolSpreadsAndRests() {
        let p = ServerPool(baseURLs: ["http://a/v1/", "http://b/v1"])
        XCTAssertEqual(p.servers.map(\.baseURL), ["http://a/v1", "http://b/v1"])
        p.began(0)
        XCTAssertEqual(p.pick(), 1, "fewest in flight")
        p.began(1)
        p.began(1)
        XCTAssertEqual(p.pick(), 0)
        let now = Date()
        for _ in 0..<ServerPool.failuresBeforeRest {
            p.began(0)
            p.ended(0, serverFault: true, now: now)
        }
        XCTAssertEqual(p.pick(now: now), 1, "a failing server rests")
        XCTAssertEqual(p.pick(now: now.addingTimeInterval(6)), 0, "and comes back")
    }
    /// A connection's socket stays in epoll when libcurl stops watching it; any
    /// other socket (the threaded resolver's pair, which curl closes without a
    /// close callback) leaves, so a new socket under its number is watched anew.
    func testOnlyConnectionsAreParkedInEpoll() throws {
        let m = HTTPMulti(maxConnections: 1)
        func socketPair() -> (Int32, Int32) {
            var fds: [Int32] = [-1, -1]
            XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
            return (fds[0], fds[1])
        }
        func readable(_ fd: Int32) -> Bool {
            var fds = [Int32](repeating: -1, count: 4)
            var masks = [Int32](repeating: 0, count: 4)
            let n = mminf_epoll_wait(m.epfd, &fds, &masks, 4, 500)
            return n > 0 && fds[0..<Int(n)].contains(fd)
        }
        let (a, b) = socketPair()
        m.watch(a, CURL_POLL_IN)
        m.watch(a, CURL_POLL_REMOVE)
        XCTAssertFalse(m.parked.contains(a))
        close(a)
        close(b)
        let (c, d) = socketPair()
        defer {
            close(c)
            close(d)
        }
        XCTAssertEqual(c, a, "the kernel hands out the lowest free number again")
        m.watch(c, CURL_POLL_IN)
        XCTAssertEqual(write(d, "x", 1), 1)
        XCTAssertTrue(readable(c), "the new socket under the old number is not in epoll")

        // A connection (opened through the open callback) is parked instead, still registered.
        m.connections.insert(c)
        m.watch(c, CURL_POLL_REMOVE)
        XCTAssertTrue(m.parked.contains(c))
        XCTAssertTrue(readable(c))
    }
}
