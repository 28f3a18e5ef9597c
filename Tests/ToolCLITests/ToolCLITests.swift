import ArgumentParser
import XCTest

@testable import RecordCore
@testable import ToolCLI

final class ToolCLITests: XCTestCase {
    func testIOOptionsBecomeTheCoreSettings() throws {
        let o = try IOOptions.parse([
            "-o", "out.jsonl.zst", "--level", "7", "--bad-lines", "skip", "--rejected", "r", "-q",
        ])
        let s = o.settings
        XCTAssertEqual(s.output, "out.jsonl.zst")
        XCTAssertEqual(s.level, 7)
        XCTAssertEqual(s.badLines, .skip)
        XCTAssertEqual(s.rejected, "r")
        XCTAssertTrue(s.quiet)
        XCTAssertThrowsError(try IOOptions.parse(["--level", "20"]))
        XCTAssertThrowsError(try IOOptions.parse(["--bad-lines", "ignore"]))
    }

    func testEveryLibraryErrorSaysItsOwnExitStatus() {
        let closed = OutputError(destination: "stdout", message: "closed", closed: true)
        XCTAssertNil(ToolMain.describe(closed).0, "a closed reader ends the tool quietly")
        XCTAssertEqual(ToolMain.describe(closed).1, .ok)
        let full = OutputError(
            destination: "out.jsonl", message: "write failed: No space left on device", closed: false)
        XCTAssertEqual(ToolMain.describe(full).1, .ioError)
        let bad = BadLineError(source: "in.jsonl", line: 3, column: 7, message: "expected a JSON object")
        let (message, status) = ToolMain.describe(bad)
        XCTAssertEqual(status, .dataError)
        XCTAssertTrue(message?.contains("in.jsonl:3") == true, message ?? "")
        XCTAssertTrue(message?.contains("--bad-lines skip") == true, message ?? "")
        XCTAssertEqual(ToolMain.describe(ToolError.usage("x")).1, .usage)
        XCTAssertEqual(ToolMain.describe(InputError(source: "a", message: "cannot open", status: .noInput)).1, .noInput)
        struct Unknown: Error {}
        XCTAssertEqual(ToolMain.describe(Unknown()).1, .recordsFailed)
    }
}
