import Foundation
import Prompts
import RecordCore
import Transforms

/// `mminf-compile --explain`: each step with its model and the fields it
/// reads and writes, and a warning for each field a step reads that neither
/// the input nor an earlier step writes (when the input's fields are known).
public struct PipelineExplanation {
    public struct StepFields {
        public var reads: [String] = []
        /// Read when present (media), never warned about.
        public var readsIfPresent: [String] = []
        public var writes: [String] = []
        /// After this step only these fields remain (`keep`), or nil.
        public var keepsOnly: [String]?
        public var removes: [String] = []
        /// The record is rebuilt (an export format): what follows is not tracked.
        public var rebuilds = false
    }

    let plan: PipelinePlan
    let inputFields: [String]?

    public init(plan: PipelinePlan, sampleInput: String?) throws {
        self.plan = plan
        if let sampleInput {
            let input = RecordInput(paths: [sampleInput])
            try input.checkReadable()
            guard let first = try input.next() else {
                throw ToolError("--sample-input \(sampleInput): no record in it", status: .dataError)
            }
            guard case .object(let o) = try parseRecord(first.bytes) else {
                throw ToolError("--sample-input \(first.location): not a JSON object", status: .dataError)
            }
            inputFields = o.members.map(\.key)
        } else {
            inputFields = plan.file.inputFields
        }
    }

    public func render() throws -> String {
        let file = plan.file
        var out =
            "Pipeline '\(file.name.value)' (\(PipelinePlan.comment(plan.source))): \(plan.commands.count) step\(plan.commands.count == 1 ? "" : "s")\n"
        out += "input: \(file.inputs.map { PipelinePlan.comment($0.value.shell) }.joined(separator: " "))"
        out +=
            inputFields.map { " (fields: \($0.joined(separator: ", ")))" }
            ?? " (fields unknown: give input_fields: or --sample-input)"
        out += "\n"
        var available: Set<String>? = inputFields.map(Set.init)
        var warnings: [String] = []
        for c in plan.commands {
            let f = try fields(of: c)
            out += "\n\(c.number). \(c.step.name): \(c.program)"
            if let m = c.model, let model = file.models.first(where: { $0.name == m }) {
                let id = model.settings.first { $0.key == "model" }?.node.scalar
                out += ", model \(PipelinePlan.comment(m))" + (id.map { " (\(PipelinePlan.comment($0)))" } ?? "")
            }
            out += "\n"
            if !f.reads.isEmpty { out += "   reads   \(f.reads.joined(separator: ", "))\n" }
            if !f.readsIfPresent.isEmpty {
                out += "   media   \(f.readsIfPresent.joined(separator: ", ")) (when present)\n"
            }
            if !f.writes.isEmpty { out += "   writes  \(f.writes.joined(separator: ", "))\n" }
            if let keep = f.keepsOnly { out += "   keeps   only \(keep.joined(separator: ", "))\n" }
            if !f.removes.isEmpty { out += "   drops   \(f.removes.joined(separator: ", "))\n" }
            if f.rebuilds { out += "   exports the record in a new shape\n" }
            if let have = available {
                for r in f.reads where !Self.covers(have, r) {
                    warnings.append(
                        "\(file.file):\(c.step.mark): warning: step \(c.number) '\(c.step.name)' reads '\(r)', which neither the input nor an earlier step writes"
                    )
                }
            }
            if f.rebuilds {
                available = nil
            } else if var have = available {
                if let keep = f.keepsOnly {
                    have = have.filter { k in keep.contains { Self.covers([$0], k) || Self.covers([k], $0) } }
                }
                have.subtract(f.removes)
                have.formUnion(f.writes)
                available = have
            }
        }
        if let output = file.output { out += "\noutput: \(PipelinePlan.comment(output.value.shell))\n" }
        if !warnings.isEmpty { out += "\n" + warnings.joined(separator: "\n") + "\n" }
        return out
    }

    /// Whether `have` holds `path` or a field above it (`scores` holds `scores.x`).
    static func covers(_ have: Set<String>, _ path: String) -> Bool {
        var p = Substring(path)
        while true {
            if have.contains(String(p)) { return true }
            guard let cut = p.lastIndex(where: { $0 == "." || $0 == "[" }) else { return false }
            p = p[..<cut]
        }
    }

    /// What one step reads and writes, worked out from its options the way the tool reads them.
    func fields(of c: StepCommand) throws -> StepFields {
        var f = StepFields()
        func opt(_ key: String) -> YAMLNode? {
            if let o = c.step.options.first(where: { $0.key == key && !(key == "model" && c.model != nil) }) {
                return o.node
            }
            return c.model.flatMap { m in plan.file.models.first { $0.name == m } }?.settings.first { $0.key == key }?
                .node
        }
        func text(_ key: String) -> String? { opt(key)?.scalar }
        /// The step's value, else the tool's own default (from its --experimental-dump-help).
        func value(_ key: String) -> String? { text(key) ?? plan.tables[c.step.tool]?.options[key]?.defaultValue }
        func list(_ key: String) -> [String] {
            guard let n = opt(key) else { return [] }
            if case .sequence(let items) = n.kind { return items.compactMap(\.scalar) }
            return n.scalar.map { [$0] } ?? []
        }
        func flag(_ key: String) -> Bool { opt(key)?.bool == true }
        func templateFields(_ text: String, binds: [String: FieldPath], escapes: Bool) -> [String] {
            ((try? PromptTemplate(text, binds: binds, escapes: escapes))?.fields ?? []).map(\.description)
        }
        let binds = (try? PromptTemplate.parseBinds(list("bind"))) ?? [:]
        /// A built-in or file prompt, its errors placed at the value that names it.
        func load(_ key: String, _ name: String, _ kind: PromptLibrary.Kind) throws -> PromptFile? {
            guard !name.contains("${") else { return nil }  // known only at run time
            let node = opt(key)
            do { return try PromptLibrary.load(name, kind: kind) } catch {
                throw PipelineError(plan.file.file, node?.mark, "\(c.step.tool): \(key) \(name): \(error)")
            }
        }
        let media = ["image", "images", "video", "videos"]
        switch c.step.tool {
        case "gen":
            let truncate = flag("truncate")
            var out = text("out")
            if let preset = text("preset"), let p = try load("preset", preset, .preset) {
                f.reads += templateFields(p.template, binds: binds, escapes: false)
                out = out ?? p.header["out"]
                if (try? p.sendsMedia()) != false && !flag("no-media") { f.readsIfPresent = media }
            } else if let prompt = text("prompt") {
                f.reads += templateFields(prompt, binds: binds, escapes: true)
            } else if flag("respond") {
                f.reads += templateFields("{instruction}", binds: binds, escapes: false)
            }
            if let system = text("system") { f.reads += templateFields(system, binds: binds, escapes: true) }
            if text("preset") == nil && !flag("no-media") { f.readsIfPresent = media }
            let outField = out ?? DefaultFields.genOut(truncate: truncate)
            f.writes.append(outField)
            if let r = text("reasoning-out") { f.writes.append(r) }
            if !flag("no-history") {
                f.writes.append("history.\(text("step") ?? DefaultFields.genStep(truncate: truncate, out: outField))")
            }
            if let n = text("n"), n != "1" { f.writes.append("sample") }
        case "score":
            for spec in list("rubric") {
                guard let file = try load("rubric", spec, .rubric) else { continue }
                let r: Rubric
                do { r = try Rubric(file) } catch {
                    throw PipelineError(plan.file.file, opt("rubric")?.mark, "score: rubric \(spec): \(error)")
                }
                f.reads += templateFields(r.file.template, binds: binds, escapes: false)
                if r.sendsMedia && !flag("no-media") { f.readsIfPresent = media }
                let name = text("as") ?? r.name
                f.writes.append("\(DefaultFields.scores).\(name)")
                if !flag("no-history") { f.writes.append("history.\(DefaultFields.scoreStep(name))") }
            }
        case "filter":
            for e in list("where") { f.reads += ((try? Expression(e))?.paths ?? []).map(\.description) }
            if let x = text("extract") { f.reads.append(x) }
            if let u = text("unique") { f.reads.append(u) }
            if let into = text("into") { f.writes.append(into) }
            if let n = text("number") { f.writes.append(n) }
            for s in list("set") {
                guard let eq = s.firstIndex(of: "=") else { continue }
                f.writes.append(String(s[..<eq]))
                f.reads += templateFields(String(s[s.index(after: eq)...]), binds: [:], escapes: true)
            }
            if let keep = text("keep") { f.keepsOnly = keep.split(separator: ",").map(String.init) }
            if let drop = text("drop") { f.removes = drop.split(separator: ",").map(String.init) }
            if text("format") != nil {
                f.reads += ["instruction-field", "response-field"].compactMap(value)
                f.rebuilds = true
            }
        case "split":
            if let field = text("field") {
                f.reads.append(field)
                f.writes.append(text("into") ?? field)
                if let part = value("part-field"), part != "none" { f.writes.append(part) }
            }
            if let key = text("join") {
                f.reads.append(key)
                f.reads += (text("collect") ?? "").split(separator: ",").map(String.init)
            }
        default: break
        }
        var seen = Set<String>()
        f.reads = f.reads.filter { seen.insert($0).inserted }
        return f
    }
}
