import Foundation
import RecordCore

/// Evaluates an expression tree for one record.
struct EvalContext {
    let fields: [JSONValue?]
    let paths: [FieldPath]
    let text: String
    /// The array elements being tested by all/any/count, innermost last.
    var elements: [JSONValue] = []

    init(fields: [JSONValue?], paths: [FieldPath], text: String) {
        self.fields = fields
        self.paths = paths
        self.text = text
    }

    func typeError(_ column: Int, _ message: String) -> RecordError {
        .message("\(message) (expression column \(column): \(text))")
    }

    /// A field's value, or nil when the record lacks it.
    func lookup(_ node: Expression.Node) -> JSONValue?? {
        switch node {
        case .field(let i, _): return .some(fields[i])
        case .element(let path, _):
            guard let e = elements.last else { return .some(nil) }
            return .some(path.map { e.value(at: $0) } ?? e)
        default: return nil
        }
    }

    typealias Compiled = (inout EvalContext) throws -> JSONValue

    /// Turns the tree into nested closures once, so evaluating a record does
    /// no tree walking or pattern matching on the way.
    static func compile(_ node: Expression.Node, paths: [FieldPath], text: String) -> Compiled {
        func c(_ n: Expression.Node) -> Compiled { compile(n, paths: paths, text: text) }
        switch node {
        case .literal(let v): return { _ in v }
        case .field(let i, let column):
            let p = paths[i].description
            return { ctx in
                guard let v = ctx.fields[i] else {
                    throw RecordError.missing(
                        p,
                        hint:
                            "the expression reads it at column \(column); write exists(\(p)) or \(p) ?? DEFAULT where it may be missing"
                    )
                }
                return v
            }
        case .element(let path, let column):
            return { ctx in
                let e = ctx.elements.last!
                guard let path else { return e }
                guard let v = e.value(at: path) else {
                    throw RecordError.missing(
                        path.description, hint: "an array element lacks it (expression column \(column))")
                }
                return v
            }
        case .not(let a):
            let ca = c(a)
            return { ctx in .bool(!(try ca(&ctx).isTruthy)) }
        case .negate(let a, let column):
            let ca = c(a)
            return { ctx in
                switch try ca(&ctx) {
                case .null: return .null
                case .number(let n): return .number(n.negated)
                case let v: throw ctx.typeError(column, "cannot negate a \(v.typeName)")
                }
            }
        case .and(let a, let b):
            let ca = c(a)
            let cb = c(b)
            return { ctx in
                guard try ca(&ctx).isTruthy else { return .bool(false) }
                return .bool(try cb(&ctx).isTruthy)
            }
        case .or(let a, let b):
            let ca = c(a)
            let cb = c(b)
            return { ctx in
                if try ca(&ctx).isTruthy { return .bool(true) }
                return .bool(try cb(&ctx).isTruthy)
            }
        case .coalesce(let a, let b):
            let ca = c(a)
            let cb = c(b)
            return { ctx in
                let left: JSONValue?
                if let found = ctx.lookup(a) { left = found } else { left = try ca(&ctx) }
                if let left, left != .null { return left }
                return try cb(&ctx)
            }
        case .match(let a, let regex, let negated, _):
            let ca = c(a)
            return { ctx in
                let v = try ca(&ctx)
                switch v {
                case .null: return .bool(negated)
                case .string(let str): return .bool(try regex.matches(str) != negated)
                default: return .bool(try regex.matches(JSONWriter.string(v)) != negated)
                }
            }
        case .binary(let op, let a, let b, let column):
            let ca = c(a)
            let cb = c(b)
            // Numbers compared with numbers are the common case: no dispatch on the operator text.
            let compare: ((Double, Double) -> Bool)?
            switch op {
            case "==": compare = { $0 == $1 }
            case "!=": compare = { $0 != $1 }
            case "<": compare = { $0 < $1 }
            case "<=": compare = { $0 <= $1 }
            case ">": compare = { $0 > $1 }
            case ">=": compare = { $0 >= $1 }
            default: compare = nil
            }
            return { ctx in
                let x = try ca(&ctx)
                let y = try cb(&ctx)
                // Unequal doubles order as their exact values do; equal ones may hide a difference.
                if let compare, case .number(let p) = x, case .number(let q) = y, p.value != q.value {
                    return .bool(compare(p.value, q.value))
                }
                return try ctx.binary(op, x, y, column)
            }
        case .call(let name, let args, let column):
            let compiled = args.map(c)
            // The parser admits only names in the table.
            let function = ExpressionFunction.named[name]!
            return { ctx in try function.evaluate(&ctx, args, compiled, column) }
        }
    }

    func binary(_ op: String, _ x: JSONValue, _ y: JSONValue, _ column: Int) throws -> JSONValue {
        switch op {
        case "==": return .bool(x == y)
        case "!=": return .bool(x != y)
        case "<", "<=", ">", ">=":
            let order: ComparisonResult
            switch (x, y) {
            case (.null, _), (_, .null): return .bool(false)
            case (.number(let p), .number(let q)):
                order = JSONNumber.order(p, q)
            case (.string(let p), .string(let q)):
                order = p < q ? .orderedAscending : (p > q ? .orderedDescending : .orderedSame)
            default:
                throw typeError(
                    column, "cannot compare a \(x.typeName) (\(x)) with a \(y.typeName) (\(y)) using '\(op)'")
            }
            switch op {
            case "<": return .bool(order == .orderedAscending)
            case "<=": return .bool(order != .orderedDescending)
            case ">": return .bool(order == .orderedDescending)
            default: return .bool(order != .orderedAscending)
            }
        default:
            switch (x, y) {
            case (.null, _), (_, .null): return .null
            case (.number(let p), .number(let q)):
                switch op {
                case "+": return .number(.computed(p.value + q.value))
                case "-": return .number(.computed(p.value - q.value))
                case "*": return .number(.computed(p.value * q.value))
                case "/": return q.value == 0 ? .null : .number(.computed(p.value / q.value))
                default:
                    return q.value == 0 ? .null : .number(.computed(p.value.truncatingRemainder(dividingBy: q.value)))
                }
            case (.string(let p), .string(let q)) where op == "+": return .string(p + q)
            case (.array(let p), .array(let q)) where op == "+": return .array(p + q)
            default:
                throw typeError(column, "cannot apply '\(op)' to a \(x.typeName) and a \(y.typeName)")
            }
        }
    }
}
