import ArgumentParser
import Foundation
import RecordCore
import ToolCLI
import Transforms

@main
struct FilterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mminf-filter",
        abstract: "Keep, extract, de-duplicate, reshape and export JSONL records. No model.",
        discussion: """
            Reads JSONL records from FILEs in order (stdin when none, or '-'; zstd is
            detected by its magic bytes) and writes the records that pass to stdout.
            A record the tool does not change is copied byte for byte.

            Each record goes through, in this order:
              --number    give a record without the field its position in the input (000000000007)
              --extract   keep it only if --regex matches the field; store group 1 --into a field
              --where     keep it only if every expression holds (a positional EXPR is one more)
              --unique    keep only the first record with each value of a field
              --set       write field=TEMPLATE ({field} placeholders, \\n for a newline)
              --keep/--drop   keep only / remove fields
              --format    export as a sharegpt, llava or openai conversation record

            Expressions (docs/filter.md):
              scores.solvability >= 3 && scores.hallucination == 5
              !(extracted ~ /^NO_INST/) && len(instruction) > 10
              all(scores.correct) && exists(caption)

            Examples:
              mminf-filter 'scores.clarity >= 3' scored.jsonl.zst > kept.jsonl
              mminf-filter --extract extracted --regex '^Instruction:\\s*([\\s\\S]+?)\\s*$' --into instruction
              mminf-filter --number id < dataset.json > numbered.jsonl
              mminf-filter --set data_source=oasis --format sharegpt -o data.jsonl.zst

            The first positional argument is the expression unless it is '-', names an
            existing file, or ends in .jsonl/.json/.ndjson/.zst; all others are input files,
            and so is every argument after '--'.
            Exit codes: 0 ok, 64 bad usage/expression, 65 bad input line, 66 missing
            input, 73/74 output failure (docs/exit-codes.md).
            """,
        version: ToolVersion.current
    )

    static func main() { ToolMain.main(FilterCommand.self) }

    @Argument(help: ArgumentHelp("An expression records must satisfy, then the input files.", valueName: "EXPR | FILE"))
    var arguments: [String] = []

    @Option(
        name: .customLong("where"),
        help: ArgumentHelp("Keep records where EXPR holds (repeatable; all must hold).", valueName: "EXPR"))
    var wheres: [String] = []

    @Option(
        help: ArgumentHelp(
            "Field to match --regex against; records where it does not match are dropped.", valueName: "FIELD"))
    var extract: String?

    @Option(
        help: ArgumentHelp(
            "PCRE regex for --extract; its first group (else the whole match) is stored.", valueName: "RE"))
    var regex: String?

    @Option(help: ArgumentHelp("Field that receives the --extract capture.", valueName: "FIELD"))
    var into: String?

    @Option(
        help: ArgumentHelp(
            "Keep only the first record with each value of FIELD (hashes, bounded memory).", valueName: "FIELD"))
    var unique: String?

    @Option(
        help: ArgumentHelp(
            "Give a record without FIELD its position in the input (from 0), zero-padded (see --number-width).",
            valueName: "FIELD"))
    var number: String?

    @Option(help: ArgumentHelp("Digits of --number, as text (0: a plain number).", valueName: "N"))
    var numberWidth = 12

    @Option(help: ArgumentHelp("Keep only these fields (with --format: extra fields to carry).", valueName: "f1,f2"))
    var keep: String?

    @Option(help: ArgumentHelp("Remove these fields.", valueName: "f1,f2"))
    var drop: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp("Set FIELD to a text template (repeatable).", valueName: "FIELD=TEMPLATE"))
    var sets: [String] = []

    @Option(help: ArgumentHelp("Export as a conversation record: sharegpt, llava or openai.", valueName: "FORMAT"))
    var format: ConversationFormat?

    @Option(help: ArgumentHelp("Instruction field for --format.", valueName: "FIELD"))
    var instructionField = "instruction"

    @Option(help: ArgumentHelp("Response field for --format.", valueName: "FIELD"))
    var responseField = "response"

    @Option(help: ArgumentHelp("Id field for --format.", valueName: "FIELD"))
    var idField = "id"

    @Option(help: ArgumentHelp("System-prompt field for --format (omitted when absent).", valueName: "FIELD"))
    var systemField: String?

    @OptionGroup var io: IOOptions
    @OptionGroup var statsOption: StatsOption

    mutating func run() throws {
        try ToolMain.run("mminf-filter") {
            var files = arguments
            var expressions = wheres
            if let first = files.first, !FilterCommand.allAfterDoubleDash(files.count),
                FilterCommand.looksLikeExpression(first)
            {
                expressions.append(first)
                files.removeFirst()
            }
            let plan = try makePlan(expressions)
            let filter = RecordFilter(plan: plan)
            let tool = try RecordTool(name: "mminf-filter", files: files, io: io, stats: statsOption.stats)
            try tool.process { tool in
                try tool.eachLine { line in
                    switch try filter.apply(line.bytes, position: tool.summary.recordsIn - 1) {
                    case .keepLine: try tool.emit(line)
                    case .write(let bytes): try tool.emit(bytes)
                    case .drop(let reason): try tool.drop(line, reason: reason)
                    }
                }
            }
        }
    }

    /// Whether every positional argument came after `--`: then all are files, as the
    /// compiled pipelines pass them, so a missing file is never read as an expression.
    static func allAfterDoubleDash(_ positionals: Int) -> Bool {
        let argv = CommandLine.arguments
        guard let dash = argv.firstIndex(of: "--") else { return false }
        return argv.count - dash - 1 == positionals
    }

    static func looksLikeExpression(_ arg: String) -> Bool {
        if arg == "-" || FileManager.default.fileExists(atPath: arg) { return false }
        return ![".jsonl", ".json", ".ndjson", ".zst"].contains { arg.hasSuffix($0) }
    }

    func makePlan(_ expressions: [String]) throws -> FilterPlan {
        var plan = FilterPlan()
        plan.wheres = try expressions.map { text in
            do { return try Expression(text) } catch let e as ExpressionError { throw ToolError.usage(e.description) }
        }
        if extract != nil || regex != nil || into != nil {
            guard let extract, let regex, let into else {
                throw ToolError.usage(
                    "--extract, --regex and --into go together (e.g. --extract extracted --regex '^Instruction:\\s*([\\s\\S]+?)\\s*$' --into instruction)"
                )
            }
            let re: Regex
            do { re = try Regex(regex) } catch let e as Regex.CompileError { throw ToolError.usage("--regex: \(e)") }
            plan.extract = (try FieldPath(parsing: extract), re, try FieldPath(parsing: into))
        }
        plan.unique = try unique.map { try FieldPath(parsing: $0) }
        plan.number = try number.map { try FieldPath(parsing: $0) }
        guard (0...40).contains(numberWidth) else { throw ToolError.usage("--number-width must be 0 to 40") }
        plan.numberWidth = numberWidth
        plan.sets = try sets.map { s in
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                throw ToolError.usage("--set takes FIELD=TEMPLATE, got '\(s)'")
            }
            let template: Template
            do { template = try Template(String(s[s.index(after: eq)...]), escapes: true) } catch let e
                as Template.ParseError
            {
                throw ToolError.usage("--set \(s[..<eq]): \(e)")
            }
            return (try FieldPath(parsing: String(s[..<eq])), template)
        }
        plan.keep = try fieldList(keep)
        plan.drop = try fieldList(drop)
        plan.format = format
        if format != nil {
            plan.formatFields = ConversationFormat.Fields(
                instruction: try FieldPath(parsing: instructionField), response: try FieldPath(parsing: responseField),
                id: try FieldPath(parsing: idField), system: try systemField.map { try FieldPath(parsing: $0) })
        }
        return plan
    }
}

extension ConversationFormat: ExpressibleByArgument {}
