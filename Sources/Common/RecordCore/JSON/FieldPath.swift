/// A path to a field inside a record: `a.b.c`, `a[0]`, `a["key with.dot"]`.
public struct FieldPath: Hashable, CustomStringConvertible {
    public enum Component: Hashable {
        case key(String)
        case index(Int)
    }

    public var components: [Component]
    public let description: String

    public init(components: [Component], text: String) {
        self.components = components
        self.description = text
    }

    /// Parses a path; the error names the column that is wrong.
    public init(parsing text: String) throws {
        var comps: [Component] = []
        let chars = Array(text)
        var i = 0
        func fail(_ msg: String) -> FieldPathError { FieldPathError(path: text, column: i + 1, message: msg) }
        if chars.isEmpty { throw FieldPathError(path: text, column: 1, message: "empty field path") }
        var expectKey = true
        while i < chars.count {
            let c = chars[i]
            if c == "[" {
                i += 1
                if i < chars.count, chars[i] == "\"" {
                    i += 1
                    var key = ""
                    while i < chars.count, chars[i] != "\"" {
                        key.append(chars[i])
                        i += 1
                    }
                    guard i + 1 < chars.count, chars[i + 1] == "]" else {
                        throw fail("expected '\"]' to close a quoted key")
                    }
                    i += 2
                    comps.append(.key(key))
                } else {
                    var digits = ""
                    while i < chars.count, chars[i].isNumber {
                        digits.append(chars[i])
                        i += 1
                    }
                    guard !digits.isEmpty, let n = Int(digits), i < chars.count, chars[i] == "]" else {
                        throw fail("expected an array index like [0] or a quoted key like [\"a.b\"]")
                    }
                    i += 1
                    comps.append(.index(n))
                }
                expectKey = false
            } else if c == "." {
                if expectKey { throw fail("empty key before '.'") }
                i += 1
                expectKey = true
                if i == chars.count { throw fail("path ends with '.'") }
            } else {
                if !expectKey { throw fail("expected '.' or '[' before '\(c)'") }
                var key = ""
                while i < chars.count, chars[i] != ".", chars[i] != "[" {
                    key.append(chars[i])
                    i += 1
                }
                comps.append(.key(key))
                expectKey = false
            }
        }
        self.components = comps
        self.description = text
    }

}

public struct FieldPathError: ToolFailure, CustomStringConvertible {
    public var path: String
    public var column: Int
    public var message: String
    public var description: String { "bad field path '\(path)' at column \(column): \(message)" }
}

extension JSONValue {
    /// The value at `path`, or nil when any step is missing.
    public func value(at path: FieldPath) -> JSONValue? {
        value(at: path.components[...])
    }

    func value(at comps: ArraySlice<FieldPath.Component>) -> JSONValue? {
        guard let first = comps.first else { return self }
        switch (first, self) {
        case (.key(let k), .object(let o)): return o[k]?.value(at: comps.dropFirst())
        case (.index(let i), .array(let a)): return i < a.count ? a[i].value(at: comps.dropFirst()) : nil
        default: return nil
        }
    }

    /// Sets the value at `path`, creating objects along the way. Fails when a
    /// step runs into a non-object or an index past the end of an array.
    public mutating func set(_ newValue: JSONValue, at path: FieldPath) throws {
        try set(newValue, at: path.components[...], path: path)
    }

    mutating func set(_ newValue: JSONValue, at comps: ArraySlice<FieldPath.Component>, path: FieldPath) throws {
        guard let first = comps.first else {
            self = newValue
            return
        }
        switch first {
        case .key(let k):
            if case .null = self { self = .object(JSONObject()) }
            guard case .object(var o) = self else {
                throw RecordError.field(path.description, "cannot set key '\(k)' inside a \(typeName)")
            }
            self = .null  // release the old storage so the copy below is unique
            var child = o[k] ?? .null
            try child.set(newValue, at: comps.dropFirst(), path: path)
            o[k] = child
            self = .object(o)
        case .index(let i):
            guard case .array(var a) = self, i < a.count else {
                throw RecordError.field(path.description, "index [\(i)] is not inside an array here")
            }
            self = .null
            try a[i].set(newValue, at: comps.dropFirst(), path: path)
            self = .array(a)
        }
    }

    /// Removes the value at `path`; a missing path is left alone.
    public mutating func remove(at path: FieldPath) {
        remove(at: path.components[...])
    }

    mutating func remove(at comps: ArraySlice<FieldPath.Component>) {
        guard let first = comps.first else { return }
        let last = comps.count == 1
        switch (first, self) {
        case (.key(let k), .object(var o)):
            guard let i = o.index(of: k) else { return }
            if last { o.members.remove(at: i) } else { o.members[i].value.remove(at: comps.dropFirst()) }
            self = .object(o)
        case (.index(let i), .array(var a)) where i < a.count:
            if last { a.remove(at: i) } else { a[i].remove(at: comps.dropFirst()) }
            self = .array(a)
        default: return
        }
    }
}

extension FieldPathError {
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { .usage }
}
