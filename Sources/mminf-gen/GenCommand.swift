import ArgumentParser
import Engine
import Foundation
import ModelCLI
import Prompts
import RecordCore
import Requests
import ToolCLI

@main
struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mminf-gen",
        abstract: "Call a chat-completions model once per JSONL record and write its answer into the record.",
        discussion: """
            Reads records from FILEs (stdin when none), renders --prompt per record
            ({field} placeholders, {{ }} for braces, --bind NAME=FIELD to rename),
            sends it to an OpenAI-compatible server (vLLM, SGLang, llama.cpp,
            OpenAI), and writes each record with the answer in --out and what was
            asked and said in history.<step>. Output keeps input order.

            Requests: --concurrency in flight over keep-alive connections; connection
            errors, timeouts, 408/429/5xx are retried with backoff (Retry-After is
            honoured); 400/401/403/404/422 fail the record at once. A record that
            fails goes to --failures with the reason, the run goes on, and the exit
            code is 1. With --cache, every answer is stored before its record is
            written: rerunning an interrupted run replays them and sends only the rest.

            The API key comes only from the environment: MMINF_API_KEY, OPENAI_API_KEY
            or the variable named by --api-key-env.

            Media: a record's image/images/video/videos (paths, http(s) or data: URLs)
            go before the text as content parts; local files are checked by their
            first bytes and sent as base64. --no-media leaves them out (text-only steps).

            Oasis: --truncate shows the model only the image in a user turn left open,
            so it writes what a user would ask: the candidate instruction (out:
            instruction; the raw text stays in history); --respond answers the
            record's {instruction} with its media (out: response). So this works:
              cat imgs.jsonl | mminf-gen --truncate | mminf-filter | mminf-gen --respond

            Examples:
              mminf-gen --truncate --base-url http://vl:8000/v1 --cache hook.sqlite < images.jsonl > hooks.jsonl
              mminf-gen --respond --base-url http://vl:8000/v1 < instructions.jsonl > answered.jsonl
              mminf-gen --base-url http://127.0.0.1:8000/v1 --prompt 'Describe: {caption}' --out description
              MMINF_BASE_URL=http://gpu1:8000/v1 mminf-gen --prompt-file q.txt -n 4 --temperature 1.0 --cache run.sqlite
              mminf-gen --check --base-url http://127.0.0.1:8000/v1
            """,
        version: ToolVersion.current
    )

    static func main() { ToolMain.main(GenCommand.self) }

    @Argument(help: ArgumentHelp("Input files (stdin when none).", valueName: "FILE"))
    var files: [String] = []

    @Option(help: ArgumentHelp("Prompt template with {field} placeholders.", valueName: "TEXT"))
    var prompt: String?

    @Option(help: ArgumentHelp("Read the prompt template from a file.", valueName: "FILE"))
    var promptFile: String?

    @Option(
        help: ArgumentHelp(
            "A built-in prompt (see --list-presets) or a preset file: its prompt, whether media go with it, its output field.",
            valueName: "NAME|FILE"))
    var preset: String?

    @Flag(help: "List the built-in presets.")
    var listPresets = false

    @Option(help: ArgumentHelp("Print a preset's file, to copy and edit.", valueName: "NAME"))
    var showPreset: String?

    @Option(help: ArgumentHelp("System message template.", valueName: "TEXT"))
    var system: String?

    @Option(help: ArgumentHelp("Placeholder {NAME} reads FIELD instead (repeatable).", valueName: "NAME=FIELD"))
    var bind: [String] = []

    @Option(
        help: ArgumentHelp(
            "Field that receives the answer (default: instruction with --truncate, else response).",
            valueName: "FIELD"))
    var out: String?

    @Option(
        help: ArgumentHelp(
            "Field for a reasoning model's thinking when the server returns it apart (reasoning_content).",
            valueName: "FIELD"))
    var reasoningOut: String?

    @Flag(help: "Join a reasoning model's separate thinking into the answer as <think>...</think>.")
    var thinkTags = false

    @Flag(help: "Send <image>/<video> tags in the prompt text as they are (they are removed by default).")
    var keepMediaTags = false

    @Flag(
        help:
            "The Oasis hook: the record's media in a user turn left open; the model writes the user's message. --prompt, if given, is a seed the message starts with."
    )
    var truncate = false

    @Flag(help: "Answer the record's instruction with its media: --prompt defaults to {instruction}.")
    var respond = false

    @Option(
        help: ArgumentHelp(
            "How --truncate keeps the turn open: chat (vLLM) or template (llama.cpp). Default: ask the server.",
            valueName: "ROUTE"))
    var hookVia: HookRoute?

    @Flag(help: "Forbid emoji and the chat template's special tokens (except the end of turn) in the answer.")
    var banSpecial = false

    @Option(
        help: ArgumentHelp(
            "Name of this step in history.<step> and messages (default: hook with --truncate, else the --out field).",
            valueName: "NAME"))
    var step: String?

    @Option(
        name: .short,
        help: ArgumentHelp("Samples per record: N records out per record in, each with \"sample\": i.", valueName: "N"))
    var n = 1

    @OptionGroup(title: "Media") var media: MediaOptions
    @OptionGroup(title: "Server") var server: ServerOptions
    @OptionGroup(title: "Sampling") var sampling: SamplingOptions
    @OptionGroup(title: "Requests") var engine: EngineOptionGroup
    @OptionGroup(title: "Input and output") var io: IOOptions

    mutating func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be at least 1") }
        if preset != nil && (prompt != nil || promptFile != nil) {
            throw ValidationError(
                "--preset gives the prompt; drop --prompt/--prompt-file, or copy the preset (--show-preset) and edit it"
            )
        }
        if truncate && respond { throw ValidationError("--truncate and --respond are two different steps; use one") }
        if hookVia != nil && !truncate { throw ValidationError("--hook-via goes with --truncate") }
    }

    mutating func run() throws {
        try ToolMain.run("mminf-gen") {
            if listPresets { return print(PromptLibrary.listing(.preset)) }
            if let name = showPreset { return print(try PromptLibrary.load(name, kind: .preset).text, terminator: "") }
            let presetFile = try preset.map { try PromptLibrary.load($0, kind: .preset) }
            let urls = try server.resolvedBaseURLs()
            let headers = try server.authHeaders()
            try server.checkIfAsked(urls, headers: headers)
            let binds = try PromptTemplate.parseBinds(bind)
            let outField = out ?? presetFile?.header["out"] ?? DefaultFields.genOut(truncate: truncate)
            var settings = try sampling.sampling()
            if let presetFile { try settings.fillDefaults(from: presetFile) }
            if truncate { settings.fillHookDefaults() }
            try settings.checkLengths()
            var plan = GenerationPlan(
                model: try ModelServer.resolveModel(server.namedModel, baseURL: urls[0], headers: headers),
                system: try system.map { try PromptTemplate($0, binds: binds, escapes: true, origin: "--system") },
                prompt: try PromptTemplate(
                    try presetFile?.template ?? promptText(), binds: binds, escapes: prompt != nil,
                    origin: presetFile?.origin ?? (promptFile ?? "--prompt")),
                sampling: settings, out: try FieldPath(parsing: outField),
                step: step ?? DefaultFields.genStep(truncate: truncate, out: outField))
            plan.samples = n
            plan.reasoningOut = try reasoningOut.map { try FieldPath(parsing: $0) }
            plan.thinkTags = thinkTags
            plan.keepMediaTags = keepMediaTags
            plan.history = !engine.noHistory
            plan.withCache = engine.cache != nil
            // A preset says whether its step looks at the media; --no-media always wins.
            let presetMedia = try presetFile?.sendsMedia() ?? true
            if presetMedia { plan.media = try media.loader() }
            if truncate { try plan.openUserTurn(route: hookVia, baseURLs: urls, headers: headers) }
            if banSpecial { try plan.banSpecialTokens(emoji: SpecialTokens.emoji, baseURL: urls[0], headers: headers) }
            let tool = try RecordTool(
                name: "mminf-gen", files: files, io: io, alsoWrites: engine.sideFiles(step: plan.step))
            let cache = try engine.openCache()
            try tool.process { tool in
                let runner = InferenceEngine(
                    tool: tool, servers: ServerPool(baseURLs: urls), cache: cache,
                    options: engine.engineOptions(step: plan.step, headers: headers))
                try runner.run(plan: plan.calls(for:position:), finish: plan.outputs(record:results:))
            }
        }
    }

    func promptText() throws -> String {
        if prompt == nil && promptFile == nil {
            if truncate { return "" }
            if respond { return "{instruction}" }
        }
        switch (prompt, promptFile) {
        case (let p?, nil): return p
        case (nil, let f?):
            let text = try TextFile.read(f, what: "--prompt-file \(f)")
            if PromptFile.hasHeader(text) {
                throw ToolError.usage(
                    "--prompt-file \(f) has a preset's header (key: value lines, then ---), which would be sent to the "
                        + "model; give it with --preset \(f)")
            }
            return text
        case (nil, nil):
            throw ToolError.usage(
                "no prompt: give --prompt TEXT, --prompt-file FILE or --preset NAME, or use --truncate or --respond")
        default: throw ToolError.usage("give either --prompt or --prompt-file, not both")
        }
    }
}

extension HookRoute: ExpressibleByArgument {}
