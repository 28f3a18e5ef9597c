import Foundation
import RecordCore

/// One step as the command a person would type: the tool and its options,
/// each a single shell word in `--name=value` form (a value can never be read
/// as another option). The input, output and failures file are added by the
/// target (sh or make), which knows where records flow.
public struct StepCommand {
    public let step: PipelineFile.Step
    /// From 1, in file order.
    public let number: Int
    public var program: String { "mminf-\(step.tool)" }
    /// The rendered options, in order: the model's, the step's, then the compiler's defaults.
    public let words: [String]
    /// The `--base-url` words (the model's or the step's), apart so that a target
    /// can point them elsewhere (a Slurm task's share of the servers).
    public let serverWords: [String]
    public let model: String?
    /// The model's index in the pipeline's models (names its port and server variables).
    public let modelIndex: Int?
    public var callsModel: Bool { step.tool == "gen" || step.tool == "score" }

    /// The reference's sampling for every model step but the hook, written out so a run
    /// never depends on a server's own defaults.
    public static let defaultSampling = [("temperature", "0"), ("max-tokens", "1024")]

    public init(_ step: PipelineFile.Step, number: Int, in pipeline: PipelineFile, table: ToolOptionTable) throws {
        self.step = step
        self.number = number
        let file = pipeline.file
        var settings: [(key: String, node: YAMLNode)] = []
        var modelName: String?
        var index: Int?
        var serverWords: [String] = []
        if let ref = step.options.first(where: { $0.key == "model" }), let name = ref.node.scalar,
            let i = pipeline.models.firstIndex(where: { $0.name == name })
        {
            let model = pipeline.models[i]
            modelName = name
            index = i
            if model.serve != nil && !step.options.contains(where: { $0.key == "base-url" }) {
                // The server the pipeline starts for this model, on the port its script picked.
                serverWords.append(Self.servedURL(i).shell(after: "--base-url="))
            }
            for s in model.settings where !step.options.contains(where: { $0.key == s.key && s.key != "model" }) {
                guard let opt = table.options[s.key], !ToolOptionTable.reserved.contains(s.key) else {
                    throw PipelineError(
                        file, s.node.mark,
                        "model '\(name)': '\(s.key)' is not an option of mminf-\(step.tool) (step '\(step.name)')")
                }
                try PipelineFile.checkShape(s.node, of: opt, tool: "model '\(name)'", file: file)
                settings.append(s)
            }
        }
        settings += step.options.filter { !($0.key == "model" && modelName != nil) }
        var words: [String] = []
        for (key, node) in settings {
            guard let opt = table.options[key] else { continue }
            if key == "base-url" {
                serverWords += try Self.render(key, node, opt, file: file)
            } else {
                words += try Self.render(key, node, opt, file: file)
            }
        }
        if step.tool == "gen" || step.tool == "score" {
            let set = Set(settings.map(\.key))
            let isHook = settings.contains { $0.key == "truncate" && $0.node.bool == true }
            if !isHook {
                for (k, v) in Self.defaultSampling where !set.contains(k) { words.append("--\(k)=\(v)") }
            }
            if !set.contains("max-failures") {
                words.append(ShellWord.quote("--max-failures=" + (step.maxFailures?.value ?? pipeline.maxFailures)))
            }
        }
        self.words = words
        self.serverWords = serverWords
        self.model = modelName
        self.modelIndex = index
    }

    /// `http://127.0.0.1:${mminf_port_K}/v1`: model K's server started by the pipeline.
    public static func servedURL(_ k: Int) -> ShellWord {
        ShellWord([.literal("http://127.0.0.1:"), .variable("mminf_port_\(k)", fallback: nil), .literal("/v1")])
    }

    /// The program and its options, as the targets write them.
    public var command: [String] { [program] + serverWords + words }

    /// The words for one option and its value.
    static func render(_ key: String, _ node: YAMLNode, _ opt: ToolOptionTable.Option, file: String) throws -> [String]
    {
        if opt.isFlag { return node.bool == true ? ["--\(key)"] : [] }
        switch node.kind {
        case .scalar(let s, _):
            return word(key, try ShellWord.parse(s, file: file, at: node.mark))
        case .sequence(let items) where opt.isRepeating:
            return try items.flatMap { word(key, try ShellWord.parse($0.scalar ?? "", file: file, at: $0.mark)) }
        default:  // a JSON option given as YAML: written as JSON text, literally
            return [ShellWord.quote("--\(key)=" + JSONWriter.string(json(node)))]
        }
    }

    /// `--key=value`; an empty value as two words (`--key ''`), since
    /// swift-argument-parser reads `--key=` as a missing value.
    static func word(_ key: String, _ value: ShellWord) -> [String] {
        value.parts.isEmpty ? ["--\(key) ''"] : [value.shell(after: "--\(key)=")]
    }

    /// A YAML node as JSON: unquoted numbers, true/false and null keep their types.
    static func json(_ node: YAMLNode) -> JSONValue {
        switch node.kind {
        case .scalar(let s, let plain):
            if node.isNull { return .null }
            if let b = node.bool { return .bool(b) }
            if plain, let d = Double(s), d.isFinite, s.first.map({ $0 == "-" || $0.isNumber }) == true {
                return .number(JSONNumber(d, text: s))
            }
            return .string(s)
        case .sequence(let items): return .array(items.map(json))
        case .mapping(let pairs): return .object(JSONObject(pairs.map { ($0.key.scalar ?? "", json($0.value)) }))
        }
    }

    /// `--cache=FILE` for a model step that names no cache of its own: the
    /// pipeline's, or a shard's own on Slurm.
    public func cacheWords(_ cache: ShellWord, in pipeline: PipelineFile) -> [String] {
        callsModel && !sets("cache", in: pipeline) ? [cache.shell(after: "--cache=")] : []
    }

    /// `--failures=FILE` for a model step that names none: `run_dir/NAME[.shard-K].failed.jsonl`.
    public func failureWords(_ plan: PipelinePlan, shard: ShellWord.Part? = nil) -> [String] {
        guard callsModel && !sets("failures", in: plan.file) else { return [] }
        return [plan.runFile(step.name, shard: shard, ".failed.jsonl").shell(after: "--failures=")]
    }

    /// `--stats=run_dir/NN-NAME[.shard-K].stats.json` unless the step names its own: the
    /// figures the run's report turns into its funnel.
    public func statsWords(_ plan: PipelinePlan, shard: ShellWord.Part? = nil) -> [String] {
        guard !sets("stats", in: plan.file) else { return [] }
        return [plan.runFile(fileStem, shard: shard, ".stats.json").shell(after: "--stats=")]
    }

    /// `NN-NAME`: the stem of the files a step's records are kept in.
    public var fileStem: String { (number < 10 ? "0\(number)" : "\(number)") + "-" + step.name }

    /// Whether the step sets `key` itself (or through its model).
    public func sets(_ key: String, in pipeline: PipelineFile) -> Bool {
        if step.options.contains(where: { $0.key == key && !($0.key == "model" && model != nil) }) { return true }
        guard let model, let m = pipeline.models.first(where: { $0.name == model }) else { return false }
        return m.settings.contains { $0.key == key }
    }

    /// The step's option value as written, when it is one scalar.
    public func value(_ key: String) -> String? {
        step.options.first(where: { $0.key == key })?.node.scalar
    }
}
