import Foundation
import RecordCore

/// A pipeline file, read and checked: every key known, every value of the
/// right shape, every step's options known to its tool (docs/pipeline.md).
public struct PipelineFile {
    public struct Located<T> {
        public let value: T
        public let mark: SourceMark
    }
    public struct Model {
        public let name: String
        public let mark: SourceMark
        /// Option name (kebab-case) -> its YAML value, in file order.
        public let settings: [(key: String, node: YAMLNode)]
        /// `serve:`: the command that starts this model's server (the one value run as a command).
        public let serve: Located<String>?
        /// Seconds `serve:`'s server may take to answer /health (`serve_timeout:`).
        public let serveTimeout: Int
        /// On Slurm, how many of `base_url`'s servers each task uses (`servers_per_task:`).
        public let serversPerTask: Int?
    }
    public struct Step {
        public let name: String
        public let mark: SourceMark
        public let tool: String
        public let toolMark: SourceMark
        /// Option name (kebab-case) -> its YAML value, in file order; `model` names a model.
        public let options: [(key: String, node: YAMLNode)]
        public let save: Bool
        public let maxFailures: Located<String>?
    }

    public let file: String
    public let name: Located<String>
    public let inputs: [Located<ShellWord>]
    public let output: Located<ShellWord>?
    /// The response cache every model step shares (default `.mminf/<pipeline>.sqlite`).
    public let cache: Located<ShellWord>
    public let runDir: ShellWord
    public let runDirMark: SourceMark
    public let maxFailures: String
    public let env: [(name: String, value: String, mark: SourceMark)]
    public let models: [Model]
    public let steps: [Step]
    /// Fields the input's records hold, for `--explain` (`input_fields:`).
    public let inputFields: [String]?
    /// Whether the run ends with `mminf-report` into `run_dir/report.html` (`report:`, default true).
    public let report: Bool
    /// `#SBATCH` settings of the Slurm target (`slurm:`), by sbatch option name.
    public let slurm: [String: String]

    /// The `slurm:` keys and the sbatch options they become.
    public static let slurmKeys = [
        "partition": "partition", "time": "time", "cpus-per-task": "cpus-per-task", "mem": "mem", "gres": "gres",
        "account": "account", "qos": "qos", "throttle": "throttle",
    ]

    /// An sbatch value: one word of the characters Slurm's own values use.
    public static func checkSlurmValue(_ key: String, _ value: String) -> String? {
        let ok = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:,=+/@%-")
        if value.isEmpty || !value.allSatisfy({ ok.contains($0) }) {
            return "slurm \(key) '\(value)': give one word of letters, digits and _ . : , = + / @ % -"
        }
        if key == "throttle", Int(value).map({ $0 < 1 }) ?? true {
            return "slurm throttle '\(value)': give how many shards may run at once, e.g. 8"
        }
        return nil
    }

    static let topKeys = [
        "pipeline", "input", "output", "cache", "run-dir", "max-failures", "env", "models", "steps", "input-fields",
        "slurm", "report",
    ]
    static let stepKeys = ["save", "max-failures"]
    /// Keys of a model besides the tools' own options.
    static let modelKeys = ["base-url", "model", "api-key-env", "serve", "serve-timeout", "servers-per-task"]
    /// Model keys that are not options of the tools.
    static let modelOnlyKeys: Set = ["serve", "serve-timeout", "servers-per-task"]

    /// Variables an `env:` block may not set: the shell's, make's, the dynamic
    /// loader's, libcurl's proxies and TLS, Slurm's, and the compiled script's own.
    static func isControlVariable(_ name: String) -> Bool {
        let exact: Set = [
            "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "IFS", "PATH", "SHELL", "CDPATH", "GLOBIGNORE",
            "PROMPT_COMMAND", "HOME", "TMPDIR", "MFLAGS", "GNUMAKEFLAGS", "MMINF_PORT", "NO_PROXY", "no_proxy",
            "shard", "i", "j", "missing", "after", "spec", "array", "merge", "here", "status",
        ]
        let prefixes = ["BASH_FUNC_", "LD_", "MAKE", "SSL_", "CURL_", "SLURM_", "SBATCH_", "mminf_", "MMINF_TEST_"]
        return exact.contains(name) || prefixes.contains { name.hasPrefix($0) } || name.lowercased().hasSuffix("_proxy")
    }

    /// The default failure budget of model steps.
    public static let defaultMaxFailures = "1%"

    public static func kebab(_ key: String) -> String { key.replacingOccurrences(of: "_", with: "-") }

    public init(path: String, tables: [String: ToolOptionTable]) throws {
        try self.init(root: try YAMLDocument.read(path: path), file: path, tables: tables)
    }

    public init(root: YAMLNode, file: String, tables: [String: ToolOptionTable]) throws {
        self.file = file
        func fail(_ mark: SourceMark, _ what: String) -> PipelineError { PipelineError(file, mark, what) }
        guard case .mapping(let top) = root.kind else {
            throw fail(root.mark, "a pipeline file is a mapping (pipeline:, input:, steps: ...), not \(root.kindName)")
        }
        var seen: [String: YAMLNode] = [:]
        for (k, v) in top {
            let key = Self.kebab(k.scalar ?? "")
            guard Self.topKeys.contains(key) else {
                throw fail(
                    k.mark,
                    "unknown key '\(k.scalar ?? "")'\(didYouMean(key, among: Self.topKeys)); a pipeline has \(Self.topKeys.joined(separator: ", "))"
                )
            }
            if seen[key] != nil { throw fail(k.mark, "'\(key)' is given twice (as - and _ spellings); keep one") }
            seen[key] = v
        }
        func text(_ node: YAMLNode, _ what: String) throws -> String {
            guard let s = node.scalar, !node.isNull else {
                throw fail(node.mark, "\(what) takes a text value, not \(node.kindName)")
            }
            return s
        }
        func word(_ node: YAMLNode, _ what: String) throws -> Located<ShellWord> {
            Located(value: try ShellWord.parse(try text(node, what), file: file, at: node.mark), mark: node.mark)
        }

        guard let nameNode = seen["pipeline"] else {
            throw fail(root.mark, "no 'pipeline:' name; add e.g. 'pipeline: oasis' (it names the run's folder)")
        }
        let name = try text(nameNode, "pipeline")
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }),
            !name.hasPrefix(".")
        else {
            throw fail(nameNode.mark, "pipeline name '\(name)': use letters, digits, _ - . (it becomes a folder name)")
        }
        self.name = Located(value: name, mark: nameNode.mark)

        guard let inputNode = seen["input"] else {
            throw fail(
                root.mark, "no 'input:'; name the records to read, e.g. 'input: images.jsonl' (or a glob, or a list)")
        }
        var inputs: [Located<ShellWord>] = []
        if case .sequence(let items) = inputNode.kind {
            guard !items.isEmpty else { throw fail(inputNode.mark, "input: the list is empty; name at least one file") }
            for item in items { inputs.append(try Self.inputWord(try word(item, "input"), file: file)) }
        } else {
            inputs.append(try Self.inputWord(try word(inputNode, "input"), file: file))
        }
        self.inputs = inputs
        output = try seen["output"].map { try word($0, "output") }
        if let o = output, let text = o.value.literalText,
            text == "-" || text.hasPrefix("/dev/") || text.hasPrefix("/proc/")
        {
            throw fail(
                o.mark,
                "output: \(text) is not a file the run can rename into place; leave output out to write to stdout")
        }
        cache =
            try seen["cache"].map { try word($0, "cache") }
            ?? Located(value: ShellWord(literal: ".mminf/\(name).sqlite"), mark: nameNode.mark)
        runDir = try seen["run-dir"].map { try word($0, "run_dir").value } ?? ShellWord(literal: "out/\(name)")
        runDirMark = seen["run-dir"]?.mark ?? nameNode.mark
        if let m = seen["max-failures"] {
            let t = try text(m, "max_failures")
            do { _ = try FailureBudget(parsing: t) } catch let e as ToolError { throw fail(m.mark, e.message) }
            maxFailures = t
        } else {
            maxFailures = Self.defaultMaxFailures
        }

        var env: [(name: String, value: String, mark: SourceMark)] = []
        if let e = seen["env"] {
            guard case .mapping(let pairs) = e.kind else {
                throw fail(e.mark, "env: takes NAME: default pairs, not \(e.kindName)")
            }
            for (k, v) in pairs {
                let n = k.scalar ?? ""
                guard let f = n.first, f == "_" || f.isASCII && f.isLetter,
                    n.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) })
                else { throw fail(k.mark, "env: '\(n)' is not a variable name (letters, digits, _)") }
                if Self.isControlVariable(n) {
                    throw fail(
                        k.mark,
                        "env: \(n) changes how the shell, make, the loader, libcurl or the compiled script behave, so a pipeline file may not set it; set it in your own environment if you mean it"
                    )
                }
                env.append((n, try text(v, "env: \(n)"), v.mark))
            }
        }
        self.env = env

        let modelOptions = Set(["gen", "score"].compactMap { tables[$0] }.flatMap { $0.settable })
        var models: [Model] = []
        if let m = seen["models"] {
            guard case .mapping(let pairs) = m.kind else {
                throw fail(m.mark, "models: takes NAME: {base_url: ..., model: ...} entries, not \(m.kindName)")
            }
            for (k, v) in pairs {
                guard case .mapping(let settings) = v.kind else {
                    throw fail(
                        v.mark, "model '\(k.scalar ?? "")': give its settings as a mapping (base_url:, model:, ...)")
                }
                var out: [(key: String, node: YAMLNode)] = []
                for (sk, sv) in settings {
                    let key = Self.kebab(sk.scalar ?? "")
                    guard Self.modelKeys.contains(key) || modelOptions.contains(key) else {
                        throw fail(
                            sk.mark,
                            "model '\(k.scalar ?? "")': unknown setting '\(sk.scalar ?? "")'\(didYouMean(key, among: Self.modelKeys + modelOptions.sorted())); a model takes base_url, model, api_key_env and the options of mminf-gen/mminf-score (temperature, max_tokens, concurrency, ...)"
                        )
                    }
                    if out.contains(where: { $0.key == key }) {
                        throw fail(sk.mark, "'\(key)' is given twice (as - and _ spellings); keep one")
                    }
                    out.append((key, sv))
                }
                let name = k.scalar ?? ""
                func count(_ key: String) throws -> Int? {
                    guard let n = out.first(where: { $0.key == key })?.node else { return nil }
                    guard let v = n.scalar.flatMap({ Int($0) }), v >= 1 else {
                        throw fail(
                            n.mark,
                            "model '\(name)': \(key.replacingOccurrences(of: "-", with: "_")) takes a whole number of at least 1"
                        )
                    }
                    return v
                }
                var serve: Located<String>?
                if let n = out.first(where: { $0.key == "serve" })?.node {
                    let command = try text(n, "model '\(name)': serve")
                    guard !command.trimmingCharacters(in: .whitespaces).isEmpty else {
                        throw fail(n.mark, "model '\(name)': serve is empty; give the command that starts its server")
                    }
                    if let url = out.first(where: { $0.key == "base-url" }) {
                        throw fail(
                            url.node.mark,
                            "model '\(name)': base_url goes with a server you started; with serve: the pipeline starts one on a free port and points the steps at it, so leave base_url out"
                        )
                    }
                    serve = Located(value: command, mark: n.mark)
                } else if let t = out.first(where: { $0.key == "serve-timeout" }) {
                    throw fail(t.node.mark, "model '\(name)': serve_timeout goes with serve:")
                }
                let timeout = try count("serve-timeout") ?? 900
                let perTask = try count("servers-per-task")
                models.append(
                    Model(
                        name: name, mark: k.mark, settings: out.filter { !Self.modelOnlyKeys.contains($0.key) },
                        serve: serve, serveTimeout: timeout, serversPerTask: perTask))
            }
        }
        self.models = models

        guard let stepsNode = seen["steps"] else {
            throw fail(root.mark, "no 'steps:'; list them, e.g. '- hook: {gen: {model: vl, truncate: true}}'")
        }
        guard case .sequence(let items) = stepsNode.kind, !items.isEmpty else {
            throw fail(stepsNode.mark, "steps: takes a list of '- NAME: {TOOL: {options}}' items")
        }
        var steps: [Step] = []
        for item in items {
            guard case .mapping(let one) = item.kind, one.count == 1, let (k, v) = one.first else {
                throw fail(
                    item.mark,
                    "a step is one 'NAME: {TOOL: {options}}' item, e.g. '- keep: {filter: {where: \"x > 1\"}}'")
            }
            let stepName = k.scalar ?? ""
            guard !stepName.isEmpty,
                stepName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) })
            else {
                throw fail(k.mark, "step name '\(stepName)': use letters, digits, _ and - (it names the step's files)")
            }
            if let first = steps.first(where: { $0.name == stepName }) {
                throw fail(
                    k.mark,
                    "duplicate step name '\(stepName)' (first at line \(first.mark.line)); step names name files, so each is unique"
                )
            }
            guard case .mapping(let body) = v.kind else {
                throw fail(
                    v.mark, "step '\(stepName)': give '{TOOL: {options}}' with TOOL one of gen, score, filter, split")
            }
            var tool: (String, SourceMark, [(YAMLNode, YAMLNode)])?
            var save = false
            var stepBudget: Located<String>?
            for (bk, bv) in body {
                let key = Self.kebab(bk.scalar ?? "")
                if ToolOptionTable.tools.contains(key) {
                    if tool != nil { throw fail(bk.mark, "step '\(stepName)' names two tools; one step runs one tool") }
                    var opts: [(YAMLNode, YAMLNode)] = []
                    if case .mapping(let o) = bv.kind {
                        opts = o
                    } else if !bv.isNull {
                        throw fail(
                            bv.mark,
                            "\(key): takes its options as a mapping, e.g. {\(key == "filter" ? "where: \"x > 1\"" : "out: field")}"
                        )
                    }
                    tool = (key, bk.mark, opts)
                } else if key == "save" {
                    guard let b = bv.bool else { throw fail(bv.mark, "save: takes true or false") }
                    save = b
                } else if key == "max-failures" {
                    let t = try text(bv, "max_failures")
                    do { _ = try FailureBudget(parsing: t) } catch let e as ToolError { throw fail(bv.mark, e.message) }
                    stepBudget = Located(value: t, mark: bv.mark)
                } else {
                    throw fail(
                        bk.mark,
                        "step '\(stepName)': unknown tool or key '\(bk.scalar ?? "")'\(didYouMean(key, among: ToolOptionTable.tools + Self.stepKeys)); a step names one of gen, score, filter, split (and may add save:, max_failures:)"
                    )
                }
            }
            guard let (toolName, toolMark, rawOptions) = tool else {
                throw fail(k.mark, "step '\(stepName)' names no tool; give one of gen, score, filter, split")
            }
            guard let table = tables[toolName] else {
                throw fail(toolMark, "no option table for mminf-\(toolName)")
            }
            var options: [(key: String, node: YAMLNode)] = []
            for (ok, ov) in rawOptions {
                let key = Self.kebab(ok.scalar ?? "")
                let isModelRef = key == "model" && ["gen", "score"].contains(toolName)
                if !isModelRef {
                    if ToolOptionTable.reserved.contains(key) {
                        throw fail(
                            ok.mark,
                            "\(toolName): '\(key)' is set by the compiler (inputs, outputs) or prints instead of running; leave it out"
                        )
                    }
                    guard let opt = table.options[key] else {
                        throw fail(
                            ok.mark,
                            "\(toolName): unknown option '\(ok.scalar ?? "")'\(didYouMean(key, among: table.settable)); mminf-\(toolName) --help lists its options"
                        )
                    }
                    try Self.checkShape(ov, of: opt, tool: toolName, file: file)
                }
                if options.contains(where: { $0.key == key }) {
                    throw fail(ok.mark, "'\(key)' is given twice (as - and _ spellings); keep one")
                }
                options.append((key, ov))
            }
            if toolName == "filter" || toolName == "split", stepBudget != nil {
                throw fail(
                    stepBudget!.mark, "max_failures: \(toolName) calls no model, so no record fails; leave it out")
            }
            steps.append(
                Step(
                    name: stepName, mark: k.mark, tool: toolName, toolMark: toolMark, options: options, save: save,
                    maxFailures: stepBudget))
        }
        self.steps = steps

        for step in steps {
            guard let ref = step.options.first(where: { $0.key == "model" }) else { continue }
            guard let n = ref.node.scalar, !ref.node.isNull else {
                throw fail(ref.node.mark, "model: names one of the pipeline's models")
            }
            guard models.contains(where: { $0.name == n }) else {
                let names = models.map(\.name)
                throw fail(
                    ref.node.mark,
                    "unknown model '\(n)'\(didYouMean(n, among: names)); "
                        + (names.isEmpty
                            ? "the pipeline has no models: block"
                            : "the pipeline's models are \(names.joined(separator: ", "))"))
            }
        }
        if let r = seen["report"] {
            guard let b = r.bool else { throw fail(r.mark, "report: takes true or false") }
            report = b
        } else {
            report = true
        }
        var slurm: [String: String] = [:]
        if let block = seen["slurm"] {
            guard case .mapping(let pairs) = block.kind else {
                throw fail(
                    block.mark, "slurm: takes settings such as {partition: gpu, time: '24:00:00', gres: 'gpu:8'}")
            }
            for (k, v) in pairs {
                let key = Self.kebab(k.scalar ?? "")
                guard Self.slurmKeys[key] != nil else {
                    throw fail(
                        k.mark,
                        "slurm: unknown setting '\(k.scalar ?? "")'\(didYouMean(key, among: Self.slurmKeys.keys.sorted())); it takes \(Self.slurmKeys.keys.sorted().joined(separator: ", "))"
                    )
                }
                let value = try text(v, "slurm \(key)")
                if let problem = Self.checkSlurmValue(key, value) { throw fail(v.mark, problem) }
                slurm[key] = value
            }
        }
        self.slurm = slurm
        if let inputFields = seen["input-fields"] {
            guard case .sequence(let items) = inputFields.kind else {
                throw fail(inputFields.mark, "input_fields: takes a list of field names")
            }
            self.inputFields = try items.map { try text($0, "input_fields") }
        } else {
            self.inputFields = nil
        }
    }

    /// Whether a value has the shape its option takes: a flag true/false, an
    /// option one value, a repeatable option one value or a list.
    static func checkShape(_ node: YAMLNode, of opt: ToolOptionTable.Option, tool: String, file: String) throws {
        func fail(_ what: String) -> PipelineError { PipelineError(file, node.mark, "\(tool): \(opt.name) \(what)") }
        if opt.isFlag {
            guard node.bool != nil else { throw fail("is a flag: write true or false, not \(node.kindName)") }
            return
        }
        switch node.kind {
        case .scalar:
            if node.isNull { throw fail("needs a value (\(opt.valueName ?? "text")); an empty value is written ''") }
        case .sequence(let items):
            guard opt.isRepeating else {
                if opt.valueName == "JSON" { return }
                throw fail("takes one value, not a list")
            }
            for i in items where i.scalar == nil || i.isNull {
                throw PipelineError(file, i.mark, "\(tool): \(opt.name) takes a list of values, not \(i.kindName)")
            }
        case .mapping:
            if opt.valueName == "JSON" { return }
            throw fail("takes \(opt.isRepeating ? "a value or a list" : "one value"), not a mapping")
        }
    }

    /// An input path: `${...}` expansions, and `*`, `?`, `[...]` left to the shell's glob.
    static func inputWord(_ w: Located<ShellWord>, file: String) throws -> Located<ShellWord> {
        var parts: [ShellWord.Part] = []
        for p in w.value.parts {
            guard case .literal(let s) = p else {
                parts.append(p)
                continue
            }
            var run = ""
            for c in s {
                if "*?[]".contains(c) {
                    if !run.isEmpty { parts.append(.literal(run)) }
                    run = ""
                    parts.append(.glob(String(c)))
                } else {
                    run.append(c)
                }
            }
            if !run.isEmpty { parts.append(.literal(run)) }
        }
        return Located(value: ShellWord(parts), mark: w.mark)
    }

    /// Variables without a default in paths (input, output, cache, run_dir), with the key.
    public var pathVariables: [(name: String, key: String)] {
        var seen = Set<String>()
        var out: [(name: String, key: String)] = []
        let words =
            inputs.map { ($0.value, "input") } + [(runDir, "run_dir"), (cache.value, "cache")]
            + (output.map { [($0.value, "output")] } ?? [])
        for (w, key) in words {
            for case .variable(let n, nil) in w.parts where seen.insert(n).inserted { out.append((n, key)) }
        }
        return out
    }

    public var hasGlobInput: Bool {
        inputs.contains { $0.value.parts.contains { if case .glob = $0 { return true } else { return false } } }
    }
}
