/// A parsed JSON value. Objects keep their members in input order so a record
/// that is parsed and written again keeps its shape.
public enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func int(_ v: Int) -> JSONValue { .number(JSONNumber(Double(v))) }
    public static func double(_ v: Double) -> JSONValue { .number(JSONNumber(v)) }

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// jq's rule: only false and null are false.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        default: return true
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var doubleValue: Double? {
        if case .number(let n) = self { return n.value }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
}

/// A number with the text it was written as, so `1.0` is written back as `1.0`.
public struct JSONNumber: Equatable {
    public var value: Double
    public var text: String?
    /// The result of arithmetic: its exact value is the double's own, not a decimal.
    public var computed = false

    public init(_ value: Double, text: String? = nil) {
        self.value = value
        self.text = text
    }

    /// Equal values, exactly: `1 == 1.0`, but 1234567890123456788 != 1234567890123456789.
    public static func == (a: JSONNumber, b: JSONNumber) -> Bool { order(a, b) == .orderedSame }
}

/// An ordered JSON object. Records have a handful of keys, so a linear scan
/// beats hashing and keeps insertion order for free.
public struct JSONObject: Equatable {
    public var members: [(key: String, value: JSONValue)] = []

    public init() {}
    public init(_ members: [(key: String, value: JSONValue)]) { self.members = members }

    public var count: Int { members.count }
    public var keys: [String] { members.map { $0.key } }

    public func index(of key: String) -> Int? { members.firstIndex { $0.key == key } }

    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { members[$0].value } }
        set {
            if let i = index(of: key) {
                if let v = newValue { members[i].value = v } else { members.remove(at: i) }
            } else if let v = newValue {
                members.append((key, v))
            }
        }
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        guard a.members.count == b.members.count else { return false }
        for (x, y) in zip(a.members, b.members) where x.key != y.key || x.value != y.value { return false }
        return true
    }
}
