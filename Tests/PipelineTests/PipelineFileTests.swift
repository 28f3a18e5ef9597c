import Pipeline
import RecordCore
import XCTest

/// Option tables shaped as the tools' own (the end-to-end tests use the real ones).
let tables: [String: ToolOptionTable] = {
    typealias O = ToolOptionTable.Option
    func opt(_ n: String, repeating: Bool = false, value: String = "TEXT") -> O {
        O(name: n, isFlag: false, isRepeating: repeating, valueName: value)
    }
    func flag(_ n: String) -> O { O(name: n, isFlag: true, isRepeating: false, valueName: nil) }
    let model = [
        opt("base-url", repeating: true), opt("model"), opt("api-key-env"), opt("temperature"), opt("max-tokens"),
        opt("top-k"), opt("cache"), opt("failures"), opt("max-failures"), opt("extra", value: "JSON"),
        opt("bind", repeating: true), opt("output"), flag("check"), flag("no-media"), opt("concurrency"),
    ]
    return [
        "gen": ToolOptionTable(
            tool: "gen",
            options: model + [
                opt("prompt"), opt("preset"), opt("out"), flag("truncate"), flag("respond"), opt("system"),
            ]),
        "score": ToolOptionTable(tool: "score", options: model + [opt("rubric", repeating: true), opt("as")]),
        "filter": ToolOptionTable(
            tool: "filter",
            options: [
                opt("where", repeating: true), opt("extract"), opt("regex"), opt("into"), opt("set", repeating: true),
                opt("unique"), opt("number"), opt("keep"), opt("drop"), opt("format"), opt("output"), opt("rejected"),
            ]),
        "split": ToolOptionTable(
            tool: "split",
            options: [
                opt("field"), opt("into"), opt("join"), opt("collect"), opt("sample"), opt("shards"),
                flag("contiguous"),
                opt("output"),
            ]),
    ]
}()

func plan(_ text: String) throws -> PipelinePlan {
    let root = try YAMLDocument.parse(Array(text.utf8), file: "p.yaml")
    return try PipelinePlan(file: try PipelineFile(root: root, file: "p.yaml", tables: tables), tables: tables)
}

final class PipelineFileTests: XCTestCase {
    let head =
        "pipeline: t\ninput: in.jsonl\nmodels:\n  llm: {base_url: 'http://h:1/v1', model: m, temperature: 0.5}\nsteps:\n"

    func error(_ steps: String, head: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try plan((head ?? self.head) + steps)
            XCTFail("compiled without an error", file: file, line: line)
        } catch let e as PipelineError {
            XCTAssertEqual(e.status, .usage, file: file, line: line)
            return e.description
        } catch { XCTFail("\(error)", file: file, line: line) }
        return ""
    }

    func testUnknownToolAndOptionSuggestTheNearest() {
        XCTAssertEqual(
            error("  - a: {gne: {out: x}}\n"),
            "p.yaml:6:9: step 'a': unknown tool or key 'gne' (did you mean 'gen'?); a step names one of gen, score, filter, split (and may add save:, max_failures:)"
        )
        XCTAssertEqual(
            error("  - a: {filter: {wher: 'x > 1'}}\n"),
            "p.yaml:6:18: filter: unknown option 'wher' (did you mean 'where'?); mminf-filter --help lists its options")
        XCTAssertTrue(error("  - a: {gen: {qqqqqqq: 1}}\n").contains("unknown option 'qqqqqqq'; mminf-gen --help"))
    }

    func testWrongTypes() {
        XCTAssertEqual(
            error("  - a: {gen: {truncate: yes please}}\n"),
            "p.yaml:6:25: gen: truncate is a flag: write true or false, not a value")
        XCTAssertEqual(error("  - a: {gen: {out: [a, b]}}\n"), "p.yaml:6:20: gen: out takes one value, not a list")
        XCTAssertEqual(error("  - a: {gen: {out: {a: b}}}\n"), "p.yaml:6:20: gen: out takes one value, not a mapping")
        XCTAssertTrue(error("  - a: {gen: {out: }}\n").contains("gen: out needs a value"))
        XCTAssertTrue(error("  - a: {gen: {bind: [[x]]}}\n").contains("bind takes a list of values, not a list"))
    }

    func testUnknownModelDuplicateStepAndMissingKeys() {
        XCTAssertEqual(
            error("  - a: {gen: {model: lmm}}\n"),
            "p.yaml:6:22: unknown model 'lmm' (did you mean 'llm'?); the pipeline's models are llm")
        XCTAssertEqual(
            error("  - a: {gen: {out: x}}\n  - a: {gen: {out: y}}\n"),
            "p.yaml:7:5: duplicate step name 'a' (first at line 6); step names name files, so each is unique")
        XCTAssertEqual(
            error("", head: "pipeline: t\nsteps:\n  - a: {gen: {out: x}}\n"),
            "p.yaml:1:1: no 'input:'; name the records to read, e.g. 'input: images.jsonl' (or a glob, or a list)")
        XCTAssertTrue(error("", head: "input: x\nsteps: []\n").contains("no 'pipeline:' name"))
        // The staging name of a failed run needs the output's extension.
        XCTAssertEqual(
            error("  - a: {gen: {out: x}}\n", head: "pipeline: t\ninput: in.jsonl\noutput: ${OUT}\nsteps:\n"),
            "p.yaml:3:9: output: the name ends in a variable, so its extension (.jsonl or .jsonl.zst) and staging "
                + "name are unknown; end it with the file name, as in ${DIR}/out.jsonl.zst")
        XCTAssertNoThrow(
            try plan(
                "pipeline: t\ninput: in.jsonl\noutput: ${DIR}/o.jsonl.zst\nsteps:\n  - a: {filter: {where: 'true'}}\n"))
        XCTAssertTrue(error("  - a: {gen: {output: x}}\n").contains("'output' is set by the compiler"))
        XCTAssertTrue(error("  - a: {gen: {out: x}, sav: true}\n").contains("(did you mean 'save'?)"))
        XCTAssertTrue(error("  - a: {filter: {where: x}, max_failures: 2}\n").contains("filter calls no model"))
        XCTAssertTrue(error("  - a: {gen: {out: x}, max_failures: 5 percent}\n").contains("--max-failures 5 percent"))
        XCTAssertTrue(error("  - a: {split: {shards: 4}}\n").contains("shard a whole pipeline with mminf-compile"))
        XCTAssertTrue(
            error("  - a: {filter: {where: x}}\n", head: "pipeline: t\ninput: i\nmodles: {}\nsteps:\n")
                .contains("unknown key 'modles' (did you mean 'models'?)"))
        XCTAssertTrue(
            error(
                "  - a: {gen: {model: llm}}\n", head: head.replacingOccurrences(of: "temperature", with: "temprature")
            )
            .contains("unknown setting 'temprature' (did you mean 'temperature'?)"))
    }

    func testExpansionsAreCheckedWithTheirColumn() {
        XCTAssertEqual(
            error("  - a: {gen: {prompt: 'x ${1} y'}}\n"),
            "p.yaml:6:23: '${1}' is not an expansion mminf knows: write ${NAME} or ${NAME:-default} (NAME of letters, digits, _), or $${ for a literal ${ (at character 3 of the value)"
        )
        XCTAssertTrue(error("  - a: {gen: {prompt: 'x ${A'}}\n").contains("never closes"))
        XCTAssertTrue(
            error("  - a: {gen: {prompt: '${A:-$(id)}'}}\n").contains("the default of ${A} holds '$'"))
    }

    func testStepCommandWords() throws {
        let p = try plan(
            head + """
                  - a: {gen: {model: llm, prompt: "Q: {topic}", max_tokens: 9, extra: {top_k: 2, ids: [1, x]}}}
                  - b: {gen: {model: llm, truncate: true, prompt: ''}, max_failures: 3}
                  - c: {filter: {where: ['-x > 1', "y == 'it'"], set: ['k=${HOME}', 'l=$${HOME}']}}
                """)
        XCTAssertEqual(p.commands[0].serverWords, ["--base-url=http://h:1/v1"])
        XCTAssertEqual(
            p.commands[0].words,
            [
                "--model=m", "--temperature=0.5", "'--prompt=Q: {topic}'", "--max-tokens=9",
                #"'--extra={"top_k":2,"ids":[1,"x"]}'"#, "--max-failures=1%",
            ])
        // The hook keeps its own sampling: no defaults added. An empty prompt is two words.
        XCTAssertEqual(
            p.commands[1].words,
            [
                "--model=m", "--temperature=0.5", "--truncate", "--prompt ''",
                "--max-failures=3",
            ])
        XCTAssertEqual(
            p.commands[2].words,
            [#"'--where=-x > 1'"#, #"'--where=y == '\''it'\'''"#, #"--set=k="${HOME}""#, "$'--set=l=${HOME}'"])
    }

    func testReferenceSamplingIsWrittenOut() throws {
        let p = try plan("pipeline: t\ninput: i\nsteps:\n  - a: {score: {rubric: [x, y]}}\n")
        XCTAssertEqual(
            p.commands[0].words,
            ["--rubric=x", "--rubric=y", "--temperature=0", "--max-tokens=1024", "--max-failures=1%"])
        // The target adds the pipeline's cache (or a shard's own) and the failures file.
        XCTAssertEqual(p.commands[0].cacheWords(p.file.cache.value, in: p.file), ["--cache=.mminf/t.sqlite"])
        XCTAssertEqual(p.commands[0].failureWords(p, shard: .literal("3")), ["--failures=out/t/a.shard-3.failed.jsonl"])
    }

    func testStepsThatNeedEveryRecordRunAfterTheMerge() throws {
        let p = try plan(
            head + """
                  - a: {split: {field: t, into: u}}
                  - b: {split: {join: id}}
                  - c: {filter: {unique: u}}
                  - d: {gen: {model: llm}}
                """)
        XCTAssertNil(p.needsAllRecords(0))
        // Even after an explode: two input records with one id may straddle a shard's edge.
        XCTAssertEqual(p.needsAllRecords(1), "split join meets the records of a key wherever the shards' edges fall")
        XCTAssertEqual(p.needsAllRecords(2), "filter unique compares every record")
        XCTAssertEqual(p.shardableCount, 1)
        let own = try plan(head + "  - a: {filter: {where: x, rejected: r.jsonl}}\n")
        XCTAssertThrowsError(try own.checkShardable(slurm: false)) { e in
            XCTAssertTrue("\(e)".contains("step 'a' sets rejected, a file every shard would write at once"), "\(e)")
        }
        let q = try plan(head + "  - a: {split: {join: id}}\n  - b: {gen: {model: llm}}\n")
        XCTAssertEqual(q.shardableCount, 0)
        XCTAssertThrowsError(try MakefileTarget.render(q, shards: 2)) { e in
            XCTAssertTrue("\(e)".contains("the first step 'a' needs every record"), "\(e)")
        }
    }

    func testEnvMayNotSetWhatControlsShellMakeOrLoader() {
        for name in ["BASH_ENV", "LD_PRELOAD", "https_proxy", "MAKEFLAGS", "PATH", "SLURM_JOB_ID", "mminf_port_0"] {
            XCTAssertTrue(
                error("  - a: {filter: {where: x}}\n", head: "pipeline: t\ninput: i\nenv: {\(name): x}\nsteps:\n")
                    .contains("env: \(name) changes how the shell"), name)
        }
        XCTAssertTrue(
            error("  - a: {filter: {where: x}}\n", head: "pipeline: t\ninput: i\noutput: /dev/stdout\nsteps:\n")
                .contains("leave output out to write to stdout"))
    }

    func testATooLongInputRuleNamesTheInputAndWhatToDo() throws {
        let files = (0..<3000).map { "  - f\($0)_\(String(repeating: "x", count: 40)).jsonl\n" }.joined()
        let p = try plan("pipeline: t\ninput:\n\(files)steps:\n  - a: {filter: {where: x}}\n")
        XCTAssertThrowsError(try MakefileTarget.render(p, shards: 2)) { e in
            XCTAssertTrue("\(e)".hasPrefix("p.yaml:3:5: --make: the rule for "), "\(e)")
            XCTAssertTrue("\(e)".hasSuffix("name the input files with a glob (data/*.jsonl)"), "\(e)")
        }
    }

    func testMakePathsAreCheckedSignBySign() throws {
        let p = try plan("pipeline: t\ninput: \"in\u{600};./evil\"\nsteps:\n  - a: {filter: {where: x}}\n")
        XCTAssertThrowsError(try MakefileTarget.render(p)) { e in
            XCTAssertTrue("\(e)".contains("holds ';', which make cannot use in a file name"), "\(e)")
        }
    }

    func testMakeRefusesPathsMakeCannotName() throws {
        let p = try plan("pipeline: t\ninput: 'my data.jsonl'\nsteps:\n  - a: {filter: {where: x}}\n")
        XCTAssertThrowsError(try MakefileTarget.render(p)) { e in
            XCTAssertEqual(
                "\(e)",
                "p.yaml:2:8: --make: input 'my data.jsonl' holds ' ', which make cannot use in a file name; compile without --make (the sh target takes any path) or rename it"
            )
        }
        XCTAssertNoThrow(ShellScriptTarget.render(p), "the sh target takes it")
    }
}
