import Foundation
import TestSupport
import XCTest

final class FilterToolTests: ToolTestCase {
    let oasis = """
        {"id": "a", "image":"a.jpg", "extracted":"Instruction: What is written on the sign?","scores":{"solvability":4,"hallucination":5,"clarity":4,"nonsense":5}}
        {"id":"b","image":"b.jpg","extracted":"NO_INST","scores":{"solvability":2,"hallucination":5,"clarity":4,"nonsense":5}}

        {"id":"c","image":"c.jpg","extracted":"Instruction:  Décrivez la façade. 描述一下","scores":{"solvability":3,"hallucination":5,"clarity":3,"nonsense":5},"x":1.50}
        {"id":"d","image":"d.jpg","extracted":"Instruction: Count the cars","scores":{"solvability":5,"hallucination":4,"clarity":5,"nonsense":5}}

        """
    let thresholds =
        "scores.solvability >= 3 && scores.hallucination == 5 && scores.clarity >= 3 && scores.nonsense == 5 && scores.solvability + scores.clarity >= 7"

    func testKeptRecordsAreCopiedByteForByte() throws {
        let input = try write("in.jsonl", oasis)
        let r = try Tools.run("mminf-filter", [thresholds, input])
        XCTAssertEqual(r.status, 0, r.stderr)
        let original = oasis.split(separator: "\n").map(String.init)
        XCTAssertEqual(r.lines, [original[0]], "odd spacing in record a survives; c fails the sum")
        XCTAssertTrue(
            r.stderr.contains("mminf-filter: 4 in, 1 out, 3 dropped (3 where: \(thresholds)), 0 bad lines"), r.stderr)
    }

    func testWhereOptionsZstdInputAndOutput() throws {
        let plain = try write("in.jsonl", oasis)
        try zstd([plain, "-o", path("in.bin")])  // compressed, detected by magic bytes
        let r = try Tools.run(
            "mminf-filter",
            [
                "--where", "scores.hallucination == 5", "--where", "len(extracted) > 10",
                path("in.bin"), "-o", path("out.jsonl.zst"), "-q",
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "", "--quiet")
        let back = try Tools.run("mminf-filter", ["true", path("out.jsonl.zst"), "-q"])
        XCTAssertEqual(back.lines.map { String($0.prefix(12)) }, [#"{"id": "a", "#, #"{"id":"c","i"#])
        let z = try Tools.run("mminf-filter", ["--zstd", "-q", "true", plain])
        XCTAssertEqual(Array(z.stdout.prefix(4)), [0x28, 0xB5, 0x2F, 0xFD])
    }

    func testExtractInstruction() throws {
        let input = try write("in.jsonl", oasis)
        let r = try Tools.run(
            "mminf-filter",
            [
                "--extract", "extracted", "--regex", #"^Instruction:\s*(.+)"#, "--into", "instruction",
                "--keep", "id,instruction", "--rejected", path("rej.jsonl"), input,
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(
            r.lines,
            [
                #"{"id":"a","instruction":"What is written on the sign?"}"#,
                #"{"id":"c","instruction":"Décrivez la façade. 描述一下"}"#,
                #"{"id":"d","instruction":"Count the cars"}"#,
            ])
        let rejected = try read("rej.jsonl").split(separator: "\n")
        XCTAssertEqual(rejected.count, 1)
        XCTAssertTrue(
            rejected[0].hasPrefix(#"{"reason":"extract: no match in extracted","source":""#), String(rejected[0]))
        XCTAssertTrue(
            rejected[0].hasSuffix(
                #""line":2,"record":{"id":"b","image":"b.jpg","extracted":"NO_INST","scores":{"solvability":2,"hallucination":5,"clarity":4,"nonsense":5}}}"#
            ))
    }

    func testUniqueSetDropAndFormats() throws {
        let input = try write(
            "in.jsonl",
            """
            {"id":"1","image":"x.jpg","instruction":"Q1","response":"A1","history":{"h":1}}
            {"id":"2","image":"x.jpg","instruction":"Q1","response":"A2"}
            {"id":"3","images":["y.jpg","z.png"],"instruction":"Q3","response":"A3"}
            """)
        let u = try Tools.run("mminf-filter", ["--unique", "instruction", "--drop", "history,response", input])
        XCTAssertEqual(
            u.lines,
            [
                #"{"id":"1","image":"x.jpg","instruction":"Q1"}"#,
                #"{"id":"3","images":["y.jpg","z.png"],"instruction":"Q3"}"#,
            ])
        XCTAssertTrue(u.stderr.contains("1 unique: duplicate instruction"), u.stderr)

        let s = try Tools.run("mminf-filter", ["--set", "data_source=oasis", "--format", "sharegpt", input])
        XCTAssertEqual(
            s.lines[0],
            #"{"image":"x.jpg","conversations":[{"from":"human","value":"Q1"},{"from":"gpt","value":"A1"}],"id":"1","data_source":"oasis"}"#
        )
        let l = try Tools.run("mminf-filter", ["--format", "llava", input])
        XCTAssertEqual(
            l.lines[2],
            #"{"images":["y.jpg","z.png"],"conversations":[{"from":"human","value":"<image>\n<image>\nQ3"},{"from":"gpt","value":"A3"}],"id":"3"}"#
        )
        let o = try Tools.run("mminf-filter", ["--format", "openai", "--keep", "history.h", input])
        XCTAssertEqual(
            o.lines[0],
            #"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x.jpg"}},{"type":"text","text":"Q1"}]},{"role":"assistant","content":"A1"}],"id":"1","history":{"h":1}}"#
        )
        let q = try Tools.run(
            "mminf-filter", ["--set", #"query=<image>\n{instruction} ({id})"#, "--keep", "image,query", input])
        XCTAssertEqual(q.lines[0], #"{"image":"x.jpg","query":"<image>\nQ1 (1)"}"#)
    }

    func testBadLineStopsAfterFlushingWithLocation() throws {
        let input = try write("bad.jsonl", "{\"id\":1}\n{\"id\":2}\n{\"id\": 3, \"t\": \"é\" oops}\n{\"id\":4}\n")
        let r = try Tools.run("mminf-filter", ["id > 0", input])
        XCTAssertEqual(r.status, 65)
        XCTAssertEqual(r.lines, [#"{"id":1}"#, #"{"id":2}"#], "what came before the bad line is written")
        XCTAssertTrue(r.stderr.contains("3 in, 2 out, 0 dropped, 1 bad line,"), r.stderr)
        XCTAssertTrue(
            r.stderr.contains(
                "mminf-filter: error: \(input):3:20: not a JSON object: expected ',' or '}' after an object member, found 'o'"
            ), r.stderr)
        assertNoCrash(r)

        let skip = try Tools.run(
            "mminf-filter", ["id > 0", input, "--bad-lines", "skip", "--rejected", path("rej.jsonl")])
        XCTAssertEqual(skip.status, 0)
        XCTAssertEqual(skip.lines.count, 3)
        XCTAssertTrue(skip.stderr.contains("4 in, 3 out, 0 dropped, 1 bad line,"), skip.stderr)
        XCTAssertEqual(
            try read("rej.jsonl"),
            "{\"reason\":\"not a JSON object: expected ',' or '}' after an object member, found 'o'\",\"source\":\"\(input)\",\"line\":3,\"raw\":\"{\\\"id\\\": 3, \\\"t\\\": \\\"é\\\" oops}\"}\n"
        )
    }

    func testInvalidUTF8AndNonObjects() throws {
        var data = Data("{\"id\":1}\n{\"t\":\"ok ".utf8)
        data.append(contentsOf: [0xC3, 0x28])
        data.append(contentsOf: Array("\"}\n".utf8))
        try data.write(to: dir.appendingPathComponent("u.jsonl"))
        let r = try Tools.run("mminf-filter", ["true", path("u.jsonl")])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("u.jsonl:2:10: invalid UTF-8 (byte 0xc3)"), r.stderr)
        for (bad, message) in [
            ("[1,2]", "a record must be a JSON object"), ("\"text\"", "a record must be a JSON object"),
            ("{\"a\":", "unexpected end of line"),
        ] {
            let b = try Tools.run("mminf-filter", ["true"], input: bad + "\n")
            XCTAssertEqual(b.status, 65, bad)
            // A first line that opens with '[' makes the input a JSON array: its elements are located by index.
            XCTAssertTrue(b.stderr.contains(bad.hasPrefix("[") ? "<stdin>[0]:1:" : "<stdin>:1:"), b.stderr)
            XCTAssertTrue(b.stderr.contains(message), b.stderr)
        }
    }

    func testGarbageNeverCrashes() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            let bytes = (0..<Int.random(in: 1...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for args in [["true"], ["--bad-lines", "skip", "a.b ?? 1"], ["--set", "x={y}"]] {
                let r = try Tools.run("mminf-filter", args, stdin: Data(bytes))
                assertNoCrash(r)
                XCTAssertTrue([0, 65].contains(r.status), "\(r.status): \(r.stderr)")
            }
        }
    }

    func testUsageErrors() throws {
        let e = try Tools.run("mminf-filter", ["scores.a >= && 1"], input: "{}\n")
        XCTAssertEqual(e.status, 64)
        XCTAssertTrue(
            e.stderr.contains(
                "bad expression at column 13: unexpected '&&' where a value was expected\n  scores.a >= && 1\n              ^"
            ), e.stderr)
        let re = try Tools.run("mminf-filter", ["--extract", "a", "--regex", "(x", "--into", "b"], input: "{}\n")
        XCTAssertEqual(re.status, 64)
        XCTAssertTrue(re.stderr.contains("--regex: bad regex /(x/ at column 3: missing closing parenthesis"), re.stderr)
        let half = try Tools.run("mminf-filter", ["--extract", "a"], input: "{}\n")
        XCTAssertEqual(half.status, 64)
        XCTAssertTrue(half.stderr.contains("--extract, --regex and --into go together"))
        let missing = try Tools.run("mminf-filter", ["true", path("nope.jsonl")])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("nope.jsonl: cannot open: No such file or directory"), missing.stderr)
        let field = try Tools.run("mminf-filter", ["scores.clarty >= 3"], input: #"{"scores":{"clarity":3}}"# + "\n")
        XCTAssertEqual(field.status, 65)
        XCTAssertTrue(
            field.stderr.contains(
                "<stdin>:1: field 'scores.clarty' is not in this record; the expression reads it at column 1"),
            field.stderr)
    }

    func testSeveralInputsStdinDashAndClosedStdout() throws {
        let a = try write("a.jsonl", "{\"n\":1}\n{\"n\":2}\n")
        let r = try Tools.run("mminf-filter", ["n > 0", a, "-", a], input: "{\"n\":3}\n")
        XCTAssertEqual(r.lines, [#"{"n":1}"#, #"{"n":2}"#, #"{"n":3}"#, #"{"n":1}"#, #"{"n":2}"#])

        // `| head -1`: the reader goes away; the tool ends quietly with 0.
        let big = try write(
            "big.jsonl",
            String(repeating: "{\"n\":1,\"pad\":\"\(String(repeating: "x", count: 200))\"}\n", count: 50_000))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [
            "-c", "'\(Tools.binDir.path)/mminf-filter' true '\(big)' | head -1 >/dev/null; echo ${PIPESTATUS:-}",
        ]
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/bash")
        sh.arguments = [
            "-c",
            "set -o pipefail; '\(Tools.binDir.path)/mminf-filter' -q true '\(big)' 2>\(path("err.txt")) | head -1 >/dev/null",
        ]
        try sh.run()
        sh.waitUntilExit()
        XCTAssertEqual(sh.terminationStatus, 0)
        XCTAssertEqual(try read("err.txt"), "")
    }

    func testHugeLine() throws {
        // One 64 MB record still streams (the benchmark checks 256 MB on the release build).
        let url = dir.appendingPathComponent("huge.jsonl")
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let h = try FileHandle(forWritingTo: url)
        try h.write(contentsOf: Data("{\"id\":\"big\",\"t\":\"".utf8))
        let block = Data(String(repeating: "abcdefgh é ", count: 100_000).utf8)
        var written = 0
        while written < 64 << 20 {
            try h.write(contentsOf: block)
            written += block.count
        }
        try h.write(contentsOf: Data("\",\"s\":5}\n{\"id\":\"small\",\"s\":1}\n".utf8))
        try h.close()
        let r = try Tools.run("mminf-filter", ["s == 5", "--keep", "id,s", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, [#"{"id":"big","s":5}"#])
    }
}

extension FilterToolTests {
    func testArgumentsAfterDoubleDashAreFiles() throws {
        let r = try Tools.run("mminf-filter", ["--keep", "id", "--", path("records")], input: "{\"id\": 1}\n")
        XCTAssertEqual(r.status, 66, r.stderr)
        XCTAssertTrue(r.stderr.contains("records"), r.stderr)
        XCTAssertTrue(r.out.isEmpty, "stdin was not read")
    }
}

extension FilterToolTests {
    func testStatsFileOnEveryExit() throws {
        let ok = try Tools.run(
            "mminf-filter", ["-q", "--stats", path("s/ok.json"), "n > 1"], input: "{\"n\": 1}\n{\"n\": 2}\n{\"n\": 3}\n"
        )
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let stats = try JSONSerialization.jsonObject(with: Data(try read("s/ok.json").utf8)) as? [String: Any]
        XCTAssertEqual(stats?["in"] as? Int, 3)
        XCTAssertEqual(stats?["out"] as? Int, 2)
        XCTAssertEqual(stats?["dropped"] as? Int, 1)
        // A run stopped by a bad line still says what it did.
        let bad = try Tools.run(
            "mminf-filter", ["-q", "--stats", path("bad.json"), "true"], input: "{\"n\": 1}\nnot json\n")
        XCTAssertEqual(bad.status, 65)
        let partial = try JSONSerialization.jsonObject(with: Data(try read("bad.json").utf8)) as? [String: Any]
        XCTAssertEqual(partial?["out"] as? Int, 1)
        let split = try Tools.run(
            "mminf-split", ["-q", "--stats", path("split.json"), "--field", "t"], input: "{\"t\": \"a\\nb\"}\n")
        XCTAssertEqual(split.status, 0, split.stderr)
        XCTAssertTrue(try read("split.json").contains(#""out":2"#))
    }
}
