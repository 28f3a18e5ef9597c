import Foundation
import TestSupport
import XCTest

/// The Oasis steps of mminf-gen: media in requests, the open user turn
/// (--truncate) on both server routes, and --respond.
final class OasisGenTests: ToolTestCase {
    /// A valid 1x1 PNG.
    static let png = Data(
        base64Encoded:
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!

    func image(_ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try OasisGenTests.png.write(to: url)
        return url.path
    }

    func freePort() throws -> Int {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])",
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        return Int(
            String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(
                in: .whitespacesAndNewlines))!
    }

    func messages(_ r: JSONObjectLike) -> [[String: Any]] { r.body["messages"] as? [[String: Any]] ?? [] }

    func testHookOnVLLMRouteSendsTheExactShape() throws {
        let d = try ChatDouble()
        _ = try image("cat.png")
        let r = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--truncate", "--progress", "0", "--media-root", dir.path],
            input: #"{"id":"a","image":"cat.png"}"# + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let req = try XCTUnwrap(try d.requests().first)
        XCTAssertEqual(req.body["add_generation_prompt"] as? Bool, false)
        XCTAssertEqual(req.body["continue_final_message"] as? Bool, true)
        XCTAssertEqual(req.body["temperature"] as? Double, 1.0)
        XCTAssertEqual(req.body["top_k"] as? Int, 20)
        XCTAssertEqual(req.body["top_p"] as? Double, 1.0)
        XCTAssertEqual(req.body["repetition_penalty"] as? Double, 1.0)
        XCTAssertEqual(req.body["max_tokens"] as? Int, 512)
        XCTAssertEqual(req.body["min_tokens"] as? Int, 50)
        let msgs = messages(req)
        XCTAssertEqual(msgs.count, 1)
        XCTAssertEqual(msgs[0]["role"] as? String, "user")
        let parts = try XCTUnwrap(msgs[0]["content"] as? [[String: Any]])
        XCTAssertEqual(parts.count, 2, "the image, then an empty text part")
        XCTAssertEqual(parts[0]["type"] as? String, "image_url")
        let url = (parts[0]["image_url"] as? [String: Any])?["url"] as? String
        XCTAssertEqual(url, "data:image/png;base64," + OasisGenTests.png.base64EncodedString())
        XCTAssertEqual(parts[1]["type"] as? String, "text")
        XCTAssertEqual(parts[1]["text"] as? String, "")
        // The double answers with role "user" for continue_final_message; that is accepted.
        let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(out["instruction"] as? String, "echo:", "the candidate instruction, trimmed")
        let h = (out["history"] as? [String: Any])?["hook"] as? [String: Any]
        XCTAssertEqual(h?["media"] as? [String], ["cat.png"], "history keeps the reference, not the bytes")
        XCTAssertEqual(h?["hook_via"] as? String, "chat")
        XCTAssertFalse(r.out.contains(OasisGenTests.png.base64EncodedString()))
    }

    func testBanSpecialOnTheVLLMRoute() throws {
        let d = try ChatDouble()
        let r = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--truncate", "--ban-special", "--progress", "0"], input: "{}\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let body = try XCTUnwrap(try d.requests().first).body
        let bias = try XCTUnwrap(body["logit_bias"] as? [String: Any])
        // the double's ids
        func id(_ m: String) -> String { String(100000 + m.utf8.reduce(0) { $0 + Int($1) } % 5000) }
        XCTAssertEqual(bias[id("<|im_start|>")] as? Int, -100)
        XCTAssertEqual(bias[id("<|vision_start|>")] as? Int, -100)
        XCTAssertNil(bias[id("<|im_end|>")], "the end of turn stays allowed")
        XCTAssertTrue((body["bad_words"] as? [String])?.contains("😂") == true)
    }

    func testRespondPutsMediaBeforeTheInstruction() throws {
        let d = try ChatDouble()
        let path = try image("chart.png")
        let r = try Tools.run(
            "mminf-gen",
            ["--base-url", d.baseURL, "--respond", "--system", "Be exact.", "--progress", "0", "--no-history"],
            input: #"{"images":["\#(path)","https://example.invalid/x.jpg"],"instruction":"Which bar is tallest?"}"#
                + "\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let msgs = messages(try XCTUnwrap(try d.requests().first))
        XCTAssertEqual(msgs[0]["content"] as? String, "Be exact.")
        let parts = try XCTUnwrap(msgs[1]["content"] as? [[String: Any]])
        XCTAssertEqual(parts.map { $0["type"] as? String }, ["image_url", "image_url", "text"])
        XCTAssertEqual(
            (parts[1]["image_url"] as? [String: Any])?["url"] as? String, "https://example.invalid/x.jpg",
            "URLs pass through")
        XCTAssertEqual(parts[2]["text"] as? String, "Which bar is tallest?")
        XCTAssertTrue(r.lines[0].contains(#""response":"echo: Which bar is tallest?""#), r.lines[0])

        let textOnly = try Tools.run(
            "mminf-gen", ["--base-url", d.baseURL, "--respond", "--no-media", "--progress", "0"],
            input: #"{"image":"\#(path)","instruction":"Q"}"# + "\n")
        XCTAssertEqual(textOnly.status, 0)
        XCTAssertEqual(messages(try XCTUnwrap(try d.requests().last))[0]["content"] as? String, "Q")
    }

    func testMediaProblemsFailTheirRecordOnly() throws {
        let d = try ChatDouble()
        try Data("{\"not\": \"an image\"}".utf8).write(to: dir.appendingPathComponent("fake.jpg"))
        _ = try image("ok.png")
        let input =
            [
                #"{"id":1,"image":"missing.jpg","instruction":"q"}"#, #"{"id":2,"image":"fake.jpg","instruction":"q"}"#,
                #"{"id":3,"image":"ok.png","instruction":"q"}"#, #"{"id":4,"image":"ok.png","instruction":"q"}"#,
            ].joined(separator: "\n") + "\n"
        let r = try Tools.run(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--respond", "--progress", "0", "--media-root", dir.path,
                "--failures", path("failed.jsonl"), "--cache", path("c.sqlite"), "--concurrency", "1", "--no-history",
                "--temperature", "0",
            ], input: input)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.lines.count, 2)
        let failed = try read("failed.jsonl")
        XCTAssertTrue(
            failed.contains(
                "image missing.jpg: cannot read it (No such file or directory); it is looked for in --media-root"),
            failed)
        XCTAssertTrue(failed.contains("fake.jpg: not a supported image (it looks like text)"), failed)
        XCTAssertTrue(r.stderr.contains("1 requests, 1 cached"), "the same image content is one cache key: \(r.stderr)")
    }

    func testServerThatCannotHookIsRefusedAtStartup() throws {
        // A plain static file server: no /props, no /version.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let port = try freePort()
        p.arguments = ["python3", "-m", "http.server", "--bind", "127.0.0.1", String(port), "--directory", dir.path]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { p.terminate() }
        // Up and answering (404 for what it lacks), so the refusal below is about capabilities, not a dead port.
        var status = 0
        for _ in 0..<100 where status == 0 {
            status = httpStatus("http://127.0.0.1:\(port)/props")
            if status == 0 { usleep(100_000) }
        }
        XCTAssertEqual(status, 404)
        let r = try Tools.run(
            "mminf-gen", ["--base-url", "http://127.0.0.1:\(port)/v1", "--model", "m", "--truncate"], input: "{}\n")
        XCTAssertEqual(r.status, 69)
        XCTAssertTrue(r.stderr.contains("cannot leave a user turn open for --truncate"), r.stderr)
        XCTAssertTrue(r.stderr.contains("mminf does not fall back"), r.stderr)
    }
}

/// Independent samples: records that ask the same thing at a sampling temperature
/// are separate draws, and each replays exactly on a rerun.
final class IndependentSampleTests: ToolTestCase {
    func testSameImageThreeRecordsThreeDraws() throws {
        let d = try ChatDouble()
        try OasisGenTests.png.write(to: dir.appendingPathComponent("same.png"))
        let input = (0..<3).map { _ in #"{"image":"same.png"}"# }.joined(separator: "\n") + "\n"
        let args = [
            "--base-url", d.baseURL, "--truncate", "--progress", "0", "--media-root", dir.path, "--cache",
            path("c.sqlite"), "--concurrency", "1",
        ]
        let first = try Tools.run("mminf-gen", args, input: input)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(try d.requests().count, 3, "three records without ids: three draws, not one shared")
        XCTAssertTrue(first.stderr.contains("3 requests, 0 cached"), first.stderr)
        let again = try Tools.run("mminf-gen", args, input: input)
        XCTAssertTrue(again.stderr.contains("0 requests, 3 cached"), "each replays its own draw: \(again.stderr)")
        XCTAssertEqual(again.out, first.out)
        // With ids, the key follows the id, so sharding or reordering keeps the draws.
        let withIDs = (0..<3).reversed().map { #"{"id":"r\#($0)","image":"same.png"}"# }.joined(separator: "\n") + "\n"
        let ids = try Tools.run("mminf-gen", args, input: withIDs)
        XCTAssertTrue(ids.stderr.contains("3 requests, 0 cached"), ids.stderr)
        let reordered = (0..<3).map { #"{"id":"r\#($0)","image":"same.png"}"# }.joined(separator: "\n") + "\n"
        let replay = try Tools.run("mminf-gen", args, input: reordered)
        XCTAssertTrue(replay.stderr.contains("0 requests, 3 cached"), replay.stderr)
        // Greedy requests are the same question whoever asks: one answer serves all.
        let greedy = try Tools.run(
            "mminf-gen", args + ["--temperature", "0", "--cache", path("g.sqlite")], input: input)
        XCTAssertTrue(greedy.stderr.contains("1 requests, 2 cached"), greedy.stderr)
    }
}

/// A picture rewritten in place during a run is hashed again: its status-change
/// time moves even when its size and modification time are set back.
final class MediaRewriteTests: ToolTestCase {
    func testARewrittenImageDoesNotReplayTheOldAnswer() throws {
        let d = try ChatDouble(faults: #"{"latency_ms": 600}"#)
        try OasisGenTests.png.write(to: dir.appendingPathComponent("p.png"))
        let t = try RunningTool(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--respond", "--progress", "0", "--media-root", dir.path, "--cache",
                path("c.sqlite"), "--temperature", "0", "--concurrency", "1", "--window", "1",
            ])
        t.feed(#"{"image":"p.png","instruction":"q"}"# + "\n")
        usleep(300_000)  // the first request is out; its picture was read
        // The same size, other pixels, the modification time set back.
        var other = OasisGenTests.png
        other[other.count - 20] ^= 0xFF
        let before = try FileManager.default.attributesOfItem(atPath: path("p.png"))[.modificationDate] as! Date
        try other.write(to: dir.appendingPathComponent("p.png"))
        try FileManager.default.setAttributes([.modificationDate: before], ofItemAtPath: path("p.png"))
        t.feed(#"{"image":"p.png","instruction":"q"}"# + "\n")
        t.closeInput()
        XCTAssertEqual(t.wait(seconds: 20), 0, t.stderr)
        let urls = try d.requests().map {
            (((($0.body["messages"] as? [[String: Any]])?.last?["content"] as? [[String: Any]])?.first?["image_url"]
                as? [String: Any])?["url"] as? String) ?? ""
        }
        XCTAssertEqual(urls.count, 2, "the second record was asked, not replayed from the first's answer")
        XCTAssertNotEqual(urls[0], urls[1], "and it carried the new picture")
    }
}
