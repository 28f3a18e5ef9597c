import RecordCore

/// A parsed filter expression over a record's fields.
///
///     scores.solvability >= 3 && !(instruction ~ /^NO_INST/)
///
/// Grammar and semantics: docs/filter.md. Field paths are collected at
/// parse time so a record is read once, for exactly those fields.
public final class Expression {
    indirect enum Node {
        case literal(JSONValue)
        case field(Int, column: Int)  // index into `paths`
        case element(FieldPath?, column: Int)  // @ or @.path inside all/any/count
        case not(Node)
        case negate(Node, column: Int)
        case binary(String, Node, Node, column: Int)
        case and(Node, Node)
        case or(Node, Node)
        case coalesce(Node, Node)
        case match(Node, Regex, negated: Bool, column: Int)
        case call(String, [Node], column: Int)
    }

    public let text: String
    /// The fields the expression reads, in first-use order.
    public private(set) var paths: [FieldPath] = []
    var root: Node = .literal(.null)

    public init(_ text: String) throws {
        self.text = text
        var lexer = ExpressionLexer(text)
        var parser = ExpressionParser(text: text, tokens: try lexer.tokenize())
        root = try parser.parseAll { [unowned self] path in
            if let i = self.paths.firstIndex(of: path) { return i }
            self.paths.append(path)
            return self.paths.count - 1
        }
    }

    /// Evaluates against the values of `paths` (nil where a field is absent).
    public func evaluate(_ fields: [JSONValue?]) throws -> JSONValue {
        var ctx = EvalContext(fields: fields, paths: paths, text: text)
        return try compiled(&ctx)
    }

    lazy var compiled: EvalContext.Compiled = EvalContext.compile(root, paths: paths, text: text)

    public func evaluate(record: JSONValue) throws -> JSONValue {
        try evaluate(paths.map { record.value(at: $0) })
    }

    /// True when the expression holds (only false and null count as false).
    public func holds(_ fields: [JSONValue?]) throws -> Bool {
        try evaluate(fields).isTruthy
    }
}

struct ExpressionParser {
    let text: String
    let tokens: [Token]
    var i = 0
    /// Depth of all/any/count predicates: where `@` is allowed.
    var elementScopes = 0
    /// Parentheses, calls and prefix operators open: bounded, so a hostile
    /// expression is refused with a caret instead of overflowing the stack.
    var nesting = 0
    static let maxNesting = 200
    /// The deepest expression tree evaluated (chains like a+a+a+... count too).
    static let maxDepth = 1000

    mutating func enter(_ t: Token) throws {
        nesting += 1
        if nesting > ExpressionParser.maxNesting {
            throw error(t, "nested more than \(ExpressionParser.maxNesting) levels deep; split the expression up")
        }
    }
    var fieldIndex: (FieldPath) -> Int = { _ in 0 }

    init(text: String, tokens: [Token]) {
        self.text = text
        self.tokens = tokens
    }

    func error(_ t: Token, _ message: String) -> ExpressionError {
        ExpressionError(expression: text, column: t.column, message: message)
    }

    var current: Token { tokens[i] }

    func isOp(_ s: String) -> Bool {
        if case .op(s) = current.kind { return true }
        return false
    }

    mutating func expectOp(_ s: String, _ what: String) throws {
        guard isOp(s) else { throw error(current, "expected '\(s)' \(what), found \(describe(current))") }
        i += 1
    }

    func describe(_ t: Token) -> String {
        switch t.kind {
        case .number(_, let s): return "number \(s)"
        case .string(let s): return "string \"\(s)\""
        case .regex(let p, _): return "regex /\(p)/"
        case .identifier(let s): return "'\(s)'"
        case .at: return "'@'"
        case .op(let o): return "'\(o)'"
        case .end: return "the end of the expression"
        }
    }

    mutating func parseAll(_ index: @escaping (FieldPath) -> Int) throws -> Expression.Node {
        fieldIndex = index
        if case .end = current.kind { throw error(current, "empty expression") }
        let node = try parseCoalesce()
        guard case .end = current.kind else {
            throw error(current, "unexpected \(describe(current)); expected an operator such as && or ==")
        }
        if ExpressionParser.deeper(node, than: ExpressionParser.maxDepth) {
            throw error(
                tokens[0], "more than \(ExpressionParser.maxDepth) operations deep; split the expression up")
        }
        return node
    }

    mutating func parseCoalesce() throws -> Expression.Node {
        var left = try parseOr()
        while isOp("??") {
            i += 1
            left = .coalesce(left, try parseOr())
        }
        return left
    }

    mutating func parseOr() throws -> Expression.Node {
        var left = try parseAnd()
        while isOp("||") {
            i += 1
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws -> Expression.Node {
        var left = try parseComparison()
        while isOp("&&") {
            i += 1
            left = .and(left, try parseComparison())
        }
        return left
    }

    mutating func parseComparison() throws -> Expression.Node {
        let left = try parseAdditive()
        for op in ["==", "!=", "<=", ">=", "<", ">"] where isOp(op) {
            let t = current
            i += 1
            let right = try parseAdditive()
            return .binary(op, left, right, column: t.column)
        }
        if isOp("~") || isOp("!~") {
            let t = current
            i += 1
            let negated = t.kind == .op("!~")
            guard case .regex(let pattern, let flags) = current.kind else {
                throw error(current, "expected a regex like /pattern/ after '\(negated ? "!~" : "~")'")
            }
            let regex: Regex
            do { regex = try Regex(pattern, flags: flags) } catch let e as Regex.CompileError {
                // Column of the pattern character PCRE2 complained about (+1 for the slash).
                throw ExpressionError(
                    expression: text, column: current.column + 1 + e.offset, message: "bad regex: \(e.message)")
            }
            i += 1
            return .match(left, regex, negated: negated, column: t.column)
        }
        return left
    }

    mutating func parseAdditive() throws -> Expression.Node {
        var left = try parseMultiplicative()
        while isOp("+") || isOp("-") {
            let t = current
            guard case .op(let op) = t.kind else { break }
            i += 1
            left = .binary(op, left, try parseMultiplicative(), column: t.column)
        }
        return left
    }

    mutating func parseMultiplicative() throws -> Expression.Node {
        var left = try parseUnary()
        while isOp("*") || isOp("/") || isOp("%") {
            let t = current
            guard case .op(let op) = t.kind else { break }
            i += 1
            left = .binary(op, left, try parseUnary(), column: t.column)
        }
        return left
    }

    mutating func parseUnary() throws -> Expression.Node {
        if isOp("!") {
            try enter(current)
            defer { nesting -= 1 }
            i += 1
            return .not(try parseUnary())
        }
        if isOp("-") {
            let t = current
            try enter(t)
            defer { nesting -= 1 }
            i += 1
            return .negate(try parseUnary(), column: t.column)
        }
        return try parsePrimary()
    }

    /// True when the tree is deeper than `limit`; looks no deeper than that itself.
    static func deeper(_ node: Expression.Node, than limit: Int) -> Bool {
        if limit <= 0 { return true }
        switch node {
        case .literal, .field, .element: return false
        case .not(let a), .negate(let a, _), .match(let a, _, _, _): return deeper(a, than: limit - 1)
        case .binary(_, let a, let b, _), .and(let a, let b), .or(let a, let b), .coalesce(let a, let b):
            return deeper(a, than: limit - 1) || deeper(b, than: limit - 1)
        case .call(_, let args, _): return args.contains { deeper($0, than: limit - 1) }
        }
    }

    mutating func parsePrimary() throws -> Expression.Node {
        let t = current
        switch t.kind {
        case .number(let v, let s):
            i += 1
            return .literal(.number(JSONNumber(v, text: s)))
        case .string(let s):
            i += 1
            return .literal(.string(s))
        case .regex:
            throw error(t, "a regex goes after '~' or '!~', as in: field ~ /pattern/")
        case .at:
            guard elementScopes > 0 else {
                throw error(t, "'@' stands for an array element and only works inside all(), any() or count()")
            }
            i += 1
            if isOp(".") || isOp("[") {
                let path = try parsePathTail(start: [], text: "@", column: t.column)
                return .element(path, column: t.column)
            }
            return .element(nil, column: t.column)
        case .identifier(let name):
            i += 1
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: break
            }
            if isOp("(") {
                try enter(t)
                defer { nesting -= 1 }
                return try parseCall(name, t)
            }
            let path = try parsePathTail(start: [.key(name)], text: name, column: t.column)
            return .field(fieldIndex(path), column: t.column)
        case .op("("):
            try enter(t)
            defer { nesting -= 1 }
            i += 1
            let inner = try parseCoalesce()
            try expectOp(")", "to close '('")
            return inner
        case .end:
            throw error(t, "the expression ends where a value was expected")
        case .op(let o):
            throw error(t, "unexpected '\(o)' where a value was expected")
        }
    }

    /// `.key`, `[0]`, `["key"]` after a name or `@`.
    mutating func parsePathTail(start: [FieldPath.Component], text: String, column: Int) throws -> FieldPath {
        var comps = start
        var s = text
        while true {
            if isOp(".") {
                i += 1
                guard case .identifier(let k) = current.kind else {
                    throw error(current, "expected a field name after '.'")
                }
                i += 1
                comps.append(.key(k))
                s += (s.isEmpty ? "" : ".") + k
            } else if isOp("[") {
                i += 1
                switch current.kind {
                case .number(let v, let raw) where v >= 0 && v == v.rounded():
                    comps.append(.index(Int(v)))
                    s += "[\(raw)]"
                case .string(let k):
                    comps.append(.key(k))
                    s += "[\"\(k)\"]"
                default:
                    throw error(current, "expected an index like [0] or a quoted key like [\"a.b\"]")
                }
                i += 1
                try expectOp("]", "to close '['")
            } else {
                break
            }
        }
        return FieldPath(components: comps, text: s)
    }

    mutating func parseCall(_ name: String, _ t: Token) throws -> Expression.Node {
        guard let function = ExpressionFunction.named[name] else {
            let known = ExpressionFunction.named.keys.sorted().joined(separator: ", ")
            throw error(t, "unknown function '\(name)'; known: \(known)")
        }
        i += 1  // (
        var args: [Expression.Node] = []
        let quantifier = function.quantifier
        if !isOp(")") {
            while true {
                if quantifier && args.count == 1 { elementScopes += 1 }
                let a = try parseCoalesce()
                if quantifier && args.count == 1 { elementScopes -= 1 }
                args.append(a)
                if isOp(",") {
                    i += 1
                    continue
                }
                break
            }
        }
        try expectOp(")", "to close the arguments of \(name)()")
        let arity = function.arity
        guard arity.contains(args.count) else {
            let want = arity.count == 1 ? "\(arity.lowerBound)" : "\(arity.lowerBound) or \(arity.upperBound)"
            throw error(t, "\(name)() takes \(want) argument\(arity.upperBound == 1 ? "" : "s"), got \(args.count)")
        }
        if name == "exists" {
            switch args[0] {
            case .field, .element: break
            default: throw error(t, "exists() takes a field path, as in exists(scores.clarity)")
            }
        }
        return .call(name, args, column: t.column)
    }
}
