import Foundation
import RecordCore

/// The `steps:` list: each `NAME: {TOOL: {options}}` item checked against its
/// tool's own options, and each `model:` against the pipeline's models.
extension PipelineFile {
    static let stepKeys = ["save", "max-failures"]

    static func readSteps(
        _ node: YAMLNode?, root: YAMLNode, models: [Model], tables: [String: ToolOptionTable], reader: NodeReader
    ) throws -> [Step] {
        let fail = reader.fail
        let text = reader.text
        let file = reader.file
        guard let stepsNode = node else {
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
        return steps
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
}
