import RecordCore

/// A prompt with `{field}` placeholders and `--bind NAME=FIELD` renames, so a
/// prompt written for `{caption}` works on records that call it `description`.
public struct PromptTemplate {
    public let template: Template
    public let binds: [String: FieldPath]

    /// `escapes`: `\n`, `\t`, `\\` become a newline, a tab, a backslash (prompts typed on a command line).
    /// `origin` names where the text came from (an option, a file) in a parse error.
    public init(_ text: String, binds: [String: FieldPath] = [:], escapes: Bool = false, origin: String? = nil) throws {
        do { template = try Template(text, escapes: escapes) } catch let e as Template.ParseError {
            guard let origin else { throw e }
            throw ToolError.usage("\(origin): \(e)")
        }
        self.binds = binds
    }

    /// Parses `--bind` values: `NAME=FIELD`.
    public static func parseBinds(_ specs: [String]) throws -> [String: FieldPath] {
        var out: [String: FieldPath] = [:]
        for s in specs {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex, s.index(after: eq) != s.endIndex else {
                throw ToolError.usage("--bind takes NAME=FIELD (the placeholder {NAME} reads FIELD), got '\(s)'")
            }
            let name = String(s[..<eq])
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ToolError.usage(
                    "--bind \(s): NAME is a placeholder name like instruction (a field path goes after the =)")
            }
            out[name] = try FieldPath(parsing: String(s[s.index(after: eq)...]))
        }
        return out
    }

    /// The record field a placeholder reads.
    public func resolve(_ path: FieldPath) -> FieldPath {
        guard case .key(let first)? = path.components.first, let target = binds[first] else { return path }
        let comps = target.components + path.components.dropFirst()
        return FieldPath(
            components: comps,
            text: path.components.count == 1
                ? target.description : "\(target.description)\(path.description.dropFirst(first.count))")
    }

    public func render(_ record: JSONValue) throws -> String {
        try template.render { record.value(at: resolve($0)) }
    }

    /// The record fields the prompt reads.
    public var fields: [FieldPath] { template.fields.map(resolve) }
}
