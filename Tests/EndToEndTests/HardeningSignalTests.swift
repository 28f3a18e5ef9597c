import Foundation
import TestSupport
import XCTest

/// Hardening, signals: every tool stops on SIGINT/SIGTERM the same way — finish
/// the frame, flush what is complete, exit 130/143 — even when blocked on a
/// pipe; a second SIGINT stops at once.
final class HardeningSignalTests: ToolTestCase {
    func line(_ i: Int) -> String { #"{"id":\#(i),"s":\#(i % 5)}"# + "\n" }

    func testFilterAndSplitFinishTheZstdFrameOnSIGINT() throws {
        for (tool, args) in [("mminf-filter", ["s >= 0"]), ("mminf-split", ["--sample", "100%"])] {
            let out = path("\(tool).jsonl.zst")
            let t = try RunningTool(tool, args + ["-o", out])
            for i in 0..<100 { t.feed(line(i)) }
            usleep(500_000)  // the input stays open: the tool waits on the pipe
            t.signal(SIGINT)
            XCTAssertEqual(t.wait(seconds: 5), 130, "\(tool): \(t.stderr)")
            XCTAssertTrue(t.stderr.contains("interrupted by SIGINT"), t.stderr)
            let z = Process()
            z.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
            z.arguments = ["-dc", out + ".partial"]
            let o = Pipe()
            z.standardOutput = o
            try z.run()
            let text = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            z.waitUntilExit()
            XCTAssertEqual(z.terminationStatus, 0, "\(tool): a complete zstd frame")
            XCTAssertEqual(text, (0..<100).map(line).joined(), tool)
        }
    }

    func testASignalWhileStdoutIsBlockedIsNotLost() throws {
        let big = try write("big.jsonl", (0..<200_000).map(line).joined())
        let t = try RunningTool("mminf-filter", ["s >= 0", big])
        usleep(500_000)  // nobody reads stdout: the pipe is full and the tool is blocked writing
        t.signal(SIGTERM)
        usleep(300_000)
        // Reading now lets the blocked write finish; the tool then stops, non-zero.
        let drain = Thread { _ = t.stdout.fileHandleForReading.readDataToEndOfFile() }
        drain.start()
        XCTAssertEqual(t.wait(seconds: 10), 143, t.stderr)
    }

    func testASecondSIGINTStopsAtOnce() throws {
        let big = try write("big.jsonl", (0..<200_000).map(line).joined())
        let t = try RunningTool("mminf-filter", ["s >= 0", big])
        usleep(500_000)
        t.signal(SIGINT)
        usleep(200_000)
        XCTAssertNil(t.wait(seconds: 0.3), "still blocked on the full pipe")
        t.signal(SIGINT)
        XCTAssertEqual(t.wait(seconds: 3), 130)
    }
}
