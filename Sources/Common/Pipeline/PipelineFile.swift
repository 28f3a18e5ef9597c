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
    /// What is wrong with a Slurm setting's value, after "KEY 'VALUE': ", or nil; the
    /// caller names where it came from (`slurm partition` in the file, `--partition`).
    public static func checkSlurmValue(_ key: String, _ value: String) -> String? {
        let ok = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:,=+/@%-")
        if value.isEmpty || !value.allSatisfy({ ok.contains($0) }) {
            return "\(key) '\(value)': give one word of letters, digits and _ . : , = + / @ % -"
        }
        if key == "throttle", Int(value).map({ $0 < 1 }) ?? true {
            return "\(key) '\(value)': give how many shards may run at once, e.g. 8"
        }
        return nil
    }

    static let topKeys = [
        "pipeline", "input", "output", "cache", "run-dir", "max-failures", "env", "models", "steps", "input-fields",
        "slurm", "report",
    ]

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
        let reader = NodeReader(file: file)
        let fail = reader.fail
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
        let text = reader.text
        let word = reader.word

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
        // A failed run must leave the output under a staging name (NAME.incomplete.zst),
        // which needs the name's end, and so its extension, known when compiling.
        if let o = output, !o.value.endsInText {
            throw fail(
                o.mark,
                "output: the name ends in a variable, so its extension (.jsonl or .jsonl.zst) and staging name are "
                    + "unknown; end it with the file name, as in ${DIR}/out.jsonl.zst")
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

        let models = try Self.readModels(seen["models"], tables: tables, reader: reader)
        self.models = models

        let steps = try Self.readSteps(seen["steps"], root: root, models: models, tables: tables, reader: reader)
        self.steps = steps
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
                if let problem = Self.checkSlurmValue(key, value) { throw fail(v.mark, "slurm " + problem) }
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
