import Foundation

/// The sh target: one bash pipe, a comment per step. Rerunning it resumes:
/// the response cache replays every answer already received.
public enum ShellScriptTarget {
    public static func render(_ plan: PipelinePlan) -> String {
        let file = plan.file
        var out = """
            #!/usr/bin/env bash
            # Pipeline '\(file.name.value)', compiled by mminf-compile from \(PipelinePlan.comment(plan.source)).
            # Run it again to resume: the response cache replays the answers already received.
            # Needs the mminf tools on PATH. Each step's failed records go to \(PipelinePlan.comment(file.runDir.shell))/STEP.failed.jsonl.
            set -euo pipefail

            """
        if file.hasGlobInput { out += "shopt -s failglob  # an input pattern that matches nothing is an error\n" }
        out += environmentDefaults(file)
        out += "mkdir -p -- \(file.runDir.shell)\n\n"
        out += ModelServers.prologue(
            plan, models: ModelServers.used(by: plan.commands[...], in: plan), log: { plan.runFile("serve-\($0).log") })
        out += pipe(
            plan, plan.commands[...], inputs: file.inputs.map(\.value.shell), output: file.output?.value,
            cache: file.cache.value)
        if let output = file.output?.value, let report = plan.reportCommand(output: output) {
            out += "\n" + reportComment + "\n" + lines(report) + "\n"
        }
        return out
    }

    /// Steps as one pipe: the first reads `inputs` (stdin when empty), the last
    /// writes `output` (stdout when nil) under its staging name, renamed once
    /// every step succeeded. `shard` names a shard's failures files (Slurm).
    static func pipe(
        _ plan: PipelinePlan, _ commands: ArraySlice<StepCommand>, inputs: [String], output: ShellWord?,
        cache: ShellWord, shard: ShellWord.Part? = nil, servers: [Int: String] = [:]
    ) -> String {
        var out = ""
        for c in commands {
            out += plan.heading(c) + "\n"
            var command = c.command
            // A Slurm task's share of the model's servers, in place of all of them.
            if let k = c.modelIndex, let pick = servers[k], !c.step.options.contains(where: { $0.key == "base-url" }) {
                command = [c.program, pick] + c.words
            }
            var words =
                command + c.cacheWords(cache, in: plan.file) + c.failureWords(plan, shard: shard)
                + c.statsWords(plan, shard: shard)
            let last = c.number == commands.last?.number
            if last, let output { words.append(staged(output).shell(after: "--output=")) }
            // Files only: stdin is nothing (a script piped into bash must not be read as records).
            if c.number == commands.first?.number && !inputs.isEmpty { words += ["--"] + inputs + ["</dev/null"] }
            out += lines(words)
            // The last step's records are the output itself when there is one.
            if c.step.save && !(last && output != nil) {
                out += " |\ntee -- \(plan.runFile(c.fileStem, shard: shard, ".jsonl").shell)"
            }
            out += last ? "\n" : " |\n"
        }
        if let output {
            out +=
                "\n# Every step succeeded: the output takes its final name.\nmv -f -- \(staged(output).shell) \(output.shell)\n"
        }
        return out
    }

    static let reportComment =
        "# The run's report (mminf-report): its funnel from the steps' stats files, scores, lengths, a sample."

    /// Where the last step writes until every step of the pipe has succeeded, so
    /// that a step that failed (its failures over budget) leaves no complete-looking
    /// output: `NAME.incomplete.zst` beside `NAME.zst`, keeping the extension that
    /// picks compression. (PipelineFile refuses an output whose name ends in a variable.)
    static func staged(_ output: ShellWord) -> ShellWord {
        guard case .literal(let tail)? = output.parts.last else { preconditionFailure("output ends in a variable") }
        var parts = output.parts
        let ext = tail.hasSuffix(".zst") ? ".zst" : ""
        parts[parts.count - 1] = .literal(String(tail.dropLast(ext.count)) + ".incomplete" + ext)
        return ShellWord(parts)
    }

    /// The env: block: a default for each variable that is unset or empty; then a
    /// check of each variable a path needs, so an empty one never makes `/01-step...`.
    static func environmentDefaults(_ file: PipelineFile) -> String {
        var out = ""
        if !file.env.isEmpty {
            out += "# Defaults from the pipeline's env: block, for variables unset or empty.\n"
            for e in file.env {
                out +=
                    "if [ -z \"${\(e.name):-}\" ]; then \(e.name)=\(ShellWord.quote(e.value)); fi\nexport \(e.name)\n"
            }
        }
        for (name, key) in file.pathVariables {
            out += ": \"${\(name):?\(key) uses \(name), which is unset or empty}\"\n"
        }
        return out
    }

    /// A command over several lines: the program, then each option on its own line.
    static func lines(_ words: [String]) -> String {
        guard words.count > 2 else { return words.joined(separator: " ") }
        var out = words[0]
        var i = 1
        while i < words.count {
            // `--` and the files after it stay on one line.
            if words[i] == "--" {
                out += " \\\n  " + words[i...].joined(separator: " ")
                break
            }
            out += " \\\n  " + words[i]
            i += 1
        }
        return out
    }
}
