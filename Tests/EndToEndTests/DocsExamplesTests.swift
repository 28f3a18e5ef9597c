import Foundation
import TestSupport
import XCTest

/// Every example in README.md, ARCHITECTURE.md, CONTRIBUTING.md and docs/*.md marked runnable is run here, so a
/// changed option or default fails a test instead of a reader.
///
/// - A fence tagged `sh runnable` is a bash script (`set -euo pipefail`) that
///   must exit 0; an `output` fence right after it is its exact stdout.
/// - A fence tagged `console runnable` is a transcript: each `$ command` is run
///   and must print the lines under it (stdout and stderr; timings such as
///   `0.01s (9578/s)` are compared as `<time>`); it must exit 0, or non-zero
///   when what it prints says `error:`.
/// - `server=double` or `server=llama` sets MMINF_BASE_URL to the test double
///   or the real llama.cpp server. Each example runs in a fresh folder holding
///   a copy of examples/, `imgs.jsonl` (three records with small PNG images) and
///   `captions.jsonl` (the bundled descriptions as captions).
final class DocsExamplesTests: ToolTestCase {
    struct Example {
        var file: String
        var line: Int
        var kind: String
        var server: String?
        var body: String
        var output: String?
    }

    static func examples() throws -> [Example] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        var found: [Example] = []
        for file in ["README.md", "CONTRIBUTING.md", "ARCHITECTURE.md"] + docs {
            let text = try String(contentsOf: packageRoot.appendingPathComponent(file), encoding: .utf8)
            let lines = text.components(separatedBy: "\n")
            var i = 0
            while i < lines.count {
                guard lines[i].hasPrefix("```"), lines[i].count > 3 else {
                    i += 1
                    continue
                }
                let info = lines[i].dropFirst(3).split(separator: " ").map(String.init)
                var j = i + 1
                while j < lines.count && !lines[j].hasPrefix("```") { j += 1 }
                let body = lines[(i + 1)..<j].joined(separator: "\n")
                if info.contains("runnable") {
                    var e = Example(
                        file: file, line: i + 1, kind: info[0],
                        server: info.first { $0.hasPrefix("server=") }.map { String($0.dropFirst(7)) }, body: body)
                    // An `output` fence right after (blank lines between) is the expected stdout.
                    var k = j + 1
                    while k < lines.count && lines[k].trimmingCharacters(in: .whitespaces).isEmpty { k += 1 }
                    if k < lines.count && lines[k] == "```output" {
                        var m = k + 1
                        while m < lines.count && !lines[m].hasPrefix("```") { m += 1 }
                        e.output = lines[(k + 1)..<m].joined(separator: "\n")
                    }
                    found.append(e)
                }
                i = j + 1
            }
        }
        return found
    }

    /// The docs' placeholder GPU hosts, and the `$VL`/`$LLM` their pipes share across
    /// blocks, pointed at the harness's server.
    static func pointed(_ script: String, at baseURL: String?) -> String {
        guard let baseURL else { return script }
        return "VL='--base-url \(baseURL)'; LLM='--base-url \(baseURL)'\n"
            + script.replacingOccurrences(of: #"http://gpu[0-9]+:8000/v1"#, with: baseURL, options: .regularExpression)
    }

    static func normalized(_ s: String) -> String {
        s.replacingOccurrences(
            of: #"\d+\.\d+s( \([0-9.]+[kM]?/s\))?"#, with: "<time>", options: .regularExpression
        ).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func prepareFolder() throws -> URL {
        let work = dir.appendingPathComponent("example-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: packageRoot.appendingPathComponent("examples"), to: work.appendingPathComponent("examples"))
        let png = Data(
            base64Encoded:
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!
        var lines: [String] = []
        for i in 0..<3 {
            try png.write(to: work.appendingPathComponent("img\(i).png"))
            lines.append(#"{"id":"img-\#(i)","image":"img\#(i).png"}"#)
        }
        for name in ["imgs.jsonl", "images.jsonl"] {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: work.appendingPathComponent(name))
        }
        // captions.jsonl: the bundled descriptions, under the name a captioning step writes.
        let descriptions = try String(
            contentsOf: packageRoot.appendingPathComponent("examples/data/descriptions.jsonl"), encoding: .utf8)
        try Data(descriptions.replacingOccurrences(of: "\"description\":", with: "\"caption\":").utf8).write(
            to: work.appendingPathComponent("captions.jsonl"))
        return work
    }

    func testEveryRunnableExampleRuns() throws {
        let all = try DocsExamplesTests.examples()
        // The runnable blocks each page has today: an untagged or deleted one fails here.
        let floor = [
            "README.md": 4, "docs/filter.md": 6, "docs/gen.md": 2, "docs/score.md": 1, "docs/split.md": 3,
            "docs/pipeline.md": 4,
        ]
        for (file, least) in floor {
            XCTAssertGreaterThanOrEqual(
                all.filter { $0.file == file }.count, least, "\(file) marks its runnable examples")
        }
        var double: ChatDouble?
        for e in all {
            let place = "\(e.file):\(e.line)"
            var baseURL: String?
            switch e.server {
            case "double":
                if double == nil { double = try ChatDouble() }
                baseURL = double!.baseURL
            case "llama":
                guard let llama = try? LlamaServer.shared.get() else {
                    print("\(place): skipped, no llama.cpp server (MMINF_TEST_LLAMA_URL)")
                    continue
                }
                baseURL = llama.baseURL
            default: break
            }
            let folder = try prepareFolder()
            if e.kind == "console" {
                // Transcript: "$ command" lines, each followed by what it prints.
                var command: String?
                var expected: [String] = []
                func check() throws {
                    guard let c = command else { return }
                    let r = try Tools.shell(c, in: folder, baseURL: baseURL)
                    let (status, out, err) = (r.status, r.out, r.stderr)
                    let want = expected.joined(separator: "\n")
                    XCTAssertEqual(
                        DocsExamplesTests.normalized(out + err), DocsExamplesTests.normalized(want), "\(place): $ \(c)")
                    if want.contains("error:") {
                        XCTAssertNotEqual(status, 0, "\(place): $ \(c) should fail")
                    } else {
                        XCTAssertEqual(status, 0, "\(place): $ \(c)\n\(err)")
                    }
                }
                for line in e.body.components(separatedBy: "\n") {
                    if line.hasPrefix("$ ") {
                        try check()
                        command = String(line.dropFirst(2))
                        expected = []
                    } else {
                        expected.append(line)
                    }
                }
                try check()
            } else {
                let r = try Tools.shell(DocsExamplesTests.pointed(e.body, at: baseURL), in: folder, baseURL: baseURL)
                let (status, out, err) = (r.status, r.out, r.stderr)
                XCTAssertEqual(status, 0, "\(place) exited \(status):\n\(e.body)\n\(err)")
                if let want = e.output {
                    XCTAssertEqual(
                        DocsExamplesTests.normalized(out), DocsExamplesTests.normalized(want), "\(place): output")
                }
            }
        }
    }

    /// The benchmarks are not run by the tests, but each one's command must at least start.
    func testEveryBenchmarkStarts() throws {
        let bench = try FileManager.default.contentsOfDirectory(
            atPath: packageRoot.appendingPathComponent("bench").path
        )
        .filter { $0.hasSuffix(".sh") && $0 != "lib.sh" }
        XCTAssertFalse(bench.isEmpty)
        for b in bench {
            let script = packageRoot.appendingPathComponent("bench/\(b)").path
            let r = try Tools.shell("bash -n '\(script)' && '\(script)' --help", in: dir)
            let (status, out, err) = (r.status, r.out, r.stderr)
            XCTAssertEqual(status, 0, "bench/\(b) --help: \(err)")
            XCTAssertTrue(out.contains("bench/\(b)"), "bench/\(b) --help says what it runs: \(out)")
        }
    }
}
