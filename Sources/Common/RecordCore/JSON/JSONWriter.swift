import Foundation

/// Writes JSON compactly into a byte buffer: non-ASCII text as UTF-8 (never
/// `\u` escapes), numbers as they were read when their text is known.
public enum JSONWriter {
    /// `canonicalNumbers` writes every number by its value (for keys that must not depend on spelling).
    public static func write(_ value: JSONValue, into out: inout [UInt8], canonicalNumbers: Bool = false) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n):
            if canonicalNumbers {
                out.append(contentsOf: (n.exact?.canonical ?? n.text ?? format(n.value)).utf8)
            } else {
                out.append(contentsOf: (n.text ?? format(n.value)).utf8)
            }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(v, into: &out, canonicalNumbers: canonicalNumbers)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, m) in o.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(m.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(m.value, into: &out, canonicalNumbers: canonicalNumbers)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func string(_ value: JSONValue) -> String {
        var out: [UInt8] = []
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Integers print without a fraction; other numbers in Swift's shortest
    /// round-tripping form. JSON has no infinity or NaN: those become null.
    public static func format(_ d: Double) -> String {
        if !d.isFinite { return "null" }
        if d == d.rounded(), abs(d) < 9.0e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0
            for (i, c) in bytes.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                runStart = i + 1
                out.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append(contentsOf: "u00".utf8)
                    out.append(hex[Int(c >> 4)])
                    out.append(hex[Int(c & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { JSONWriter.string(self) }
}

extension JSONValue {
    /// Parses bytes holding one complete JSON text (a server's answer, a cache entry).
    public static func parse(bytes: [UInt8], keepNumberText: Bool = true) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { b in
            var r = JSONReader(b)
            r.keepNumberText = keepNumberText
            let v = try r.parseValue()
            try r.expectEnd()
            return v
        }
    }

    /// Parses one complete JSON text (tests, option values, templates).
    public static func parse(_ text: String, keepNumberText: Bool = true) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes in
            var r = JSONReader(bytes)
            r.keepNumberText = keepNumberText
            let v = try r.parseValue()
            try r.expectEnd()
            return v
        }
    }
}
