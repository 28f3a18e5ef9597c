import ArgumentParser
import Foundation
import RecordCore
import Report
import ToolCLI

@main
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mminf-report",
        abstract: "A self-contained HTML report of records and their run.",
        discussion: """
            Reads JSONL records (.zst, .json arrays too) in one streaming pass and writes
            one HTML file that opens offline in any browser: the funnel of the run's
            steps (from their --stats files, else from history), a histogram per score
            with --threshold marks, text lengths, tokens and latency per step (p50, p95,
            p99 from history), the language mix, a duplicate rate, and a seeded sample
            of records with image thumbnails beside the conversation, scores and
            history. Records without a field asked for count as missing.

            Examples:
              mminf-report out/oasis.jsonl.zst -o report.html
              mminf-report --stats out/oasis/*.stats.json --threshold 'scores.clarity >= 3' data.jsonl -o r.html
              mminf-report --json data.jsonl
              mminf-report --compare before.jsonl after.jsonl --stats b1.json --stats-b a1.json -o compare.html
            """,
        version: ToolVersion.current
    )

    static func main() { ToolMain.main(ReportCommand.self) }

    @Argument(help: ArgumentHelp("Record files (stdin when none); with --compare, exactly two.", valueName: "FILE"))
    var files: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the report to FILE instead of stdout.", valueName: "FILE"))
    var output: String?

    @Option(help: ArgumentHelp("A step's --stats file, for the funnel (repeatable, in step order).", valueName: "FILE"))
    var stats: [String] = []

    @Option(
        help: ArgumentHelp("With --compare: a --stats file of the second run (repeatable).", valueName: "FILE"))
    var statsB: [String] = []

    @Option(help: ArgumentHelp("Mark a score's histogram, e.g. 'scores.clarity >= 3' (repeatable).", valueName: "EXPR"))
    var threshold: [String] = []

    @Option(
        help: ArgumentHelp("Text fields whose lengths are shown (default instruction,response).", valueName: "f1,f2"))
    var fields = "instruction,response"

    @Option(
        help: ArgumentHelp("Field whose duplicate rate is shown (default: the first of --fields).", valueName: "FIELD"))
    var duplicates: String?

    @Option(help: ArgumentHelp("Records in the sample.", valueName: "N")) var sample = 20
    @Option(help: ArgumentHelp("Seed of the sample.", valueName: "S")) var seed: UInt64 = 0

    @Option(
        help: ArgumentHelp("Folder relative image paths start from; no image outside it is read.", valueName: "DIR"))
    var mediaRoot: String?

    @Flag(help: "Link images by their path instead of embedding thumbnails.")
    var linkImages = false

    @Flag(help: "Write the figures as JSON instead of HTML.")
    var json = false

    @Flag(help: "Show two runs side by side: the two FILEs.")
    var compare = false

    func validate() throws {
        if compare && files.count != 2 { throw ValidationError("--compare takes exactly two FILEs, before and after") }
        if !statsB.isEmpty && !compare {
            throw ValidationError("--stats-b goes with --compare (the second run's stats)")
        }
        guard (0...10_000).contains(sample) else { throw ValidationError("--sample must be from 0 to 10000") }
        for f in fields.split(separator: ",") + (duplicates.map { [Substring($0)] } ?? []) {
            do { _ = try FieldPath(parsing: f.trimmingCharacters(in: .whitespaces)) } catch {
                throw ValidationError("--fields/--duplicates '\(f)': \(error)")
            }
        }
        for t in threshold {
            do { _ = try ScoreThreshold(parsing: t) } catch let e as ToolError { throw ValidationError(e.message) }
        }
    }

    mutating func run() throws {
        try ToolMain.run("mminf-report") {
            SignalWatch.install()
            var settings = ReportFigures.Settings()
            settings.textFields = fields.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            settings.duplicateField = duplicates
            settings.sampleSize = sample
            settings.seed = seed
            settings.thresholds = try threshold.map { try ScoreThreshold(parsing: $0) }
            var runs: [(label: String, figures: ReportFigures)] = []
            for (k, group) in (compare ? files.map { [$0] } : [files]).enumerated() {
                let figures = ReportFigures(settings: settings)
                try figures.read(group)
                for s in k == 0 ? stats : statsB { try figures.addStats(path: s) }
                var label = group.isEmpty ? "stdin" : group.joined(separator: ", ")
                if runs.contains(where: { $0.label == label }) { label += " (2)" }  // one name per run in --json
                runs.append((label, figures))
            }
            var text: String
            if json {
                text =
                    runs.count == 1
                    ? JSONWriter.string(runs[0].figures.json())
                    : JSONWriter.string(.object(JSONObject(runs.map { ($0.label, $0.figures.json()) })))
                text += "\n"
            } else {
                var html = ReportHTML(runs: runs)
                html.thresholds = try threshold.map { try ScoreThreshold(parsing: $0) }
                html.mediaRoot = mediaRoot
                html.linkImages = linkImages
                text = html.render()
            }
            // Staged and renamed like every output; stdout when no -o.
            let sink = try OutputSink.open(output)
            try Array(text.utf8).withUnsafeBufferPointer { try sink.write($0) }
            try sink.publish()
        }
    }
}
