import Foundation
import RecordCore

/// One function of the expression language: its name, how many arguments it
/// takes and what it does, together. The parser checks calls against this
/// table and the evaluator runs `evaluate`; adding a function is one entry.
struct ExpressionFunction {
    typealias Compiled = EvalContext.Compiled
    /// Evaluates a call: the argument trees (for functions that look at a field
    /// itself, like `exists`), their compiled forms, and the call's column.
    typealias Body = (inout EvalContext, [Expression.Node], [Compiled], Int) throws -> JSONValue

    let name: String
    let arity: ClosedRange<Int>
    /// The second argument is evaluated once per element of the first (`all`, `any`, `count`).
    var quantifier = false
    let evaluate: Body

    /// A function of its arguments' values, evaluated left to right.
    static func values(
        _ name: String, _ arity: ClosedRange<Int>, _ body: @escaping (EvalContext, [JSONValue], Int) throws -> JSONValue
    )
        -> ExpressionFunction
    {
        ExpressionFunction(name: name, arity: arity) { ctx, _, compiled, column in
            var values: [JSONValue] = []
            for f in compiled { values.append(try f(&ctx)) }
            return try body(ctx, values, column)
        }
    }

    static let named: [String: ExpressionFunction] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, $0) })

    static let all: [ExpressionFunction] = [
        ExpressionFunction(name: "exists", arity: 1...1) { ctx, args, _, _ in
            guard let found = ctx.lookup(args[0]) else { return .bool(false) }
            return .bool(found != nil)
        },
        quantifier("all"), quantifier("any"), quantifier("count"),
        values("len", 1...1) { ctx, v, column in
            switch v[0] {
            case .null: return .int(0)
            case .string(let s): return .int(s.count)
            case .array(let a): return .int(a.count)
            case .object(let o): return .int(o.count)
            default: throw ctx.typeError(column, "len() needs a string, array or object, got a \(v[0].typeName)")
            }
        },
        text("lower") { $0.lowercased() },
        text("upper") { $0.uppercased() },
        text("trim") { $0.trimmingCharacters(in: .whitespacesAndNewlines) },
        values("contains", 2...2) { ctx, v, column in
            switch (v[0], v[1]) {
            case (.null, _): return .bool(false)
            case (.string(let s), .string(let t)): return .bool(t.isEmpty || s.contains(t))
            case (.array(let a), let t): return .bool(a.contains(t))
            case (.object(let o), .string(let k)): return .bool(o.index(of: k) != nil)
            default:
                throw ctx.typeError(column, "contains() needs a string, array or object first, got a \(v[0].typeName)")
            }
        },
        affix("startswith") { $0.hasPrefix($1) },
        affix("endswith") { $0.hasSuffix($1) },
        values("number", 1...1) { _, v, _ in
            switch v[0] {
            case .number: return v[0]
            case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces)).map { .double($0) } ?? .null
            case .bool(let b): return .int(b ? 1 : 0)
            default: return .null
            }
        },
        values("string", 1...1) { _, v, _ in .string(Template.text(of: v[0])) },
    ]

    /// `all(list)`, `any(list)`, `count(list)`, or with a condition on each element:
    /// `all(scores.correct, @ == true)`. A missing list is empty.
    static func quantifier(_ name: String) -> ExpressionFunction {
        ExpressionFunction(name: name, arity: 1...2, quantifier: true) { ctx, args, compiled, column in
            let list: [JSONValue]
            switch try compiled[0](&ctx) {
            case .null: return name == "count" ? .int(0) : .bool(false)
            case .array(let a): list = a
            case let v: throw ctx.typeError(column, "\(name)() needs an array, got a \(v.typeName)")
            }
            var n = 0
            for e in list {
                var ok: Bool
                if args.count == 2 {
                    ctx.elements.append(e)
                    defer { ctx.elements.removeLast() }
                    ok = try compiled[1](&ctx).isTruthy
                } else {
                    ok = e.isTruthy
                }
                if name == "all" && !ok { return .bool(false) }
                if name == "any" && ok { return .bool(true) }
                if ok { n += 1 }
            }
            switch name {
            case "all": return .bool(true)
            case "any": return .bool(false)
            default: return .int(n)
            }
        }
    }

    /// A string -> string function; null stays null.
    static func text(_ name: String, _ f: @escaping (String) -> String) -> ExpressionFunction {
        values(name, 1...1) { ctx, v, column in
            switch v[0] {
            case .null: return .null
            case .string(let s): return .string(f(s))
            default: throw ctx.typeError(column, "\(name)() needs a string, got a \(v[0].typeName)")
            }
        }
    }

    /// A test of a string's start or end; a missing string is false.
    static func affix(_ name: String, _ test: @escaping (String, String) -> Bool) -> ExpressionFunction {
        values(name, 2...2) { ctx, v, column in
            switch (v[0], v[1]) {
            case (.null, _): return .bool(false)
            case (.string(let s), .string(let t)): return .bool(test(s, t))
            default:
                throw ctx.typeError(
                    column, "\(name)() needs two strings, got a \(v[0].typeName) and a \(v[1].typeName)")
            }
        }
    }
}
