import Foundation
import TestSupport
import XCTest

/// Hardening, inputs: media paths confined to --media-root, media checked by
/// structure, zstd as pzstd writes it, a byte-order mark, expressions nested
/// past reason.
final class HardeningInputTests: ToolTestCase {
    static let png = Data(
        base64Encoded:
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!

    func gen(_ d: ChatDouble, _ extra: [String], input: String) throws -> ToolRun {
        try Tools.run(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", "Describe.", "--out", "a", "--progress", "0", "--failures",
                path("failed.jsonl"),
            ] + extra, input: input)
    }

    func testMediaOutsideTheRootAreNotSent() throws {
        let d = try ChatDouble()
        try FileManager.default.createDirectory(atPath: path("root/sub"), withIntermediateDirectories: true)
        try HardeningInputTests.png.write(to: URL(fileURLWithPath: path("root/sub/in.png")))
        try HardeningInputTests.png.write(to: URL(fileURLWithPath: path("outside.png")))
        try FileManager.default.createSymbolicLink(
            atPath: path("root/link.png"), withDestinationPath: path("outside.png"))
        let records =
            [
                #"{"id":0,"image":"sub/in.png"}"#,  // inside: sent
                #"{"id":1,"image":"../outside.png"}"#,  // climbs out
                #"{"id":2,"image":"\#(path("outside.png"))"}"#,  // absolute, outside
                #"{"id":3,"images":["sub/in.png","link.png"]}"#,  // a link that leads out, second in a list
                #"{"id":4,"image":"\#(path("root/sub/in.png"))"}"#,  // absolute, inside: sent
            ].joined(separator: "\n") + "\n"
        let r = try gen(d, ["--media-root", path("root")], input: records)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.lines.count, 2, r.out)
        let failed = try read("failed.jsonl").split(separator: "\n").map(String.init)
        XCTAssertEqual(failed.count, 3)
        for f in failed { XCTAssertTrue(f.contains("outside --media-root"), f) }
        // Each names the field that held the path.
        XCTAssertEqual(failed.filter { $0.contains("field 'image': image ") }.count, 2, failed.joined(separator: "\n"))
        XCTAssertEqual(
            failed.filter { $0.contains("field 'images[1]': image ") }.count, 1, failed.joined(separator: "\n"))
        XCTAssertEqual(try d.requests().count, 2, "nothing outside the root reached the server")
        // Without --media-root, any local path is read (as documented).
        let open = try gen(d, [], input: #"{"id":9,"image":"\#(path("outside.png"))"}"# + "\n")
        XCTAssertEqual(open.status, 0, open.stderr)
    }

    func testMediaAreCheckedByStructureAndErrorsQuoteNoBytes() throws {
        let d = try ChatDouble()
        try Data("BM this is a text file about bitmaps, secret: hunter2\n".utf8).write(
            to: URL(fileURLWithPath: path("fake.bmp")))
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8]).write(
            to: URL(fileURLWithPath: path("cut.png")))
        let r = try gen(
            d, [], input: #"{"image":"\#(path("fake.bmp"))"}"# + "\n" + #"{"image":"\#(path("cut.png"))"}"# + "\n")
        XCTAssertEqual(r.status, 1, r.stderr)
        let failed = try read("failed.jsonl")
        XCTAssertTrue(failed.contains("fake.bmp: not a supported image (it looks like text)"), failed)
        XCTAssertTrue(failed.contains("cut.png: not a supported image"), failed)
        XCTAssertFalse(failed.contains("hunter2") || failed.contains("42 4D") || failed.contains("89 50"), failed)
        XCTAssertEqual(try d.requests().count, 0)
    }

    func testZstdThatOpensWithASkippableFrame() throws {
        let plain = (0..<50).map { #"{"id":\#($0)}"# }.joined(separator: "\n") + "\n"
        try write("p.jsonl", plain)
        let z = Process()
        z.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
        z.arguments = ["-q", "-f", path("p.jsonl"), "-o", path("p.zst")]
        try z.run()
        z.waitUntilExit()
        // pzstd starts its files with a skippable frame: magic 0x184D2A50, a length, the bytes.
        var skippable = Data([0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4])
        skippable.append(try Data(contentsOf: URL(fileURLWithPath: path("p.zst"))))
        try skippable.write(to: URL(fileURLWithPath: path("s.zst")))
        let r = try Tools.run("mminf-filter", ["id >= 0", path("s.zst")], input: "")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.out, plain)
    }

    func testAByteOrderMarkIsNotPartOfTheFirstRecord() throws {
        var data = Data([0xEF, 0xBB, 0xBF])
        data.append(Data(#"{"id":1}"#.utf8 + [0x0A] + #"{"id":2}"#.utf8 + [0x0A]))
        try data.write(to: URL(fileURLWithPath: path("bom.jsonl")))
        let r = try Tools.run("mminf-filter", ["id >= 1", path("bom.jsonl")], input: "")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.out, #"{"id":1}"# + "\n" + #"{"id":2}"# + "\n")
    }

    func testExpressionsNestedPastReasonAreRefusedWithACaret() throws {
        for expression in [
            String(repeating: "(", count: 10_000) + "a" + String(repeating: ")", count: 10_000),
            String(repeating: "!", count: 10_000) + "a",
            Array(repeating: "a", count: 5_000).joined(separator: "+") + " > 1",
        ] {
            let r = try Tools.run("mminf-filter", [expression], input: #"{"a":1}"# + "\n")
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("mminf-filter: error: bad expression at column"), r.stderr)
            XCTAssertLessThan(r.stderr.count, 400, "the expression is not echoed whole")
            assertNoCrash(r)
        }
    }
}

/// A named pipe among the media fails its record instead of stalling the run.
final class HardeningMediaPipeTests: ToolTestCase {
    func testAFIFOAmongTheMediaFailsItsRecord() throws {
        let d = try ChatDouble()
        XCTAssertEqual(mkfifo(path("f.png"), 0o600), 0)
        let started = Date()
        let r = try Tools.run(
            "mminf-gen",
            [
                "--base-url", d.baseURL, "--prompt", "x", "--progress", "0", "--media-root", dir.path, "--failures",
                path("failed.jsonl"),
            ], input: #"{"image":"f.png"}"# + "\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(r.status, 1, r.stderr)
        let failed = try read("failed.jsonl")
        XCTAssertTrue(failed.contains("field 'image': image "), failed)
        XCTAssertTrue(failed.contains("not a file"), failed)
    }
}
