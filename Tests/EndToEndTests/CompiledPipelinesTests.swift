import Foundation
import TestSupport
import XCTest

/// The eight reference pipelines in examples/, compiled to sh and to make
/// (sharded too) and run against a scripted double that answers each preset
/// and rubric in the form it expects, so record counts can be checked.
final class CompiledPipelinesTests: DoubleTestCase {
    static let pipelines: [(name: String, records: Int)] = [
        ("oasis", 4), ("caption-gen", 4), ("caption-conversation", 12), ("caption-hallucination", 4),
        ("detailed-inst", 3), ("vlthinking", 3), ("match-score-zh", 3), ("prompt-evolve-zh", 3),
    ]
    var env: [String: String] { ["VL_URL": double.baseURL, "LLM_URL": double.baseURL, "R1_URL": double.baseURL] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        double = try ChatDouble(script: EightPipelinesTests.script)
    }

    func run(_ script: String, in folder: URL, env extra: [String: String] = [:]) throws -> ToolRun {
        let r = try Tools.shell(script, in: folder, env: env.merging(extra) { $1 })
        XCTAssertEqual(r.status, 0, "\(script): \(r.stderr)")
        return r
    }

    struct Funnel: Equatable {
        var step: String
        var recordsIn: Int
        var out: Int
    }

    /// The funnel of a report: step, records in, records out.
    func funnelRows(_ report: URL) throws -> [Funnel] {
        let html = try String(contentsOf: report, encoding: .utf8)
        let re = try NSRegularExpression(pattern: #"data-step="([^"]*)" data-in="(\d+)" data-out="(\d+)""#)
        return re.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { m in
            func g(_ i: Int) -> String { String(html[Range(m.range(at: i), in: html)!]) }
            return Funnel(step: g(1), recordsIn: Int(g(2))!, out: Int(g(3))!)
        }
    }

    func testEightPipelinesAsShellMakeAndShardedMake() throws {
        let sh = try folderWithExamples("sh")
        let make = try folderWithExamples("make")
        let sharded = try folderWithExamples("sharded")
        for (name, count) in Self.pipelines {
            let yaml = "examples/\(name).yaml"
            _ = try run("mminf-compile \(yaml) -o \(name).sh && shellcheck \(name).sh && ./\(name).sh", in: sh)
            let out = try Tools.recordsWithoutTiming(sh.appendingPathComponent("out/\(name).jsonl.zst"))
            XCTAssertEqual(out.count, count, name)

            _ = try run("mminf-compile --make \(yaml) -o \(name).mk && make -s -f \(name).mk", in: make)
            XCTAssertEqual(
                try Tools.recordsWithoutTiming(make.appendingPathComponent("out/\(name).jsonl.zst")), out,
                "\(name): make")

            _ = try run(
                "mminf-compile --make --shards 3 \(yaml) -o \(name).mk && make -s -j 3 -f \(name).mk", in: sharded)
            XCTAssertEqual(
                try Tools.recordsWithoutTiming(sharded.appendingPathComponent("out/\(name).jsonl.zst")), out,
                "\(name): 3 shards, make -j 3")
            // Each run ends with its report, whose funnel adds the shards' figures up.
            let funnel = try funnelRows(sh.appendingPathComponent("out/\(name)/report.html"))
            let yamlText = try String(contentsOf: sh.appendingPathComponent(yaml), encoding: .utf8)
            XCTAssertEqual(
                funnel.count, yamlText.components(separatedBy: "\n  - ").count - 1, "\(name): a row per step")
            XCTAssertEqual(funnel.last?.out, count, name)
            XCTAssertEqual(try funnelRows(make.appendingPathComponent("out/\(name)/report.html")), funnel, name)
            XCTAssertEqual(try funnelRows(sharded.appendingPathComponent("out/\(name)/report.html")), funnel, name)
        }
        // Shapes, as the reference writes them.
        let oasis = try Tools.recordsWithoutTiming(sh.appendingPathComponent("out/oasis.jsonl.zst"))
        XCTAssertEqual(Set(oasis[0].allKeys as! [String]), ["id", "image", "conversations", "data_source"])
        let evolved = try Tools.recordsWithoutTiming(sh.appendingPathComponent("out/prompt-evolve-zh.jsonl.zst"))
        XCTAssertEqual((evolved[0]["scores"] as? [String: Any])?["match_after"] as? Double, 8)
        // Each step of a sharded run wrote one file per shard, then the merge.
        let files = try FileManager.default.contentsOfDirectory(
            atPath: sharded.appendingPathComponent("out/oasis").path)
        XCTAssertTrue(files.contains("01-hook.shard-2.jsonl.zst"), "\(files.sorted())")
        XCTAssertTrue(files.contains("00-input.shard-0.jsonl.zst"), "\(files.sorted())")
    }

    /// Steps that need every record run after the merge: here a join whose keys run
    /// across the shards' edges, after an explode (the parts of one record stay together,
    /// but two records with one key need not).
    func testShardedRunJoinsAfterTheMerge() throws {
        let folder = try folderWithExamples("join")
        let keys = [1, 2, 2, 3, 3, 3, 4, 5, 5]
        try write(
            "join/in.jsonl",
            keys.enumerated().map { #"{"k": \#($1), "n": \#($0), "xs": "a\#($0)\nb\#($0)"}"# }.joined(separator: "\n")
                + "\n")
        try write(
            "join/j.yaml",
            """
            pipeline: j
            input: in.jsonl
            output: out/j.jsonl
            steps:
              - big: {filter: {where: n >= 0}}
              - parts: {split: {field: xs, into: x, part_field: none}}
              - group: {split: {join: k, collect: x}}
              - tag: {filter: {set: [seen=yes]}}
            """)
        let unsharded = try run("mminf-compile j.yaml | bash && cat out/j.jsonl", in: folder).out
        XCTAssertEqual(unsharded.split(separator: "\n").count, 5, "one record per key")
        for n in [2, 3, 4] {
            let r = try run(
                // The same folder each time: a run compiled for another N must not reuse the old shards.
                "mminf-compile --make --shards \(n) j.yaml -o j.mk && make -s -j \(n) -f j.mk && cat out/j.jsonl",
                in: folder)
            XCTAssertEqual(r.out, unsharded, "\(n) shards")
        }
        let mk = try read("join/j.mk")
        XCTAssertTrue(mk.contains("# 3. group: mminf-split (after the merge: split join meets the records"), mk)
        XCTAssertFalse(mk.contains("03-group.shard-0"), mk)
        XCTAssertTrue(mk.contains("02-parts.shard-0"), "the explode runs per shard")
    }

    /// An interrupted make restarts at the step that broke; the cache replays what that step had.
    func testMakeResumesAtTheStepThatBroke() throws {
        let failing = try ChatDouble(faults: #"{"preset":["ok","400","ok","400"]}"#)
        let folder = try folderWithExamples("resume")
        try write("resume/in.jsonl", idRecords(4))
        try write(
            "resume/r.yaml",
            """
            pipeline: r
            input: in.jsonl
            output: out/r.jsonl.zst
            models:
              a: {base_url: "${A_URL}", model: m, concurrency: 1}
              b: {base_url: "${B_URL}", model: m, concurrency: 1}
            steps:
              - first: {gen: {model: a, prompt: 'one {id}', no_media: true, out: x}}
              - second: {gen: {model: b, prompt: 'two {id}', no_media: true, out: y}}
            """)
        _ = try run("mminf-compile --make r.yaml -o Makefile", in: folder)
        let broken = try Tools.shell("make -s", in: folder, env: ["A_URL": double.baseURL, "B_URL": failing.baseURL])
        XCTAssertNotEqual(broken.status, 0, "two of four failed, over the 1% budget")
        XCTAssertTrue(broken.stderr.contains("more than --max-failures 1% of 4"), broken.stderr)
        let first = folder.appendingPathComponent("out/r/01-first.jsonl.zst").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: first))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/r.jsonl.zst").path))
        XCTAssertEqual(try read("resume/out/r/second.failed.jsonl").split(separator: "\n").count, 2)
        let before = try double.requests().count
        let good = try ChatDouble()
        _ = try run("make -s", in: folder, env: ["A_URL": double.baseURL, "B_URL": good.baseURL])
        XCTAssertEqual(try double.requests().count, before, "the finished step did not run again")
        XCTAssertEqual(try good.requests().count, 2, "the broken step's two answers came from the cache")
        XCTAssertEqual(try Tools.recordsWithoutTiming(folder.appendingPathComponent("out/r.jsonl.zst")).count, 4)
        _ = try run("make -s clean", in: folder)
        XCTAssertFalse(FileManager.default.fileExists(atPath: first))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(".mminf/r.sqlite").path))
    }

    /// A step within its failure budget lets the pipeline go on; the sh target stops past it.
    func testFailureBudgetInTheShellPipe() throws {
        let folder = try folderWithExamples("budget")
        try write("budget/in.jsonl", idRecords(4))
        for (budget, status) in [("30%", 0), ("1", 0), ("0", 1)] {
            // The second request of each run fails for good.
            let failing = try ChatDouble(faults: #"{"preset":["ok","400","ok","ok"]}"#)
            try write(
                "budget/b.yaml",
                """
                pipeline: b
                input: in.jsonl
                max_failures: \(budget)
                output: out/b.jsonl
                models: {m: {base_url: "\(failing.baseURL)", model: m, concurrency: 1}}
                steps:
                  - ask: {gen: {model: m, prompt: 'q {id}', no_media: true}}
                  - keep: {filter: {where: 'id >= 0'}}
                """)
            _ = try Tools.shell("rm -rf .mminf out", in: folder)  // each budget from a clean start
            _ = try Tools.run("mminf-compile", ["b.yaml", "-o", "b.sh"], cwd: folder)
            let r = try Tools.shell("./b.sh", in: folder)
            XCTAssertEqual(r.status, Int32(status), "max_failures \(budget): \(r.stderr)")
            // Over budget, the output keeps its staging name: nothing complete-looking is left.
            let kept = status == 0 ? "budget/out/b.jsonl" : "budget/out/b.jsonl.incomplete"
            XCTAssertEqual(try read(kept).split(separator: "\n").count, 3, "three answered records reach the end")
            XCTAssertEqual(
                FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/b.jsonl").path), status == 0)
            XCTAssertTrue(try read("budget/out/b/ask.failed.jsonl").contains(#""status":400"#))
        }
    }

    /// The text-only pipelines on the real llama.cpp server: layout, not counts.
    func testTextPipelinesOnLlamaCpp() throws {
        let llama = try LlamaServer.shared.get()
        let folder = try folderWithExamples("llama")
        for name in ["detailed-inst", "match-score-zh"] {
            _ = try run(
                "mminf-compile examples/\(name).yaml | bash", in: folder,
                env: ["LLM_URL": llama.baseURL, "LLM_MODEL": "smollm2"])
            let out = try Tools.recordsWithoutTiming(folder.appendingPathComponent("out/\(name).jsonl.zst"))
            XCTAssertEqual(out.count, 3, name)
            let history = try XCTUnwrap(out[0]["history"] as? [String: Any], name)
            XCTAssertFalse(history.isEmpty, name)
            for step in history.values {
                let s = step as? [String: Any]
                XCTAssertEqual((s?["usage"] as? [String: Any])?.isEmpty, false, "\(name): real usage counts")
            }
        }
    }
}
