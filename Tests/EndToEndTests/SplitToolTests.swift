import Foundation
import TestSupport
import XCTest

final class SplitToolTests: ToolTestCase {
    func testExplodeQuestionsWithMaxParts() throws {
        let input = try write(
            "in.jsonl",
            """
            {"id":"img1","image":"1.jpg","questions":"1. What is the man holding?\\n2. What colour is the bus?\\n\\n3. Is it raining?"}
            {"id":"img2","image":"2.jpg","questions":"1. a\\n2. b\\n3. c\\n4. d\\n5. e\\n6. f\\n7. g\\n8. h"}
            {"id":"img3","image":"3.jpg","questions":"   "}
            """)
        let r = try Tools.run(
            "mminf-split",
            [
                "--field", "questions", "--into", "instruction", "--max-parts", "7",
                "--rejected", path("rej.jsonl"), input,
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 3)
        XCTAssertEqual(
            r.lines[1],
            #"{"id":"img1","image":"1.jpg","questions":"1. What is the man holding?\n2. What colour is the bus?\n\n3. Is it raining?","instruction":"What colour is the bus?","part":{"index":1,"count":3}}"#
        )
        XCTAssertTrue(
            r.stderr.contains(
                "3 in, 3 out, 2 dropped (1 split: 8 parts > --max-parts 7; 1 split: no parts in questions)"), r.stderr)
        let rej = try read("rej.jsonl").split(separator: "\n")
        XCTAssertEqual(rej.count, 2)
        XCTAssertTrue(rej[0].contains(#""line":2,"record":{"id":"img2""#))
    }

    func testJoinKeepsOnlyCompleteGroupsAndFiltersOnAll() throws {
        // caption_hallucination: paragraphs judged one by one, then joined per image.
        let input = try write(
            "in.jsonl",
            """
            {"id":"a","paragraph":"p1","scores":{"correct":true},"part":{"index":0,"count":2}}
            {"id":"a","paragraph":"p2","scores":{"correct":true},"part":{"index":1,"count":2}}
            {"id":"b","paragraph":"q1","scores":{"correct":true},"part":{"index":0,"count":2}}
            {"id":"b","paragraph":"q2","scores":{"correct":false},"part":{"index":1,"count":2}}
            {"id":"c","paragraph":"r1","scores":{"correct":true},"part":{"index":0,"count":3}}
            {"id":"c","paragraph":"r3","scores":{"correct":true},"part":{"index":2,"count":3}}
            """)
        let j = try Tools.run(
            "mminf-split",
            ["--join", "id", "--collect", "paragraph,scores.correct", input, "--rejected", path("rej.jsonl")])
        XCTAssertEqual(j.status, 0, j.stderr)
        XCTAssertEqual(
            j.lines,
            [
                #"{"id":"a","paragraph":["p1","p2"],"scores":{"correct":[true,true]}}"#,
                #"{"id":"b","paragraph":["q1","q2"],"scores":{"correct":[true,false]}}"#,
            ])
        XCTAssertTrue(try read("rej.jsonl").contains(#"{"reason":"join: incomplete group, 2 of 3 parts","#))
        let kept = try Tools.run("mminf-filter", ["all(scores.correct)"], stdin: j.stdout)
        XCTAssertEqual(kept.lines.count, 1)
        XCTAssertTrue(kept.lines[0].hasPrefix(#"{"id":"a""#))
    }

    func testContiguousShardsConcatenateToTheInput() throws {
        // Blank lines and a .json array among the inputs: blocks count records, not lines.
        let a = try write("a.jsonl", (0..<7).map { #"{"v":\#($0)}"# }.joined(separator: "\n\n") + "\n")
        let b = try write("b.json", "[" + (7..<10).map { #"{"v":\#($0)}"# }.joined(separator: ",") + "]")
        for n in [1, 3, 4, 12] {
            let r = try Tools.run(
                "mminf-split", ["--shards", "\(n)", "--contiguous", "-o", path("c\(n)-{shard}.jsonl"), a, b])
            XCTAssertEqual(r.status, 0, r.stderr)
            let width = String(n - 1).count
            let shards = try (0..<n).map { i -> [String] in
                let name = "c\(n)-" + String(repeating: "0", count: width - String(i).count) + "\(i).jsonl"
                return try read(name).split(separator: "\n").map(String.init)
            }
            XCTAssertEqual(shards.flatMap { $0 }, (0..<10).map { #"{"v":\#($0)}"# }, "\(n) shards in order")
            let sizes = shards.map(\.count)
            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "even blocks: \(sizes)")
        }
        let stdin = try Tools.run(
            "mminf-split", ["--shards", "2", "--contiguous", "-o", path("x-{shard}")], input: "{}\n")
        XCTAssertEqual(stdin.status, 64)
        XCTAssertTrue(stdin.stderr.contains("--contiguous goes with --shards N, input FILEs"), stdin.stderr)
        let pipe = try Tools.run(
            "mminf-split", ["--shards", "2", "--contiguous", "-o", path("y-{shard}"), "/dev/stdin"], input: "{}\n")
        XCTAssertEqual(pipe.status, 64)
        XCTAssertTrue(pipe.stderr.contains("/dev/stdin must be a regular file"), pipe.stderr)
    }

    func testShardsAreStableAndCompressed() throws {
        let records = (0..<300).map { #"{"id":"r\#($0)","v":\#($0)}"# }
        let input = try write("in.jsonl", records.joined(separator: "\n") + "\n")
        let r = try Tools.run(
            "mminf-split", ["--shards", "4", "--key", "id", "-o", path("s-{shard}.jsonl.zst"), input])
        XCTAssertEqual(r.status, 0, r.stderr)
        var all: [String] = []
        var counts: [Int] = []
        for i in 0..<4 {
            let name = path("s-\(i).jsonl.zst")
            XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: name)).prefix(4)), [0x28, 0xB5, 0x2F, 0xFD])
            let lines = try Tools.run("mminf-filter", ["-q", "true", name]).lines
            counts.append(lines.count)
            all += lines
        }
        XCTAssertEqual(Set(all), Set(records), "every record in exactly one shard")
        XCTAssertEqual(all.count, 300)
        XCTAssertTrue(counts.allSatisfy { $0 > 40 }, "hash spreads: \(counts)")
        // The shard of a key is fixed: r0 hashes (FNV-1a + SplitMix64, checked in Python) to shard 3 of 4.
        XCTAssertTrue(
            try Tools.run("mminf-filter", ["-q", "true", path("s-3.jsonl.zst")]).lines.contains(#"{"id":"r0","v":0}"#))
        let noPattern = try Tools.run("mminf-split", ["--shards", "2", input])
        XCTAssertEqual(noPattern.status, 64)
        XCTAssertTrue(noPattern.stderr.contains("--shards needs -o with {shard}"), noPattern.stderr)
    }

    func testSampleExactAndPercent() throws {
        let input = try write("in.jsonl", (0..<1000).map { #"{"i":\#($0)}"# }.joined(separator: "\n") + "\n")
        let a = try Tools.run("mminf-split", ["--sample", "25", "--seed", "9", input])
        let b = try Tools.run("mminf-split", ["--sample", "25", "--seed", "9", input])
        XCTAssertEqual(a.lines.count, 25)
        XCTAssertEqual(a.lines, b.lines)
        let order = a.lines.map { Int($0.dropFirst(5).dropLast())! }
        XCTAssertEqual(order, order.sorted(), "input order is kept")
        let p = try Tools.run("mminf-split", ["--sample", "10%", "--seed", "1", input])
        XCTAssertTrue((60...140).contains(p.lines.count), "\(p.lines.count)")
        XCTAssertTrue(p.stderr.contains("1000 in, \(p.lines.count) out, \(1000 - p.lines.count) dropped"), p.stderr)
    }

    func testOneModeAtATime() throws {
        let r = try Tools.run("mminf-split", ["--join", "id", "--sample", "3"], input: "")
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("choose one of --field (explode), --join, --shards or --sample"), r.stderr)
    }
}
