import Foundation
import TestSupport
import XCTest

/// Hardening, limits: a regex engine error is never read as "no match", and
/// big values or counts are refused or streamed, never half done.
final class HardeningLimitsTests: ToolTestCase {
    func testRegexesThatRecurseOnLongTextStillMatch() throws {
        let text = "Instruction: " + String(repeating: "word é 中\n", count: 150)  // 1,500+ characters
        let rec = try JSONSerialization.data(withJSONObject: [
            "id": 1, "instruction": text, "s": String(repeating: "ab", count: 1000),
        ])
        try write("in.jsonl", String(decoding: rec, as: UTF8.self) + "\n")
        let extracted = try Tools.run(
            "mminf-filter",
            [
                "--extract", "instruction", "--regex", #"^Instruction:\s*((?:.|\n)+)"#, "--into", "got", "--keep",
                "got", path("in.jsonl"),
            ],
            input: "")
        XCTAssertEqual(extracted.status, 0, extracted.stderr)
        XCTAssertTrue(
            extracted.out.contains(#"word é 中\nword"#), "matched, not dropped as no match: \(extracted.out.prefix(80))")
        let negated = try Tools.run("mminf-filter", [#"s !~ /^(a|b)*$/"#, path("in.jsonl")], input: "")
        XCTAssertEqual(negated.status, 0, negated.stderr)
        XCTAssertEqual(negated.out, "", "the text is all a and b: !~ is false")
        let positive = try Tools.run("mminf-filter", [#"s ~ /^(a|b)*$/"#, path("in.jsonl")], input: "")
        XCTAssertEqual(positive.lines.count, 1, positive.stderr)
    }

    func testAMatcherThatCannotFinishIsAnErrorNamingThePattern() throws {
        let text = "Instruction: " + String(repeating: "x\n", count: 3_000_000)
        try write("in.jsonl", #"{"id":1,"instruction":"\#(text.replacingOccurrences(of: "\n", with: "\\n"))"}"# + "\n")
        let r = try Tools.run(
            "mminf-filter",
            [
                "--extract", "instruction", "--regex", #"^Instruction:\s*((?:.|\n)+)"#, "--into", "got",
                path("in.jsonl"),
            ],
            input: "")
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains(#"regex /^Instruction:\s*((?:.|\n)+)/ could not finish"#), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("error:") }.count, 1)
        let skipped = try Tools.run(
            "mminf-filter",
            [
                "--extract", "instruction", "--regex", #"^Instruction:\s*((?:.|\n)+)"#, "--into", "got", "--bad-lines",
                "skip",
                "--rejected", path("rej.jsonl"), path("in.jsonl"),
            ], input: "")
        XCTAssertEqual(skipped.status, 0, skipped.stderr)
        XCTAssertTrue(try read("rej.jsonl").contains("could not finish"), "accounted for in the rejects")
    }

    func testTooManyShardsAreRefusedBeforeAnyFileIsMade() throws {
        try write("in.jsonl", #"{"id":1}"# + "\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [
            "-c",
            "ulimit -n 256; exec '\(Tools.binDir.path)/mminf-split' --shards 100000 -o '\(path("s"))/part-{shard}.jsonl' '\(path("in.jsonl"))'",
        ]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 64, e)
        XCTAssertTrue(e.contains("ulimit -n"), e)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("s")), "nothing was created")
    }

    func testShardFoldersAreCreated() throws {
        try write("in.jsonl", (0..<10).map { #"{"id":\#($0)}"# }.joined(separator: "\n") + "\n")
        let r = try Tools.run(
            "mminf-split",
            ["--shards", "3", "--key", "id", "-o", path("deep/er/part-{shard}.jsonl"), path("in.jsonl")], input: "")
        XCTAssertEqual(r.status, 0, r.stderr)
        let total = try (0..<3).map { try read("deep/er/part-\($0).jsonl").split(separator: "\n").count }.reduce(0, +)
        XCTAssertEqual(total, 10)
    }

    func testExplodeStreamsTheParts() throws {
        // 200,000 one-letter lines: children are written as they are cut, never held together.
        let lines = String(repeating: "x\n", count: 200_000)
        try write("in.jsonl", #"{"id":"a","text":"\#(lines.replacingOccurrences(of: "\n", with: "\\n"))"}"# + "\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = [
            "-f", "%M", Tools.binDir.appendingPathComponent("mminf-split").path, "--field", "text", "-q", "-o",
            path("out.jsonl"), path("in.jsonl"),
        ]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, e)
        let kb = Int(e.split(separator: "\n").last ?? "") ?? 0
        XCTAssertLessThan(kb, 48_000, "peak RSS \(kb) KB for a 400 KB field")
        let out = try read("out.jsonl").split(separator: "\n")
        XCTAssertEqual(out.count, 200_000)
        XCTAssertEqual(String(out[199_999]), #"{"id":"a","text":"x","part":{"index":199999,"count":200000}}"#)
    }
}

/// Hardening, numbers: compared exactly, as written.
final class HardeningNumberTests: ToolTestCase {
    func testUniqueAndComparisonsOnBigNumbers() throws {
        let input = try write(
            "n.jsonl",
            ["1234567890123456788", "1234567890123456789", "1234567890123456789", "1e400", "1e999", "1", "1.0"]
                .map { #"{"id":\#($0)}"# }.joined(separator: "\n") + "\n")
        let unique = try Tools.run("mminf-filter", ["--unique", "id", input], input: "")
        XCTAssertEqual(
            unique.lines,
            [
                #"{"id":1234567890123456788}"#, #"{"id":1234567890123456789}"#, #"{"id":1e400}"#, #"{"id":1e999}"#,
                #"{"id":1}"#,
            ],
            unique.stderr)
        let equal = try Tools.run("mminf-filter", ["id == 1234567890123456789", input], input: "")
        XCTAssertEqual(equal.lines.count, 2, equal.out)
        let huge = try Tools.run("mminf-filter", ["id > 1e500", input], input: "")
        XCTAssertEqual(huge.lines, [#"{"id":1e999}"#])
    }
}
