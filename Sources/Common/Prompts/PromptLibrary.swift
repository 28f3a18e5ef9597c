import Foundation
import RecordCore

/// A prompt file: `key: value` header lines, a line `---`, then the template.
/// Presets and rubrics share the format; a user's own file works like a built-in.
public struct PromptFile {
    public var name: String
    public var header: [String: String]
    public var template: String
    /// Where it came from: "built-in" or the file path.
    public var origin: String
    public var text: String

    public struct FormatError: ToolFailure, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public init(name: String, text: String, origin: String) throws {
        self.name = name
        self.origin = origin
        self.text = text
        var header: [String: String] = [:]
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        guard let sep = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "---" }) else {
            throw FormatError(
                description: "\(origin): no '---' line; a prompt file is `key: value` lines, then ---, then the prompt")
        }
        for (i, line) in lines[..<sep].enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw FormatError(description: "\(origin):\(i + 1): expected `key: value`, got '\(line)'")
            }
            header[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        self.header = header
        var body = lines[(sep + 1)...].joined(separator: "\n")
        while body.hasSuffix("\n") { body.removeLast() }
        template = body
    }

    public var description: String { header["description"] ?? "" }

    /// True for text in this format (`key: value` lines, then `---`): given as a plain
    /// prompt, its header lines would be sent to the model.
    public static func hasHeader(_ text: String) -> Bool {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        guard let sep = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "---" }), sep > 0 else {
            return false
        }
        return lines[..<sep].allSatisfy { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard let colon = t.firstIndex(of: ":") else { return t.isEmpty }
            return !t[..<colon].isEmpty && t[..<colon].allSatisfy { $0.isLetter || $0 == "_" || $0 == "-" }
        }
    }

    /// Whether the record's media go with this prompt (`media: yes|no`).
    public func sendsMedia() throws -> Bool? {
        guard let m = header["media"]?.lowercased() else { return nil }
        switch m {
        case "yes", "true": return true
        case "no", "false": return false
        default: throw FormatError(description: "\(origin): media must be yes or no, got '\(m)'")
        }
    }
}

/// The built-in presets and rubrics (prompts/ in the repo, embedded in the
/// binaries), and the files a user names instead.
public enum PromptLibrary {
    public enum Kind: String {
        case preset, rubric
        var table: [String: String] { self == .preset ? EmbeddedPrompts.presets : EmbeddedPrompts.rubrics }
    }

    public static func names(_ kind: Kind) -> [String] { kind.table.keys.sorted() }

    /// A built-in by name, or a file by path (anything with a slash or an extension that exists).
    public static func load(_ nameOrPath: String, kind: Kind) throws -> PromptFile {
        if let text = kind.table[nameOrPath] {
            return try PromptFile(name: nameOrPath, text: text, origin: "built-in \(kind.rawValue) \(nameOrPath)")
        }
        if FileManager.default.fileExists(atPath: nameOrPath) {
            let text = try TextFile.read(nameOrPath, what: "\(kind.rawValue) file \(nameOrPath)")
            let base = (nameOrPath as NSString).lastPathComponent
            let name = base.contains(".") ? String(base[..<base.lastIndex(of: ".")!]) : base
            do { return try PromptFile(name: name, text: text, origin: nameOrPath) } catch let e
                as PromptFile.FormatError
            {
                throw ToolError.usage(e.description)
            }
        }
        throw ToolError.usage(
            "no \(kind.rawValue) named '\(nameOrPath)' and no such file; built-in: \(names(kind).joined(separator: ", "))"
        )
    }

    /// One line per entry: `name  description`.
    public static func listing(_ kind: Kind) -> String {
        let width = (names(kind).map(\.count).max() ?? 0) + 2
        return names(kind).map { n in
            let d = (try? load(n, kind: kind))?.description ?? ""
            return n.padding(toLength: width, withPad: " ", startingAt: 0) + d
        }.joined(separator: "\n")
    }
}

extension PromptFile.FormatError {
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { .usage }
}
