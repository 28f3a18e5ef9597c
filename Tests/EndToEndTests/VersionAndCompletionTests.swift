import Foundation
import TestSupport
import XCTest

final class VersionAndCompletionTests: XCTestCase {
    let tools = ["mminf-filter", "mminf-split", "mminf-gen", "mminf-score", "mminf-compile", "mminf-report"]

    func testEveryToolPrintsOneVersion() throws {
        var versions = Set<String>()
        for t in tools {
            let r = try Tools.run(t, ["--version"], input: "")
            XCTAssertEqual(r.status, 0, "\(t): \(r.stderr)")
            let v = r.out.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertNotNil(v.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression), "\(t) --version: \(v)")
            versions.insert(v)
        }
        XCTAssertEqual(versions.count, 1, "one version for all tools: \(versions)")
    }

    func testCompletionScriptsNameTheToolsOwnOptions() throws {
        for (t, option) in [
            ("mminf-gen", "--truncate"), ("mminf-filter", "--unique"), ("mminf-split", "--shards"),
            ("mminf-compile", "--explain"),
        ] {
            for shell in ["bash", "zsh", "fish"] {
                let r = try Tools.run(t, ["--generate-completion-script", shell], input: "")
                XCTAssertEqual(r.status, 0, "\(t) \(shell): \(r.stderr)")
                XCTAssertTrue(r.out.contains(String(option.dropFirst(2))), "\(t) \(shell) completion lacks \(option)")
            }
        }
    }
}
