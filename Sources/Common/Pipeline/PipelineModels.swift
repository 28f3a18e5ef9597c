import Foundation
import RecordCore

/// The `models:` block: each model's server, name and option defaults, and the
/// keys about servers (`serve:`, `serve_timeout:`, `servers_per_task:`).
extension PipelineFile {
    /// Keys of a model besides the tools' own options.
    static let modelKeys = ["base-url", "model", "api-key-env", "serve", "serve-timeout", "servers-per-task"]
    /// Model keys that are not options of the tools.
    static let modelOnlyKeys: Set = ["serve", "serve-timeout", "servers-per-task"]

    static func readModels(_ node: YAMLNode?, tables: [String: ToolOptionTable], reader: NodeReader) throws -> [Model] {
        let fail = reader.fail
        let text = reader.text
        let modelOptions = Set(["gen", "score"].compactMap { tables[$0] }.flatMap { $0.settable })
        var models: [Model] = []
        if let m = node {
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
                // Checked here, for every target: a Slurm task takes its share of a base_url list.
                if let p = perTask, let node = out.first(where: { $0.key == "servers-per-task" })?.node {
                    guard serve == nil, let urls = out.first(where: { $0.key == "base-url" })?.node else {
                        throw fail(
                            node.mark,
                            "model '\(name)': servers_per_task shares a list of base_url servers among Slurm's tasks; give base_url as a list"
                        )
                    }
                    let servers: Int
                    if case .sequence(let list) = urls.kind { servers = list.count } else { servers = 1 }
                    guard p <= servers else {
                        throw fail(
                            node.mark,
                            "model '\(name)': servers_per_task \(p) is more than its \(servers) base_url servers")
                    }
                }
                models.append(
                    Model(
                        name: name, mark: k.mark, settings: out.filter { !Self.modelOnlyKeys.contains($0.key) },
                        serve: serve, serveTimeout: timeout, serversPerTask: perTask))
            }
        }
        return models
    }
}
