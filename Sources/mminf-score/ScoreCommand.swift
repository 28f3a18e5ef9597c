import ArgumentParser
import Engine
import Foundation
import ModelCLI
import Prompts
import RecordCore
import Requests
import ToolCLI

@main
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mminf-score",
        abstract: "Judge JSONL records with an LLM or VLM: one score per rubric into scores.<name>.",
        discussion: """
            Each --rubric (a built-in name or a rubric file) renders its prompt from the
            record, sends it (with the record's media when the rubric says so), reads
            the judge's answer, and writes scores.<name>: a number (1-5 [[N]], 1-10,
            【7分】...), true/false for yes/no and correct/incorrect rubrics, or null when
            the answer cannot be read (the raw judgement stays in history.score_<name>).
            All rubrics of one record are sent together; the record is written when all
            are in. Requests, retries, cache, failures and progress work as in mminf-gen.

            Built-in rubrics: --list-rubrics; print one to copy and edit: --show-rubric NAME.

            Examples:
              mminf-score --rubric solvability --rubric hallucination --rubric clarity   (a VLM)
              mminf-score --rubric nonsense --no-media                                    (an LLM)
              mminf-score --rubric correct --bind text=paragraph
              mminf-score --rubric match-zh --bind instruction=new_instruction --bind response=new_response --as match_after
              mminf-score --reparse --rubric solvability < scored.jsonl      (no model: re-read the stored judgements)
            """,
        version: ToolVersion.current
    )

    static func main() { ToolMain.main(ScoreCommand.self) }

    @Argument(help: ArgumentHelp("Input files (stdin when none).", valueName: "FILE"))
    var files: [String] = []

    @Option(help: ArgumentHelp("Rubric name or file (repeatable).", valueName: "NAME|FILE"))
    var rubric: [String] = []

    @Option(help: ArgumentHelp("Placeholder {NAME} reads FIELD instead (repeatable).", valueName: "NAME=FIELD"))
    var bind: [String] = []

    @Option(
        name: .customLong("as"),
        help: ArgumentHelp("Write the score as scores.NAME (one rubric only).", valueName: "NAME"))
    var asName: String?

    @Flag(help: "List the built-in rubrics.")
    var listRubrics = false

    @Option(help: ArgumentHelp("Print a rubric's file, to copy and edit.", valueName: "NAME"))
    var showRubric: String?

    @Flag(help: "Re-read scores from history.score_<name> without calling a model.")
    var reparse = false

    @OptionGroup(title: "Media (for rubrics that look at the image)") var media: MediaOptions
    @OptionGroup(title: "Server") var server: ServerOptions
    @OptionGroup(title: "Sampling") var sampling: SamplingOptions
    @OptionGroup(title: "Requests") var engine: EngineOptionGroup
    @OptionGroup(title: "Input and output") var io: IOOptions

    mutating func validate() throws {
        if !listRubrics && showRubric == nil && rubric.isEmpty {
            throw ValidationError("name at least one --rubric (see --list-rubrics)")
        }
        if let twice = Dictionary(grouping: rubric, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw ValidationError("--rubric \(twice) is given twice; each rubric is one score")
        }
        if asName != nil && rubric.count != 1 {
            throw ValidationError("--as renames the score of one rubric; give exactly one --rubric")
        }
    }

    mutating func run() throws {
        try ToolMain.run("mminf-score") {
            if listRubrics { return print(PromptLibrary.listing(.rubric)) }
            if let name = showRubric { return print(try PromptLibrary.load(name, kind: .rubric).text, terminator: "") }
            let binds = try PromptTemplate.parseBinds(bind)
            let settings = try sampling.sampling()
            let needsServer = !reparse
            let urls = needsServer ? try server.resolvedBaseURLs() : []
            let headers = try server.authHeaders()
            if needsServer { try server.checkIfAsked(urls, headers: headers) }
            let model =
                needsServer ? try ModelServer.resolveModel(server.namedModel, baseURL: urls[0], headers: headers) : ""
            let loader = try media.loader()
            var plan = ScoringPlan(
                judges: try rubric.map { spec in
                    let r: Rubric
                    do { r = try Rubric(try PromptLibrary.load(spec, kind: .rubric)) } catch let e
                        as PromptFile.FormatError
                    { throw ToolError.usage(e.description) }
                    let name = asName ?? r.name
                    var judging = settings
                    try judging.fillDefaults(from: r.file)
                    judging.temperature = judging.temperature ?? 0  // judges answer greedily unless told otherwise
                    try judging.checkLengths()
                    var request = GenerationPlan(
                        model: model, system: nil,
                        prompt: try PromptTemplate(r.file.template, binds: binds, origin: r.file.origin),
                        sampling: judging, out: ScoringPlan.scorePath(name), step: "score_" + name)
                    request.media = r.sendsMedia ? loader : nil
                    request.withCache = engine.cache != nil
                    return ScoringPlan.Judge(rubric: r, name: name, request: request)
                })
            let names = plan.judges.map(\.name)
            if let twice = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
                throw ToolError.usage("two rubrics would both write scores.\(twice); rename one with its file's name")
            }
            plan.history = !engine.noHistory
            // The step is named after its rubrics: its failures file and messages say which judging failed,
            // and two scoring steps of one pipe never write the same default file.
            let step = reparse ? "score_reparse" : "score_" + plan.judges.map(\.name).joined(separator: "+")
            let tool = try RecordTool(
                name: "mminf-score", files: files, io: io, alsoWrites: engine.sideFiles(step: step))
            if reparse {
                return try plan.reparseAll(
                    tool, failuresPath: engine.failures ?? "\(step).failed.jsonl", statsPath: engine.stats,
                    maxFailures: try engine.failureBudget())
            }
            let cache = try engine.openCache()
            try tool.process { tool in
                let runner = InferenceEngine(
                    tool: tool, servers: ServerPool(baseURLs: urls), cache: cache,
                    options: engine.engineOptions(step: step, headers: headers))
                try runner.run(plan: plan.calls(for:position:), finish: plan.outputs(record:results:))
            }
        }
    }
}
