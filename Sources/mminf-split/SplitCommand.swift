import ArgumentParser
import Foundation
import RecordCore
import ToolCLI
import Transforms

@main
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mminf-split",
        abstract: "One record -> many (explode), many -> one (join), shards and samples.",
        discussion: """
            Reads JSONL records from FILEs in order (stdin when none) and does one of:

              explode   --field F --into G [--by lines|paragraphs|items|regex|raw-lines] [--max-parts N]
                        one record per part of text field F, the part in G; children keep
                        every field of the parent (id too) plus "part": {"index", "count"}.
                        List markers (1. 2) - * •) are stripped; empty parts are skipped;
                        a record with more than N parts, or none, is dropped.
              join      --join KEY [--collect f1,f2]
                        consecutive records with the same KEY become one; each collected
                        field becomes an array. A group whose "part" says it had more
                        members than arrived is dropped (--incomplete keep keeps it).
              shards    --shards N [--key F | --contiguous] -o 'out-{shard}.jsonl.zst'
                        a stable hash of F picks the shard (same on every run and
                        machine); without --key, round robin; with --contiguous,
                        consecutive blocks (the shards concatenated in order are the input).
              sample    --sample N | --sample P% [--seed S]
                        exactly N records (reservoir), or each with probability P%.

            Examples:
              mminf-split --field questions --into instruction --max-parts 7
              mminf-split --field paragraphs --into paragraph --by lines
              mminf-split --join id --collect scores.correct,paragraph
              mminf-split --shards 16 --key id -o 'shards/part-{shard}.jsonl.zst'
              mminf-split --sample 1000 --seed 7
            """,
        version: ToolVersion.current
    )

    static func main() { ToolMain.main(SplitCommand.self) }

    @Argument(help: ArgumentHelp("Input files (stdin when none).", valueName: "FILE"))
    var files: [String] = []

    @Option(help: ArgumentHelp("Text field to explode into one record per part.", valueName: "FIELD"))
    var field: String?

    @Option(help: ArgumentHelp("Field that receives each part (default: the --field name).", valueName: "FIELD"))
    var into: String?

    @Option(
        help: ArgumentHelp(
            "How to cut: lines, paragraphs, items, regex or raw-lines (every \\n-separated piece, as is).",
            valueName: "MODE"))
    var by: SplitMode = .lines

    @Option(
        help: ArgumentHelp("With --by regex: each match is a part (its first group when it has one).", valueName: "RE"))
    var regex: String?

    @Option(help: ArgumentHelp("Drop a record that yields more than N parts.", valueName: "N"))
    var maxParts: Int?

    @Option(help: ArgumentHelp("Field for the part's index and count; 'none' leaves it out.", valueName: "FIELD"))
    var partField = "part"

    @Option(help: ArgumentHelp("Join consecutive records with the same value of KEY.", valueName: "KEY"))
    var join: String?

    @Option(help: ArgumentHelp("With --join: fields gathered into arrays.", valueName: "f1,f2"))
    var collect: String?

    @Option(
        help: ArgumentHelp("With --join: drop (default) or keep a group with parts missing.", valueName: "drop|keep"))
    var incomplete = "drop"

    @Option(help: ArgumentHelp("Write N shard files named by -o with {shard} in it.", valueName: "N"))
    var shards: Int?

    @Flag(
        help: ArgumentHelp(
            "With --shards: contiguous blocks of the input, so the shards concatenated in order are the input (reads FILEs twice; not stdin)."
        ))
    var contiguous = false

    @Option(help: ArgumentHelp("With --shards: the field whose hash picks the shard.", valueName: "FIELD"))
    var key: String?

    @Option(help: ArgumentHelp("Keep exactly N records, or P% of them.", valueName: "N | P%"))
    var sample: String?

    @Option(help: ArgumentHelp("Seed for --sample.", valueName: "S"))
    var seed: UInt64 = 0

    @OptionGroup var io: IOOptions
    @OptionGroup var statsOption: StatsOption

    mutating func validate() throws {
        let modes = [field != nil, join != nil, shards != nil, sample != nil].filter { $0 }.count
        if modes != 1 { throw ValidationError("choose one of --field (explode), --join, --shards or --sample") }
        if by == .regex && regex == nil { throw ValidationError("--by regex needs --regex RE") }
        if let maxParts, maxParts < 1 { throw ValidationError("--max-parts must be at least 1") }
        if contiguous && (shards == nil || key != nil || files.isEmpty || files.contains("-")) {
            throw ValidationError("--contiguous goes with --shards N, input FILEs (it counts them first) and no --key")
        }
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1") }
        if shards != nil && !(io.output ?? "").contains("{shard}") {
            throw ValidationError("--shards needs -o with {shard} in the name, e.g. -o 'part-{shard}.jsonl.zst'")
        }
        if !["drop", "keep"].contains(incomplete) { throw ValidationError("--incomplete takes drop or keep") }
    }

    mutating func run() throws {
        try ToolMain.run("mminf-split") {
            let partPath = partField == "none" ? nil : try FieldPath(parsing: partField)
            if let field {
                try explode(field: try FieldPath(parsing: field), partPath: partPath)
            } else if let join {
                let joiner = RecordJoiner(
                    key: try FieldPath(parsing: join), collect: try fieldList(collect),
                    partField: partPath, keepIncomplete: incomplete == "keep")
                try runJoin(joiner)
            } else if let shards {
                try runShards(shards, key: try key.map { try FieldPath(parsing: $0) })
            } else if let sample {
                try runSample(sample)
            }
        }
    }

    func explode(field: FieldPath, partPath: FieldPath?) throws {
        var re: Regex?
        if let regex {
            do { re = try Regex(regex) } catch let e as Regex.CompileError { throw ToolError.usage("--regex: \(e)") }
        }
        let exploder = RecordExploder(
            field: field, into: try into.map { try FieldPath(parsing: $0) } ?? field,
            partField: partPath, splitter: TextSplitter(mode: by, regex: re), maxParts: maxParts)
        try eachRecord { tool, line, record in
            if case .drop(let reason) = try exploder.explode(record, emit: { try tool.emit($0) }) {
                try tool.drop(line, reason: reason)
            }
        }
    }

    func runJoin(_ joiner: RecordJoiner) throws {
        func write(_ g: RecordJoiner.Group?, _ tool: RecordTool) throws {
            guard let g else { return }
            if let failure = g.failure {
                try tool.badGroup(g.record, source: g.source, line: g.line, reason: failure)
            } else if let reason = g.incomplete, !joiner.keepIncomplete {
                try tool.drop(record: g.record, source: g.source, line: g.line, reason: reason)
            } else {
                try tool.emit(g.record)
            }
        }
        try eachRecord(
            atEnd: { tool in try write(joiner.finish(), tool) },
            { tool, line, record in try write(try joiner.add(record, source: line.source, line: line.number), tool) })
    }

    func runShards(_ n: Int, key: FieldPath?) throws {
        var stdoutOptions = io  // -o is the file-name pattern here
        stdoutOptions.output = nil
        let tool = try RecordTool(name: "mminf-split", files: files, io: stdoutOptions, stats: statsOption.stats)
        try tool.process {
            if contiguous, let pipe = files.first(where: { !ShardWriter.isRegularFile($0) }) {
                throw ToolError(
                    "--contiguous reads its input twice (to count, then to cut), so \(pipe) must be a regular file, not a pipe or device",
                    status: .usage)
            }
            let total = contiguous ? try ShardWriter.countRecords(files) : nil
            try ShardWriter(count: n, key: key, blocksOf: total).run(
                $0, pattern: io.output!, zstd: io.zstd, level: io.level)
        }
    }

    func runSample(_ spec: String) throws {
        let tool = try RecordTool(name: "mminf-split", files: files, io: io, stats: statsOption.stats)
        try tool.process { try RecordSampler.run($0, spec: spec, seed: seed) }
    }

    /// Reads each line as a whole record, routing bad lines by --bad-lines.
    func eachRecord(
        atEnd: ((RecordTool) throws -> Void)? = nil,
        _ body: (RecordTool, InputLine, JSONValue) throws -> Void
    ) throws {
        let tool = try RecordTool(name: "mminf-split", files: files, io: io, stats: statsOption.stats)
        try tool.process { tool in
            try tool.eachLine { line in try body(tool, line, try parseRecord(line.bytes)) }
            try atEnd?(tool)
        }
    }
}

extension SplitMode: ExpressibleByArgument {}
