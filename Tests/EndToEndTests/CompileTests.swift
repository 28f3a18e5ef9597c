import Foundation
import TestSupport
import XCTest

/// mminf-compile as a person uses it: option names from the tools themselves,
/// one-line errors with file:line:column, --explain, -o.
final class CompileTests: ToolTestCase {
    func compile(_ args: [String]) throws -> ToolRun { try Tools.run("mminf-compile", args, cwd: dir) }

    /// Each tool's long options, as the tool itself describes them.
    func options(of tool: String) throws -> [(name: String, flag: Bool, repeating: Bool, value: String?)] {
        let dump = try Tools.run("mminf-\(tool)", ["--experimental-dump-help"])
        XCTAssertEqual(dump.status, 0)
        let json = try JSONSerialization.jsonObject(with: dump.stdout) as? [String: Any]
        let args = (json?["command"] as? [String: Any])?["arguments"] as? [[String: Any]] ?? []
        return args.compactMap { a in
            guard a["kind"] as? String != "positional",
                let long = (a["names"] as? [[String: Any]])?.first(where: { $0["kind"] as? String == "long" })?["name"]
                    as? String
            else { return nil }
            return (long, a["kind"] as? String == "flag", a["isRepeating"] as? Bool ?? false, a["valueName"] as? String)
        }
    }

    /// Every option every tool has today compiles into its command: a compiler with its
    /// own copy of the option lists would fail here as soon as a tool gained one.
    func testEveryOptionOfEveryToolIsKnown() throws {
        let reserved: Set = [
            "output", "help", "version", "list-presets", "show-preset", "list-rubrics", "show-rubric", "check",
        ]
        var total = 0
        for tool in ["gen", "score", "filter", "split"] {
            let opts = try options(of: tool).filter { !reserved.contains($0.name) }
            XCTAssertGreaterThan(opts.count, 5, tool)
            var steps = ""
            for (i, o) in opts.enumerated() where !(tool == "split" && ["shards", "contiguous"].contains(o.name)) {
                let value = o.flag ? "true" : o.repeating ? "[v1, v2]" : "v"
                steps += "  - s\(i): {\(tool): {\(o.name.replacingOccurrences(of: "-", with: "_")): \(value)}}\n"
            }
            // `model:` names a model of the pipeline, whose own `model:` is the option.
            try write("all-\(tool).yaml", "pipeline: p\ninput: in.jsonl\nmodels: {v: {model: v}}\nsteps:\n" + steps)
            let r = try compile(["all-\(tool).yaml"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.isEmpty, r.stderr)
            for o in opts where !(tool == "split" && ["shards", "contiguous"].contains(o.name)) {
                let expected = o.flag ? "--\(o.name)" : "--\(o.name)=v"
                XCTAssertTrue(r.out.contains(expected), "mminf-\(tool) \(expected) missing from the compiled script")
                total += 1
            }
        }
        XCTAssertGreaterThan(total, 80)
    }

    func testBadFilesGiveOneLineAndRunNothing() throws {
        let cases: [(String, [UInt8], Int32, String)] = [
            ("syntax.yaml", Array("pipeline: p\nsteps: [a\n".utf8), 65, "syntax.yaml:3:1: YAML:"),
            ("tab.yaml", Array("pipeline: p\nsteps:\n\t- a: {}\n".utf8), 65, "tab.yaml:3:1: YAML: found character"),
            ("dup.yaml", Array("pipeline: p\npipeline: q\n".utf8), 65, "dup.yaml:2:1: duplicate key 'pipeline'"),
            ("latin1.yaml", Array("pipeline: caf".utf8) + [0xE9], 65, "latin1.yaml:1:14: the file is not UTF-8"),
            (
                "tool.yaml", Array("pipeline: p\ninput: i\nsteps:\n  - a: {fliter: {}}\n".utf8), 64,
                "tool.yaml:4:9: step 'a': unknown tool or key 'fliter' (did you mean 'filter'?)"
            ),
            (
                "opt.yaml", Array("pipeline: p\ninput: i\nsteps:\n  - a: {gen: {temprature: 1}}\n".utf8), 64,
                "opt.yaml:4:15: gen: unknown option 'temprature' (did you mean 'temperature'?)"
            ),
        ]
        for (name, bytes, status, message) in cases {
            try Data(bytes).write(to: dir.appendingPathComponent(name))
            let r = try compile([name, "-o", "out.sh"])
            XCTAssertEqual(r.status, status, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("mminf-compile: error: \(message)"), "\(name): \(r.stderr)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.sh")), "nothing written for \(name)")
        }
        try Data(repeating: 0x20, count: 10 << 20).write(to: dir.appendingPathComponent("big.yaml"))
        let big = try compile(["big.yaml"])
        XCTAssertEqual(big.status, 65)
        XCTAssertTrue(big.stderr.contains("big.yaml:1:1: the file is larger than 1 MB"), big.stderr)
        let missing = try compile(["nothing.yaml"])
        XCTAssertEqual(missing.status, 66, missing.stderr)
        let shards = try compile(["--shards", "2", "big.yaml"])
        XCTAssertEqual(shards.status, 64)
        XCTAssertTrue(shards.stderr.contains("--shards goes with --make"), shards.stderr)
    }

    func testOutputFileIsExecutableAndNeverThePipelineItself() throws {
        try write("p.yaml", "pipeline: p\ninput: in.jsonl\nsteps:\n  - a: {filter: {where: 'n > 1'}}\n")
        XCTAssertEqual(try compile(["p.yaml", "-o", "p.sh"]).status, 0)
        let mode = try FileManager.default.attributesOfItem(atPath: path("p.sh"))[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o755)
        XCTAssertTrue(try read("p.sh").hasPrefix("#!/usr/bin/env bash\n"))
        let same = try compile(["p.yaml", "-o", "p.yaml"])
        XCTAssertEqual(same.status, 64)
        XCTAssertTrue(same.stderr.contains("-o p.yaml is the pipeline file itself"), same.stderr)
        XCTAssertTrue(try read("p.yaml").hasPrefix("pipeline: p"), "the pipeline file is untouched")
        try write("in.jsonl", "{\"n\": 1}\n{\"n\": 2}\n")
        let run = try Tools.shell("./p.sh", in: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.lines, [#"{"n": 2}"#])
    }

    func testExplainListsFieldsAndWarnsAboutUnwrittenOnes() throws {
        try write(
            "p.yaml",
            """
            pipeline: p
            input: in.jsonl
            input_fields: [id, image]
            models:
              vl: {base_url: 'http://h:1/v1', model: Qwen2-VL}
            steps:
              - hook: {gen: {model: vl, truncate: true}}
              - extract: {gen: {model: vl, preset: extract-instruction}}
              - keep: {filter: {extract: extracted, regex: 'I: (.*)', into: instruction}}
              - judge: {score: {model: vl, rubric: [clarity]}}
              - typo: {filter: {where: 'scores.clarty >= 3 && len(instrucion) > 0'}}
              - export: {filter: {format: sharegpt}}
            """)
        let r = try compile(["--explain", "p.yaml"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.out.contains("1. hook: mminf-gen, model vl (Qwen2-VL)\n"), r.out)
        XCTAssertTrue(r.out.contains("   writes  instruction, history.hook\n"), r.out)
        XCTAssertTrue(r.out.contains("   reads   instruction\n   writes  extracted, history.extracted"), r.out)
        XCTAssertTrue(r.out.contains("   writes  scores.clarity, history.score_clarity"), r.out)
        XCTAssertTrue(
            r.out.contains(
                "p.yaml:11:5: warning: step 5 'typo' reads 'scores.clarty', which neither the input nor an earlier step writes"
            ), r.out)
        XCTAssertTrue(r.out.contains("reads 'instrucion'"), r.out)
        XCTAssertFalse(r.out.contains("reads 'scores.clarity'"), "a field written earlier is no warning")
        XCTAssertTrue(
            r.out.contains("p.yaml:12:5: warning: step 6 'export' reads 'response'"), "no step wrote a response")
        XCTAssertFalse(r.out.contains("reads 'instruction'"), "keep wrote the instruction")
        // Option defaults come from the tools themselves (--experimental-dump-help).
        try write(
            "d.yaml",
            """
            pipeline: d
            input: in.jsonl
            input_fields: [id, text, response]
            steps:
              - cut: {split: {field: text, by: items, into: instruction}}
              - out: {filter: {format: sharegpt}}
            """)
        let d = try compile(["--explain", "d.yaml"])
        XCTAssertTrue(d.out.contains("   writes  instruction, part\n"), d.out)
        XCTAssertTrue(d.out.contains("   reads   instruction, response\n"), d.out)
        // The input's fields from a sample record instead.
        try write("sample.jsonl", #"{"id": 1, "image": "a.png", "instrucion": "x"}"# + "\n")
        let sampled = try compile(["--explain", "--sample-input", "sample.jsonl", "p.yaml"])
        XCTAssertFalse(sampled.out.contains("reads 'instrucion'"), sampled.out)
        XCTAssertTrue(sampled.out.contains("(fields: id, image, instrucion)"), sampled.out)
    }
}

extension CompileTests {
    func testPathVariablesMustBeSetAndDevicesAreWrittenThrough() throws {
        try write(
            "p.yaml", "pipeline: p\ninput: in.jsonl\nrun_dir: '${RUN}/x'\nsteps:\n  - a: {filter: {where: 'n > 1'}}\n")
        try write("in.jsonl", "{\"n\": 2}\n")
        XCTAssertEqual(try compile(["p.yaml", "-o", "p.sh"]).status, 0)
        let r = try Tools.shell("RUN= ./p.sh", in: dir)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("run_dir uses RUN, which is unset or empty"), r.stderr)
        XCTAssertEqual(try compile(["--make", "p.yaml", "-o", "Makefile"]).status, 0)
        let m = try Tools.shell("RUN= make -s", in: dir)
        XCTAssertNotEqual(m.status, 0)
        XCTAssertTrue(m.stderr.contains("run_dir uses RUN, which is unset or empty"), m.stderr)
        // -o to a device writes through it, never renaming over it.
        let through = try Tools.shell("mminf-compile p.yaml -o /dev/stdout | head -1; test -L /dev/stdout", in: dir)
        XCTAssertEqual(through.status, 0, through.stderr)
        XCTAssertEqual(through.out, "#!/usr/bin/env bash\n")
    }
}
