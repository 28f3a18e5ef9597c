import Foundation
import RecordCore
import Transforms

/// The make target: one rule per step, each writing its step's file through
/// the tool's own atomic output (a temporary name, then rename), so an
/// interrupted `make` starts again at the step that broke while the response
/// cache resumes inside it. With shards, the input is cut into N contiguous
/// blocks, N chains run under `make -j N`, and their outputs are concatenated
/// in shard order: the records and order of the unsharded run.
public enum MakefileTarget {
    public static func render(_ plan: PipelinePlan, shards: Int? = nil) throws -> String {
        let file = plan.file
        let m = MakeWords(file: file.file)
        let runDir = try m.path(file.runDir, at: file.runDirMark, what: "run_dir")
        var rules: [String] = []
        var inputs = try file.inputs.map { try m.path($0.value, at: $0.mark, what: "input") }
        var inputWords = file.inputs.map(\.value.shell)
        let output = try file.output.map { try m.path($0.value, at: $0.mark, what: "output") }
        let sharded = shards.map { min($0, 1_000_000) }
        var firstUnsharded = 0

        if let n = sharded, n > 1 {
            let count = try plan.shardedSteps(slurm: false)
            let names = shardNames(n)
            // The stamp names N: a run compiled for another N cuts the input again.
            let stamp = "00-input.shards-\(n)"
            rules.append(
                try rule(
                    "# 0. input, cut into \(n) contiguous blocks (concatenated in order they are the input)",
                    target: "\(runDir)/\(stamp)", prerequisites: inputs + ["$(MMINF_MAKEFILE)"],
                    recipe: [
                        ShellScriptTarget.lines(plan.splitCommand(shards: n) + inputWords + ["</dev/null"]),
                        "touch -- \(plan.runFile(stamp).shell)",
                    ], in: plan))
            var previous = names.map {
                (make: "\(runDir)/\(stamp)", shell: plan.runFile("00-input.shard-\($0).jsonl.zst").shell)
            }
            for c in plan.commands[..<count] {
                var next: [(make: String, shell: String)] = []
                for (k, name) in names.enumerated() {
                    let stepFile = "\(c.fileStem).shard-\(name).jsonl.zst"
                    let words =
                        c.command + c.cacheWords(SlurmTarget.shardCache(file.cache.value, .literal(name)), in: file)
                        + c.failureWords(plan, shard: .literal(name)) + c.statsWords(plan, shard: .literal(name))
                        + [plan.runFile(stepFile).shell(after: "--output="), "--", previous[k].shell, "</dev/null"]
                    rules.append(
                        try rule(
                            plan.heading(c) + " (shard \(name) of \(n))", target: "\(runDir)/\(stepFile)",
                            prerequisites: [previous[k].make], recipe: [ShellScriptTarget.lines(words)], step: c,
                            in: plan))
                    next.append(("\(runDir)/\(stepFile)", plan.runFile(stepFile).shell))
                }
                previous = next
            }
            // The merge: the last sharded step's shard files, in shard order.
            let last = plan.commands[count - 1]
            let mergedIsOutput = count == plan.commands.count && output != nil
            let merged = "\(last.fileStem).jsonl.zst"
            let target = mergedIsOutput ? output! : "\(runDir)/\(merged)"
            let outWord = mergedIsOutput ? file.output!.value.shell : plan.runFile(merged).shell
            rules.append(
                try rule(
                    "# merge: the \(n) shards of step \(last.number) in shard order", target: target,
                    prerequisites: previous.map(\.make),
                    recipe: [
                        ShellScriptTarget.lines(
                            ["mminf-filter", "-q", "--where=true", "--output=" + outWord, "--"]
                                + previous.map(\.shell) + ["</dev/null"])
                    ], in: plan))
            inputs = [target]
            inputWords = [outWord]
            firstUnsharded = count
        }

        for c in plan.commands[firstUnsharded...] {
            let isLast = c.number == plan.commands.count
            let target: String
            let outWord: String
            if isLast, let output, let o = file.output {
                target = output
                outWord = o.value.shell
            } else {
                let name = "\(c.fileStem).jsonl.zst"
                target = "\(runDir)/\(name)"
                outWord = plan.runFile(name).shell
            }
            var why = ""
            if sharded != nil, let reason = plan.needsAllRecords(c.number - 1) { why = " (after the merge: \(reason))" }
            let words =
                c.command + c.cacheWords(file.cache.value, in: file) + c.failureWords(plan) + c.statsWords(plan)
                + ["--output=" + outWord, "--"] + inputWords + ["</dev/null"]
            // The first rule depends on the Makefile: a recompiled pipeline runs again (the cache replays).
            let extra = c.number == 1 ? ["$(MMINF_MAKEFILE)"] : []
            rules.append(
                try rule(
                    plan.heading(c) + why, target: target, prerequisites: inputs + extra,
                    recipe: [ShellScriptTarget.lines(words)], step: c, in: plan))
            inputs = [target]
            inputWords = [outWord]
        }

        var finals = [inputs[0]]
        if let o = file.output, let output,
            let report = plan.reportCommand(
                output: o.value, shards: sharded.flatMap { n in n > 1 ? shardNames(n) : nil })
        {
            let target = "\(runDir)/report.html"
            rules.append(
                try rule(
                    ShellScriptTarget.reportComment, target: target, prerequisites: [output],
                    recipe: [ShellScriptTarget.lines(report + ["</dev/null"])], in: plan))
            finals.append(target)
        }
        var out = """
            # Pipeline '\(file.name.value)', compiled by mminf-compile --make\(sharded.map { " --shards \($0)" } ?? "") from \(PipelinePlan.comment(plan.source)).
            # make\(sharded.map { " -j \($0)" } ?? "") runs it; run make again after an interruption: finished steps are kept,
            # and the response cache replays the answers the broken step already received.
            # make clean removes the step files and the output (not the cache). Needs the mminf tools on PATH.
            SHELL := /bin/bash
            .SHELLFLAGS := \(file.hasGlobInput ? "-O failglob " : "")-euo pipefail -c
            .DELETE_ON_ERROR:
            .SUFFIXES:
            MMINF_MAKEFILE := $(firstword $(MAKEFILE_LIST))

            """
        out += try environmentDefaults(file)
        let served = ModelServers.used(by: plan.commands[...], in: plan)
        if served.isEmpty {
            out += "\n.PHONY: all clean\nall: \(finals.joined(separator: " "))\n\n"
        } else {
            // `make` starts the servers once, then a sub-make runs every step (and shard) against them.
            let prologue = ModelServers.prologue(plan, models: served, log: { plan.runFile("serve-\($0).log") })
            out += "\n.ONESHELL:\n.PHONY: all clean mminf-steps\n"
            // make -n shows the steps without starting a server; an up-to-date run starts none.
            out += "ifneq (,$(findstring n,$(firstword -$(MAKEFLAGS))))\nall: mminf-steps\nelse\n"
            out += "# Start the pipeline's model servers, run the steps against them, stop them.\nall:\n"
            out += "\tif $(MAKE) -q -f $(MMINF_MAKEFILE) \(finals.joined(separator: " ")); then exit 0; fi\n"
            out += "\tmkdir -p -- \(file.runDir.shell.makeRecipe)\n"
            for line in prologue.makeRecipe.split(separator: "\n") { out += "\t\(line)\n" }
            out += "\t$(MAKE) -f $(MMINF_MAKEFILE) mminf-steps\nendif\n\n"
            out += "mminf-steps: \(finals.joined(separator: " "))\n\n"
        }
        out += rules.joined(separator: "\n")
        let cleanFiles = [file.runDir.shell] + (file.output.map { [$0.value.shell] } ?? [])
        out += "\nclean:\n\trm -rf -- \(cleanFiles.joined(separator: " ").makeRecipe)\n"
        return out
    }

    /// `0`...`N-1`, zero-padded as mminf-split names its shard files.
    static func shardNames(_ n: Int) -> [String] { (0..<n).map { ShardWriter.number($0, of: n) } }

    /// make hands a recipe to `bash -c` as one argument, which Linux caps at 128 KB.
    static let maxRecipeBytes = 120_000

    static func rule(
        _ comment: String, target: String, prerequisites: [String], recipe: [String], step: StepCommand? = nil,
        in plan: PipelinePlan
    ) throws -> String {
        let size = recipe.reduce(0) { $0 + $1.makeRecipe.utf8.count }
        if size > maxRecipeBytes {
            throw PipelineError(
                // A rule of no step (the input's split, the merge, the report) points at input:.
                plan.file.file, step?.step.mark ?? plan.file.inputs.first?.mark,
                "--make: \(step.map { "step '\($0.step.name)'" } ?? "the rule for \(target)") is \(size / 1000) KB, more than the 128 KB make may pass to the shell at once; compile without --make (the sh target takes it), or \(step == nil ? "name the input files with a glob (data/*.jsonl)" : "move the long text into a file (prompt_file:)")"
            )
        }
        var r = "\(comment)\n\(target): \(prerequisites.joined(separator: " "))\n"
        for line in recipe {
            r +=
                line.makeRecipe.split(separator: "\n", omittingEmptySubsequences: false).map { "\t" + $0 }.joined(
                    separator: "\n") + "\n"
        }
        return r
    }

    /// The env: block: make variables (exported to every recipe) for those unset or empty.
    static func environmentDefaults(_ file: PipelineFile) throws -> String {
        var out = ""
        var checks = ""
        for (name, key) in file.pathVariables {
            checks += "ifeq ($(\(name)),)\n$(error \(key) uses \(name), which is unset or empty)\nendif\n"
        }
        guard !file.env.isEmpty else { return checks }
        out += "# Defaults from the pipeline's env: block, for variables unset or empty.\n"
        for e in file.env {
            if e.value.unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\\" })
                || e.value.first?.isWhitespace == true
            {
                throw PipelineError(
                    file.file, e.mark,
                    "--make: env \(e.name) starts with a space or holds a backslash, a line break or a control character, which a Makefile cannot state as is; set it in the environment instead"
                )
            }
            let v = e.value.replacingScalar("$", with: "$$").replacingScalar("#", with: "\\#")
            out += "ifeq ($(\(e.name)),)\nexport \(e.name) := \(v)\nendif\n"
        }
        return out + checks
    }
}

extension String {
    /// A shell line inside a recipe: make expands `$`, so each is doubled.
    var makeRecipe: String { replacingScalar("$", with: "$$") }
}

/// Paths as make must see them in rule lines: no spaces, colons, `#`, `%`,
/// `=`, quotes or other characters make reads as syntax.
struct MakeWords {
    let file: String
    static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+,@-")

    func path(_ w: ShellWord, at mark: SourceMark, what: String) throws -> String {
        var out = ""
        var glob = false
        func check(_ s: String, comma: Bool) throws {
            // Scalar by scalar: a Character may join `;` or a space to a combining mark.
            if let bad = s.unicodeScalars.first(where: {
                $0.isASCII && !MakeWords.safe.contains(Character($0)) || (!comma && $0 == ",")
            }) {
                throw PipelineError(
                    file, mark,
                    "--make: \(what) '\(s)' holds '\(bad)', which make cannot use in a file name; compile without --make (the sh target takes any path) or rename it"
                )
            }
        }
        for p in w.parts {
            switch p {
            case .literal(let s):
                try check(s, comma: true)
                out += s
            case .glob(let s):
                glob = true
                out += s
            case .variable(let n, let f):
                if let f {
                    try check(f, comma: false)
                    out += "$(or $(\(n)),\(f))"
                } else {
                    out += "$(\(n))"
                }
            }
        }
        if out.isEmpty { throw PipelineError(file, mark, "--make: \(what) is empty") }
        return glob ? "$(wildcard \(out))" : out
    }
}
