import ArgumentParser
import Foundation
import Pipeline
import RecordCore
import ToolCLI

@main
struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mminf-compile",
        abstract: "Compile a pipeline YAML file into a bash pipe or a Makefile.",
        discussion: """
            A pipeline file names its input, output, response cache, models and an
            ordered list of steps, each one mminf tool with its long options
            (docs/pipeline.md has every key). Every value is quoted for the shell:
            ${NAME} and ${NAME:-default} are the only expansions, so no prompt, name
            or path can run a command or be read as an option.

              sh      (default) one pipe, set -euo pipefail, a comment per step;
                      rerun it to resume (the response cache replays answers)
              make    --make: one rule per step writing out/PIPELINE/NN-STEP.jsonl.zst
                      atomically; --shards N cuts the input into N blocks that
                      run as N chains under make -j N and merge in input order
              slurm   --slurm --shards N -o DIR: DIR/submit.sh submits a job array
                      (one task per shard) and a merge job; run it again to
                      resubmit only the shards that did not finish
              explain --explain: the steps, their models, and the fields each
                      reads and writes; warns when a step reads a field that
                      nothing before it writes

            Examples:
              mminf-compile examples/oasis.yaml | bash
              mminf-compile examples/oasis.yaml -o oasis.sh && ./oasis.sh
              mminf-compile --make --shards 4 examples/oasis.yaml -o Makefile && make -j 4
              mminf-compile --slurm --shards 16 examples/oasis.yaml -o slurm/ && slurm/submit.sh
              mminf-compile --explain examples/oasis.yaml

            Options are checked against the tools themselves (each mminf tool beside
            this one, or on PATH). Exit codes: 0 ok, 64 a pipeline that names an
            unknown tool, option, model or key (file:line:column), 65 a file that is
            not YAML or UTF-8, 66 a missing file, 69 a tool not found, 73/74 output.
            """,
        version: ToolVersion.current
    )

    static func main() { ToolMain.main(CompileCommand.self) }

    @Argument(help: ArgumentHelp("The pipeline file.", valueName: "FILE"))
    var file: String

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("Write the script to FILE (made executable) instead of stdout.", valueName: "FILE"))
    var output: String?

    @Flag(help: "Compile to a Makefile instead of a bash script.")
    var make = false

    @Option(help: ArgumentHelp("With --make: run the input as N contiguous shards (make -j N).", valueName: "N"))
    var shards: Int?

    @Flag(help: "Compile to Slurm job scripts (submit.sh, task.sh, merge.sh) in the folder -o names; needs --shards.")
    var slurm = false

    @Option(help: ArgumentHelp("With --slurm: the partition (overrides slurm: partition).", valueName: "NAME"))
    var partition: String?

    @Option(help: ArgumentHelp("With --slurm: each task's time limit, e.g. 24:00:00.", valueName: "TIME"))
    var time: String?

    @Option(help: ArgumentHelp("With --slurm: CPUs per task.", valueName: "N"))
    var cpusPerTask: String?

    @Option(help: ArgumentHelp("With --slurm: memory per task, e.g. 32G.", valueName: "MEM"))
    var mem: String?

    @Option(help: ArgumentHelp("With --slurm: generic resources per task, e.g. gpu:1.", valueName: "GRES"))
    var gres: String?

    @Option(help: ArgumentHelp("With --slurm: how many shards may run at once (the array's %K).", valueName: "K"))
    var throttle: String?

    @Flag(help: "Print the steps, their models and the fields they read and write, with warnings.")
    var explain = false

    @Option(
        help: ArgumentHelp(
            "With --explain: take the input's fields from the first record of FILE.", valueName: "FILE"))
    var sampleInput: String?

    var slurmOverrides: [String: String] {
        var o: [String: String] = [:]
        for (k, v) in [
            ("partition", partition), ("time", time), ("cpus-per-task", cpusPerTask), ("mem", mem), ("gres", gres),
            ("throttle", throttle),
        ] {
            if let v { o[k] = v }
        }
        return o
    }

    func validate() throws {
        if !slurm && !slurmOverrides.isEmpty {
            throw ValidationError("--partition, --time, --cpus-per-task, --mem, --gres and --throttle go with --slurm")
        }
        for (k, v) in slurmOverrides {
            if let problem = PipelineFile.checkSlurmValue(k, v) { throw ValidationError("--" + problem) }
        }
        if slurm {
            guard !make && !explain else { throw ValidationError("choose one of --slurm, --make, --explain") }
            if let shards, shards > 1000 {
                throw ValidationError(
                    "--slurm --shards \(shards): a Slurm job array holds at most 1000 tasks by default (MaxArraySize 1001); use at most 1000 shards"
                )
            }
            guard shards != nil, output != nil else {
                throw ValidationError(
                    "--slurm needs --shards N and -o DIR (the folder for submit.sh, task.sh, merge.sh)")
            }
        }
        if let shards {
            guard make || slurm else {
                throw ValidationError("--shards goes with --make or --slurm (the sh target is one pipe)")
            }
            guard (1...4096).contains(shards) else { throw ValidationError("--shards must be from 1 to 4096") }
        }
        if sampleInput != nil && !explain { throw ValidationError("--sample-input goes with --explain") }
        if explain && make { throw ValidationError("choose --explain or --make") }
    }

    mutating func run() throws {
        try ToolMain.run("mminf-compile") {
            let me = ProcessInfo.processInfo.arguments.first.flatMap { _ in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            }
            var tables: [String: ToolOptionTable] = [:]
            for tool in ToolOptionTable.tools { tables[tool] = try ToolOptionTable.load(tool: tool, besides: me) }
            let plan = try PipelinePlan(path: file, tables: tables)
            let text: String
            if slurm, let shards, let output {
                let scripts = try SlurmTarget.render(
                    plan, shards: shards, settings: plan.file.slurm.merging(slurmOverrides) { $1 })
                try ScriptFile.writeFolder(
                    output, ["submit.sh": scripts.submit, "task.sh": scripts.task, "merge.sh": scripts.merge],
                    source: file)
                return
            }
            if explain {
                text = try PipelineExplanation(plan: plan, sampleInput: sampleInput).render()
            } else if make {
                text = try MakefileTarget.render(plan, shards: shards)
            } else {
                text = ShellScriptTarget.render(plan)
            }
            try write(text)
        }
    }

    func write(_ text: String) throws {
        guard let output else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        try ScriptFile.write(text, to: output, source: file)
    }
}
