import Foundation

/// Text with `{field.path}` placeholders; `{{` and `}}` stand for braces.
/// A placeholder's string is inserted as is, any other value as JSON.
public struct Template: CustomStringConvertible {
    enum Piece {
        case text(String)
        case field(FieldPath)
    }

    let pieces: [Piece]
    public let description: String

    public struct ParseError: ToolFailure, CustomStringConvertible {
        public var template: String
        public var column: Int
        public var message: String
        /// Line and column of the problem (`column` counts through the whole text), with that line and a caret.
        public var description: String {
            let chars = Array(template)
            var line = 1
            var lineStart = 0
            for i in 0..<min(column - 1, chars.count) where chars[i] == "\n" {
                line += 1
                lineStart = i + 1
            }
            let col = column - lineStart
            let text = String(chars[lineStart...].prefix { $0 != "\n" })
            let place = template.contains("\n") ? "line \(line), column \(col)" : "column \(col)"
            return
                "bad template at \(place): \(message)\n  \(text)\n  \(String(repeating: " ", count: max(0, col - 1)))^"
        }
    }

    /// `escapes` turns `\n`, `\t` and `\\` into a newline, a tab and a
    /// backslash (for templates typed on a command line).
    public init(_ text: String, escapes: Bool = false) throws {
        description = text
        var pieces: [Piece] = []
        var literal = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" {
                if i + 1 < chars.count && chars[i + 1] == "{" {
                    literal.append("{")
                    i += 2
                    continue
                }
                guard let close = chars[(i + 1)...].firstIndex(of: "}") else {
                    throw ParseError(
                        template: text, column: i + 1, message: "'{' is never closed; write {{ for a literal brace")
                }
                let name = String(chars[(i + 1)..<close]).trimmingCharacters(in: .whitespaces)
                if name.isEmpty { throw ParseError(template: text, column: i + 1, message: "empty placeholder {}") }
                let path: FieldPath
                do { path = try FieldPath(parsing: name) } catch let e as FieldPathError {
                    throw ParseError(template: text, column: i + 1 + e.column, message: e.message)
                }
                if !literal.isEmpty {
                    pieces.append(.text(literal))
                    literal = ""
                }
                pieces.append(.field(path))
                i = close + 1
            } else if c == "}" {
                if i + 1 < chars.count && chars[i + 1] == "}" {
                    literal.append("}")
                    i += 2
                    continue
                }
                throw ParseError(template: text, column: i + 1, message: "lone '}'; write }} for a literal brace")
            } else if escapes && c == "\\" && i + 1 < chars.count {
                switch chars[i + 1] {
                case "n": literal.append("\n")
                case "t": literal.append("\t")
                case "\\": literal.append("\\")
                default:
                    literal.append("\\")
                    literal.append(chars[i + 1])
                }
                i += 2
            } else {
                literal.append(c)
                i += 1
            }
        }
        if !literal.isEmpty { pieces.append(.text(literal)) }
        self.pieces = pieces
    }

    /// The fields the template reads.
    public var fields: [FieldPath] {
        pieces.compactMap {
            if case .field(let p) = $0 { return p }
            return nil
        }
    }

    /// Fills the placeholders; a missing field is an error naming it.
    public func render(_ lookup: (FieldPath) -> JSONValue?) throws -> String {
        var out = ""
        for p in pieces {
            switch p {
            case .text(let t): out += t
            case .field(let path):
                guard let v = lookup(path) else {
                    throw RecordError.missing(
                        path.description, hint: "the template \(description.debugDescription) needs it")
                }
                out += Template.text(of: v)
            }
        }
        return out
    }

    public func render(_ record: JSONValue) throws -> String {
        try render { record.value(at: $0) }
    }

    public static func text(of v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        return JSONWriter.string(v)
    }
}

extension Template.ParseError {
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { .usage }
}
