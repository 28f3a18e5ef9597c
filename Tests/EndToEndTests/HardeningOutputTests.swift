import Foundation
import TestSupport
import XCTest

/// Hardening, outputs: a file being read is never truncated under its reader, a
/// stopped run leaves nothing truncated under the final name, and no output may
/// be an input.
final class HardeningOutputTests: ToolTestCase {
    func records(_ n: Int) -> String {
        (0..<n).map { #"{"id":\#($0),"topic":"topic \#($0)","pad":"\#(String(repeating: "x", count: 200))"}"# }
            .joined(separator: "\n") + "\n"
    }

    func bash(_ script: String) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "set -o pipefail; export PATH='\(Tools.binDir.path)':$PATH; cd '\(dir.path)'; " + script]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    func testRerunningTheFailuresFileTheDocumentedWayKeepsEveryRecord() throws {
        // Every request fails for good (400): all 2,000 records land in the failures file.
        let d = try ChatDouble(faults: #"{"preset": {"sequence": ["400"], "cycle": true}}"#)
        try write("in.jsonl", records(2000))
        let gen =
            "mminf-gen --base-url \(d.baseURL) --prompt 'Ask about {topic}.' --out q --progress 0 -q --concurrency 32 --failures gen.failed.jsonl"
        let first = try bash("\(gen) in.jsonl > out.jsonl")
        XCTAssertEqual(first.status, 1, first.stderr)
        XCTAssertEqual(try read("gen.failed.jsonl").split(separator: "\n").count, 2000)
        // Fed back in while being rewritten: the reader must see the whole old file.
        let again = try bash("jq -c .record gen.failed.jsonl | \(gen) > out2.jsonl")
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertEqual(try read("gen.failed.jsonl").split(separator: "\n").count, 2000, "no failed record was lost")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("gen.failed.jsonl.partial")))
    }

    func testAReaderOfAnOutputFileKeepsTheOldBytes() throws {
        try write("in.jsonl", records(50))
        for option in ["-o", "--rejected"] {
            let target = path("target-\(option.count).jsonl")
            try Data(records(3000).utf8).write(to: URL(fileURLWithPath: target))
            let old = try Data(contentsOf: URL(fileURLWithPath: target))
            let reader = try XCTUnwrap(FileHandle(forReadingAtPath: target))
            let r = try Tools.run("mminf-filter", ["id < 10", option, target, path("in.jsonl")], input: "")
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(reader.readDataToEndOfFile(), old, "\(option): the open reader sees the old file whole")
            XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: target)), old, "\(option) was replaced")
        }
    }

    func testAnInterruptedRunLeavesTheFinalNameUntouched() throws {
        let d = try ChatDouble(faults: #"{"latency_ms": 200}"#)
        try write("in.jsonl", records(200))
        try write("out.jsonl", "OLD\n")
        let t = try RunningTool(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", "Ask about {topic}.", "--out", "q", "--progress", "0",
                "--concurrency", "4", path("in.jsonl"), "-o", path("out.jsonl"), "--failures", path("f.jsonl"),
            ])
        usleep(1_200_000)
        t.signal(SIGTERM)
        XCTAssertEqual(t.wait(seconds: 10), 143, t.stderr)
        XCTAssertEqual(try read("out.jsonl"), "OLD\n", "make and Slurm see the old output, not a partial one")
        let partial = try read("out.jsonl.partial").split(separator: "\n")
        XCTAssertGreaterThan(partial.count, 0)
        for (i, l) in partial.enumerated() { XCTAssertTrue(l.hasPrefix(#"{"id":\#(i),"#), "complete, in order: \(l)") }
        XCTAssertTrue(t.stderr.contains("out.jsonl.partial"), t.stderr)
        XCTAssertEqual(t.stderr.split(separator: "\n").filter { $0.contains("error:") }.count, 1, t.stderr)
    }

    func testKill9LeavesNoTruncatedFileUnderTheFinalName() throws {
        let d = try ChatDouble(faults: #"{"latency_ms": 100}"#)
        try write("in.jsonl", records(300))
        let t = try RunningTool(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", "Ask about {topic}.", "--out", "q", "--progress", "0",
                "--concurrency", "8", path("in.jsonl"), "-o", path("out.jsonl.zst"),
            ])
        usleep(1_000_000)
        t.signal(SIGKILL)
        _ = t.wait(seconds: 5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.jsonl.zst")))
    }

    func testAnOutputThatIsAnInputIsRefused() throws {
        let input = try write("x.jsonl", records(5))
        try FileManager.default.linkItem(atPath: input, toPath: path("hardlink.jsonl"))
        for args in [
            ["id >= 0", input, "-o", input], ["id >= 0", input, "-o", path("hardlink.jsonl")],
            ["id >= 0", input, "-o", path("a.jsonl"), "--rejected", path("a.jsonl")],
        ] {
            let r = try Tools.run("mminf-filter", args, input: "")
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("mminf-filter: error: "), r.stderr)
        }
        XCTAssertEqual(try read("x.jsonl"), records(5), "the input is untouched")
        let viaShell = try bash("mminf-filter 'id >= 0' x.jsonl >> x.jsonl")
        XCTAssertEqual(viaShell.status, 64, viaShell.stderr)
        XCTAssertTrue(viaShell.stderr.contains("stdout is the input x.jsonl"), viaShell.stderr)
        XCTAssertEqual(try read("x.jsonl"), records(5))
        let split = try Tools.run(
            "mminf-split",
            ["--shards", "1", "-o", path("x.jsonl").replacingOccurrences(of: "x.jsonl", with: "{shard}.jsonl"), input],
            input: "")
        XCTAssertEqual(split.status, 0, split.stderr)
    }

    func testOutputsThatAreNotRegularFilesAreWrittenDirectly() throws {
        let input = try write("x.jsonl", records(5))
        let r = try Tools.run("mminf-filter", ["id >= 0", input, "-o", "/dev/null"], input: "")
        XCTAssertEqual(r.status, 0, r.stderr)
        let fifo = path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let reader = try bash("cat fifo > fromfifo.jsonl & mminf-filter 'id >= 0' x.jsonl -o fifo; wait")
        XCTAssertEqual(reader.status, 0, reader.stderr)
        XCTAssertEqual(try read("fromfifo.jsonl"), records(5))
    }

    func testAStaleFailuresFileIsRemovedWhenNothingFails() throws {
        let d = try ChatDouble()
        try write("gen.failed.jsonl", #"{"reason":"old","record":{"id":1}}"# + "\n")
        let r = try Tools.run(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", "x {topic}", "--progress", "0", "--failures",
                path("gen.failed.jsonl"),
            ],
            input: records(3))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("gen.failed.jsonl")), "it described an earlier run")
    }
}

/// Outputs, second round: links are written through, never replaced; a replaced
/// file keeps its permissions; a staging file that is an input is refused.
final class HardeningOutputLinkTests: ToolTestCase {
    func testALinkIsWrittenThroughAndAFileKeepsItsMode() throws {
        let input = try write("in.jsonl", #"{"a":1}"# + "\n")
        try FileManager.default.createDirectory(atPath: path("real"), withIntermediateDirectories: true)
        try write("real/out.jsonl", "OLD\n")
        try FileManager.default.createSymbolicLink(
            atPath: path("link.jsonl"), withDestinationPath: path("real/out.jsonl"))
        let r = try Tools.run("mminf-filter", ["a > 0", input, "-o", path("link.jsonl")], input: "")
        XCTAssertEqual(r.status, 0, r.stderr)
        let attrs = try FileManager.default.attributesOfItem(atPath: path("link.jsonl"))
        XCTAssertEqual(attrs[.type] as? FileAttributeType, .typeSymbolicLink, "the link is still a link")
        XCTAssertEqual(try read("real/out.jsonl"), #"{"a":1}"# + "\n", "written through to its target")
        // /dev/stdout is such a link.
        let viaDev = try Tools.run("mminf-filter", ["a > 0", input, "-o", "/dev/stdout", "-q"], input: "")
        XCTAssertEqual(viaDev.status, 0, viaDev.stderr)
        XCTAssertEqual(viaDev.out, #"{"a":1}"# + "\n")
        // A private file stays private when replaced.
        try write("private.jsonl", "OLD\n")
        chmod(path("private.jsonl"), 0o600)
        XCTAssertEqual(
            try Tools.run("mminf-filter", ["a > 0", input, "-o", path("private.jsonl")], input: "").status, 0)
        let mode = try FileManager.default.attributesOfItem(atPath: path("private.jsonl"))[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testTheStagingFileOfAnOutputMayNotBeAnInput() throws {
        try write("out.jsonl.partial", #"{"a":1}"# + "\n")
        let r = try Tools.run("mminf-filter", ["a > 0", path("out.jsonl.partial"), "-o", path("out.jsonl")], input: "")
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("rename that file first"), r.stderr)
        XCTAssertEqual(try read("out.jsonl.partial"), #"{"a":1}"# + "\n", "the input is untouched")
    }

    func testAStaleFailuresFileOutlivesAnInterruptedRun() throws {
        let d = try ChatDouble(faults: #"{"latency_ms": 300}"#)
        try write("gen.failed.jsonl", #"{"reason":"old","record":{"id":1}}"# + "\n")
        let t = try RunningTool(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", "x {id}", "--progress", "0", "--failures",
                path("gen.failed.jsonl"),
                "--concurrency", "1",
            ])
        t.feed((0..<50).map { #"{"id":\#($0)}"# }.joined(separator: "\n") + "\n")
        usleep(800_000)
        t.signal(SIGINT)
        XCTAssertEqual(t.wait(seconds: 10), 130, t.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("gen.failed.jsonl")), "it still describes a record")
    }
}

extension HardeningOutputTests {
    func testOutputFoldersAreMade() throws {
        let r = try Tools.run(
            "mminf-filter", ["-q", "--rejected", path("a/b/rej.jsonl"), "-o", path("c/d/out.jsonl"), "n > 1"],
            input: "{\"n\": 1}\n{\"n\": 2}\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try read("c/d/out.jsonl"), "{\"n\": 2}\n")
        XCTAssertTrue(try read("a/b/rej.jsonl").contains(#""record":{"n": 1}"#))
    }
}
