import Foundation

/// A value of a pipeline file as the shell must see it: literal text, with
/// `${NAME}` and `${NAME:-default}` as the only expansions (`$${` is a
/// literal `${`). Rendered so that no value can run a command, split into
/// two words, expand a glob or be read as an option.
public struct ShellWord: Equatable {
    public enum Part: Equatable {
        case literal(String)
        /// An environment variable; `fallback` is literal text used when it is unset or empty.
        case variable(String, fallback: String?)
        /// Unquoted glob characters (`*`, `?`, `[`...`]`) of an input pattern.
        case glob(String)
    }
    public var parts: [Part]

    /// Adjacent literals are joined, so each renders as one quoted run.
    public init(_ parts: [Part]) {
        var joined: [Part] = []
        for p in parts {
            if case .literal(let b) = p, case .literal(let a)? = joined.last {
                joined[joined.count - 1] = .literal(a + b)
            } else if p != .literal("") {
                joined.append(p)
            }
        }
        self.parts = joined
    }
    public init(literal: String) { parts = literal.isEmpty ? [] : [.literal(literal)] }

    /// Characters a default may hold inline: bash reads anything else inside
    /// `"${NAME:-...}"` its own way (quotes, braces, parentheses, `$`).
    static let safeFallback = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _./:@%+,=-")

    /// Reads `${...}` expansions out of `text`. `where` names the value in errors.
    public static func parse(_ text: String, file: String, at mark: SourceMark) throws -> ShellWord {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        func fail(_ what: String) -> PipelineError {
            let offset = text.count - rest.count + 1
            return PipelineError(file, mark, "\(what) (at character \(offset) of the value)")
        }
        while let c = rest.first {
            if rest.hasPrefix("$${") {
                literal += "${"
                rest = rest.dropFirst(3)
            } else if rest.hasPrefix("${") {
                guard let close = rest.firstIndex(of: "}") else {
                    throw fail(
                        "'${' opens an expansion that never closes: write ${NAME}, ${NAME:-default}, or $${ for a literal ${"
                    )
                }
                let inner = rest[rest.index(rest.startIndex, offsetBy: 2)..<close]
                let name: Substring
                var fallback: String?
                if let sep = inner.range(of: ":-") {
                    name = inner[..<sep.lowerBound]
                    fallback = String(inner[sep.upperBound...])
                } else {
                    name = inner
                }
                guard let first = name.first, first == "_" || first.isASCII && first.isLetter,
                    name.allSatisfy({ $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) })
                else {
                    throw fail(
                        "'${\(inner)}' is not an expansion mminf knows: write ${NAME} or ${NAME:-default} (NAME of letters, digits, _), or $${ for a literal ${"
                    )
                }
                // Scalar by scalar: a Character may join an ASCII sign to a combining mark.
                if let f = fallback,
                    let bad = f.unicodeScalars.first(where: { $0.isASCII && !safeFallback.contains(Character($0)) })
                {
                    throw fail(
                        "the default of ${\(name)} holds '\(bad)'; inline defaults take letters, digits, spaces and _ . / : @ % + , = -; give other text in the pipeline's env: block instead"
                    )
                }
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = ""
                parts.append(.variable(String(name), fallback: fallback))
                rest = rest[rest.index(after: close)...]
            } else {
                literal.append(c)
                rest = rest.dropFirst()
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return ShellWord(parts)
    }

    public var isLiteral: Bool { parts.allSatisfy { if case .literal = $0 { return true } else { return false } } }
    /// Whether the last part is text, not a variable (so the word's extension is known).
    public var endsInText: Bool { if case .literal(let s)? = parts.last { return !s.isEmpty } else { return false } }
    public var literalText: String? {
        guard isLiteral else { return nil }
        return parts.map { if case .literal(let s) = $0 { return s } else { return "" } }.joined()
    }
    public var variables: [String] {
        parts.compactMap { if case .variable(let n, _) = $0 { return n } else { return nil } }
    }

    /// The word for bash: literals single-quoted (or `$'...'` when they hold
    /// control characters, `$`, backquotes or backslashes), variables double-quoted. Plain
    /// text stays bare.
    public var shell: String {
        if parts.isEmpty { return "''" }
        return parts.map { part in
            switch part {
            case .literal(let s): return ShellWord.quote(s)
            case .glob(let s): return s
            case .variable(let n, let f): return f.map { "\"${\(n):-\($0)}\"" } ?? "\"${\(n)}\""
            }
        }.joined()
    }

    /// `prefix` (an option like `--prompt=`) joined to this word.
    public func shell(after prefix: String) -> String {
        ShellWord([.literal(prefix)] + parts).shell
    }

    static let bare = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+,=-")

    public static func quote(_ s: String) -> String {
        if !s.isEmpty && s.allSatisfy({ bare.contains($0) }) { return s }
        // `$'...'` for control characters, and for `$`, backquotes and backslashes too:
        // shellcheck takes those inside '...' for a mistake (SC2016, SC1003).
        if s.unicodeScalars.contains(where: {
            $0.value < 0x20 || $0.value == 0x7F || "$`\\".unicodeScalars.contains($0)
        }) {
            var out = "$'"
            for u in s.unicodeScalars {
                switch u {
                case "\\": out += "\\\\"
                case "'": out += "\\'"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                case _ where u.value < 0x20 || u.value == 0x7F: out += String(format: "\\x%02x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "'"
        }
        return "'" + s.replacingScalar("'", with: "'\\''") + "'"
    }
}

extension String {
    /// Replaces every `scalar`, whatever follows it. (Foundation's
    /// replacingOccurrences compares characters: a quote followed by a combining
    /// mark would not be found, and would close a quoted word.)
    func replacingScalar(_ scalar: Unicode.Scalar, with replacement: String) -> String {
        var out = String.UnicodeScalarView()
        for u in unicodeScalars {
            if u == scalar { out.append(contentsOf: replacement.unicodeScalars) } else { out.append(u) }
        }
        return String(out)
    }
}
