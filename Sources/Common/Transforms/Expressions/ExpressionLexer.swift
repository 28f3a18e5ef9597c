import RecordCore

/// A mistake in an expression, shown with a caret under the column.
public struct ExpressionError: Error, CustomStringConvertible {
    public var expression: String
    public var column: Int
    public var message: String

    /// The message, then the expression with a caret under the column; a long
    /// expression is shown as the 70 characters around the column.
    public var description: String {
        let chars = Array(expression.replacingOccurrences(of: "\n", with: " "))
        let at = max(0, min(column - 1, chars.count))
        let from = max(0, at - 35)
        let to = min(chars.count, from + 70)
        let shown = (from > 0 ? "…" : "") + String(chars[from..<to]) + (to < chars.count ? "…" : "")
        let caret = String(repeating: " ", count: at - from + (from > 0 ? 1 : 0)) + "^"
        return "bad expression at column \(column): \(message)\n  \(shown)\n  \(caret)"
    }
}

struct Token {
    enum Kind: Equatable {
        case number(Double, String)
        case string(String)
        case regex(String, String)  // pattern, flags
        case identifier(String)
        case at  // @, the element inside all/any/count
        case op(String)
        case end
    }
    var kind: Kind
    /// 1-based column of the first character.
    var column: Int
}

/// Turns an expression into tokens. A `/` starts a regex literal where an
/// operand is expected and means division after one.
struct ExpressionLexer {
    let text: String
    let chars: [Character]
    var i = 0
    var tokens: [Token] = []

    init(_ text: String) {
        self.text = text
        self.chars = Array(text)
    }

    func error(_ column: Int, _ message: String) -> ExpressionError {
        ExpressionError(expression: text, column: column, message: message)
    }

    var previousIsOperand: Bool {
        guard let last = tokens.last else { return false }
        switch last.kind {
        case .number, .string, .regex, .identifier, .at: return true
        case .op(let o): return o == ")" || o == "]"
        case .end: return false
        }
    }

    static let operators = [
        "==", "!=", "<=", ">=", "&&", "||", "!~", "??", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", ",", "~", ".",
        "[", "]",
    ]

    mutating func tokenize() throws -> [Token] {
        while true {
            while i < chars.count, chars[i].isWhitespace { i += 1 }
            guard i < chars.count else { break }
            let start = i + 1
            let c = chars[i]
            if c.isNumber && c.isASCII {
                var s = ""
                while i < chars.count, chars[i].isASCII, chars[i].isNumber || chars[i] == "." {
                    s.append(chars[i])
                    i += 1
                }
                if i < chars.count, chars[i] == "e" || chars[i] == "E" {
                    s.append(chars[i])
                    i += 1
                    if i < chars.count, chars[i] == "+" || chars[i] == "-" {
                        s.append(chars[i])
                        i += 1
                    }
                    while i < chars.count, chars[i].isASCII, chars[i].isNumber {
                        s.append(chars[i])
                        i += 1
                    }
                }
                guard let v = Double(s) else { throw error(start, "bad number '\(s)'") }
                tokens.append(Token(kind: .number(v, s), column: start))
            } else if c == "\"" || c == "'" {
                tokens.append(Token(kind: .string(try quoted(c, start: start)), column: start))
            } else if c == "/" && !previousIsOperand {
                i += 1
                var pattern = ""
                while i < chars.count, chars[i] != "/" {
                    if chars[i] == "\\", i + 1 < chars.count {
                        // Keep the escape for the regex engine, except an escaped slash.
                        if chars[i + 1] != "/" { pattern.append("\\") }
                        pattern.append(chars[i + 1])
                        i += 2
                    } else {
                        pattern.append(chars[i])
                        i += 1
                    }
                }
                guard i < chars.count else { throw error(start, "regex is never closed; end it with '/'") }
                i += 1
                var flags = ""
                while i < chars.count, chars[i].isLetter {
                    flags.append(chars[i])
                    i += 1
                }
                tokens.append(Token(kind: .regex(pattern, flags), column: start))
            } else if c.isLetter || c == "_" {
                var s = ""
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" {
                    s.append(chars[i])
                    i += 1
                }
                tokens.append(Token(kind: .identifier(s), column: start))
            } else if c == "@" {
                i += 1
                tokens.append(Token(kind: .at, column: start))
            } else {
                var matched: String?
                for op in ExpressionLexer.operators {
                    let n = op.count
                    if i + n <= chars.count, String(chars[i..<(i + n)]) == op {
                        matched = op
                        break
                    }
                }
                guard let op = matched else {
                    if c == "=" { throw error(start, "use '==' to compare") }
                    if c == "&" || c == "|" { throw error(start, "use '\(c)\(c)'") }
                    throw error(start, "unexpected character '\(c)'")
                }
                i += op.count
                tokens.append(Token(kind: .op(op), column: start))
            }
        }
        tokens.append(Token(kind: .end, column: chars.count + 1))
        return tokens
    }

    mutating func quoted(_ q: Character, start: Int) throws -> String {
        i += 1
        var s = ""
        while i < chars.count, chars[i] != q {
            if chars[i] == "\\", i + 1 < chars.count {
                switch chars[i + 1] {
                case "n": s.append("\n")
                case "t": s.append("\t")
                case "r": s.append("\r")
                default: s.append(chars[i + 1])
                }
                i += 2
            } else {
                s.append(chars[i])
                i += 1
            }
        }
        guard i < chars.count else { throw error(start, "string is never closed; end it with \(q)") }
        i += 1
        return s
    }
}
