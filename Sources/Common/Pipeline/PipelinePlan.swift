import Foundation
import RecordCore

/// A checked pipeline and its steps as commands: what every target (sh, make)
/// renders. It knows which steps need every record at once and so cannot run
/// on one shard.
public struct PipelinePlan {
    public let file: PipelineFile
    public let commands: [StepCommand]
    /// The path the plan was read from, as given (for the script's header).
    public let source: String
    /// Each tool's options as the tool describes them (defaults included).
    public let tables: [String: ToolOptionTable]

    public init(path: String, tables: [String: ToolOptionTable]) throws {
        try self.init(file: try PipelineFile(path: path, tables: tables), tables: tables)
    }

    public init(file: PipelineFile, tables: [String: ToolOptionTable]) throws {
        self.file = file
        self.tables = tables
        source = file.file
        var commands: [StepCommand] = []
        for (i, step) in file.steps.enumerated() {
            guard let table = tables[step.tool] else {
                throw PipelineError(file.file, step.toolMark, "no option table for mminf-\(step.tool)")
            }
            if step.tool == "split", let s = step.options.first(where: { ["shards", "contiguous"].contains($0.key) }) {
                throw PipelineError(
                    file.file, s.node.mark,
                    "split: --\(s.key) writes shard files, not records for the next step; shard a whole pipeline with mminf-compile --make --shards N"
                )
            }
            commands.append(try StepCommand(step, number: i + 1, in: file, table: table))
        }
        self.commands = commands
    }

    /// Why a step needs every record of the run at once (so it runs after a
    /// sharded run's merge), or nil when it can run on each shard alone.
    public func needsAllRecords(_ index: Int) -> String? {
        let c = commands[index]
        switch c.step.tool {
        case "filter" where c.sets("unique", in: file):
            return "filter unique compares every record"
        case "filter" where c.sets("number", in: file):
            return "filter number counts every record"
        case "split" where c.sets("sample", in: file):
            return "split sample draws from every record"
        case "split" where c.sets("join", in: file):
            // Even after an explode, two input records with one key may sit on both sides of a shard's edge.
            return "split join meets the records of a key wherever the shards' edges fall"
        default:
            return nil
        }
    }

    /// The steps that run on each shard: those before the first that needs every record.
    public var shardableCount: Int {
        commands.indices.first { needsAllRecords($0) != nil } ?? commands.count
    }

    /// Refuses what a sharded run (make or Slurm) cannot do: read stdin, or have
    /// every shard write one file a step names itself.
    /// The steps that run per shard, after checking a sharded run can run at all.
    public func shardedSteps(slurm: Bool) throws -> Int {
        try checkShardable(slurm: slurm)
        guard shardableCount > 0 else {
            throw PipelineError(
                file.file, commands[0].step.mark,
                "\(slurm ? "--slurm" : "--shards"): the first step '\(commands[0].step.name)' needs every record (\(needsAllRecords(0) ?? "")), so nothing would run per shard; compile without shards"
            )
        }
        return shardableCount
    }

    public func checkShardable(slurm: Bool) throws {
        if let dash = file.inputs.first(where: { $0.value.literalText == "-" }) {
            throw PipelineError(
                file.file, dash.mark, "input: - (stdin) cannot be cut into shards; name the input files")
        }
        let own = ["failures", "stats", "rejected"] + (slurm ? ["cache"] : [])
        for c in commands[..<shardableCount] {
            if let o = c.step.options.first(where: { own.contains($0.key) }) {
                throw PipelineError(
                    file.file, o.node.mark,
                    "step '\(c.step.name)' sets \(o.key), a file every shard would write at once; leave it out (failures go to run_dir/STEP.shard-K.failed.jsonl\(slurm ? ", caches to one file per shard" : ""))"
                )
            }
        }
    }

    /// `mminf-report` over the output, its funnel from the steps' stats files (the
    /// shards' files of a step are summed); nil when the file says `report: false`.
    public func reportCommand(output: ShellWord, shards: [String]? = nil) -> [String]? {
        guard file.report else { return nil }
        var words = ["mminf-report"]
        for (i, c) in commands.enumerated() {
            if let own = c.step.options.first(where: { $0.key == "stats" })?.node, let text = own.scalar,
                let w = try? ShellWord.parse(text, file: file.file, at: own.mark)
            {
                words.append(w.shell(after: "--stats="))  // the step's own stats file
            } else if let shards, i < shardableCount {
                words += shards.map { runFile(c.fileStem, shard: .literal($0), ".stats.json").shell(after: "--stats=") }
            } else {
                words += c.statsWords(self)
            }
        }
        return words + [runFile("report.html").shell(after: "--output="), "--", output.shell]
    }

    /// `mminf-split` cutting the input into N contiguous shard files (inputs follow).
    /// Bad lines are routed as the first step would: skipped ones to the run's reject file.
    public func splitCommand(shards n: Int) -> [String] {
        var words = ["mminf-split", "-q", "--shards=\(n)", "--contiguous"]
        if commands[0].step.options.first(where: { $0.key == "bad-lines" })?.node.scalar == "skip" {
            words += ["--bad-lines=skip", runFile("00-input.rejected.jsonl").shell(after: "--rejected=")]
        }
        return words + [runFile("00-input.shard-{shard}.jsonl.zst").shell(after: "--output="), "--"]
    }

    /// A file of the run's folder: `<run_dir>/<name>`.
    public func runFile(_ name: String) -> ShellWord {
        ShellWord(file.runDir.parts + [.literal("/" + name)])
    }

    /// `<run_dir>/<base>.shard-<shard><ext>`, or `<run_dir>/<base><ext>` unsharded. The
    /// shard is a literal (make) or the task's shell variable (Slurm).
    public func runFile(_ base: String, shard: ShellWord.Part?, _ ext: String) -> ShellWord {
        guard let shard else { return runFile(base + ext) }
        return ShellWord(file.runDir.parts + [.literal("/\(base).shard-"), shard, .literal(ext)])
    }

    /// Text safe in a `#` comment of a script or Makefile: no line breaks,
    /// control characters or backslashes (make continues a comment after one).
    public static func comment(_ s: String) -> String {
        String(
            String.UnicodeScalarView(
                s.unicodeScalars.map {
                    $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" || $0 == "\u{2028}" || $0 == "\u{2029}" ? "?" : $0
                }))
    }

    /// `# 2. extract: mminf-gen, model llm` (and what it saves).
    public func heading(_ c: StepCommand) -> String {
        var s = "# \(c.number). \(c.step.name): \(c.program)"
        if let m = c.model { s += ", model \(Self.comment(m))" }
        return s
    }
}
