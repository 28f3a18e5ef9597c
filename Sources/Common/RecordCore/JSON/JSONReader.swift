import Foundation

/// A syntax error inside one JSON text; `offset` is the byte offset of the problem.
public struct JSONSyntaxError: Error, Equatable {
    public var message: String
    public var offset: Int
}

/// A single-pass reader over the bytes of one JSON text (one JSONL line).
///
/// It can build values (`parseValue`), or walk a value checking its syntax and
/// UTF-8 without building anything (`skipValue`): that is what lets the filter
/// read only the fields an expression touches and copy every other byte as-is.
public struct JSONReader {
    public let base: UnsafePointer<UInt8>
    public let end: Int
    public var pos: Int = 0
    public var depth: Int = 0
    /// From this offset to the end the bytes are known to be valid UTF-8 (Int.max: not known).
    var validUTF8From = Int.max
    /// Whether the rest of the line was checked at its first non-ASCII byte; once is enough.
    var checkedUTF8 = false
    /// Deeper input is refused rather than risking the stack.
    public static let maxDepth = 512

    public init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have a nil base; point at a static byte instead.
        self.base = buffer.baseAddress ?? JSONReader.emptyByte
        self.end = buffer.count
    }

    private static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.pointee = 0
        return UnsafePointer(p)
    }()

    func fail(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: offset ?? pos)
    }

    @inline(__always) public mutating func skipWhitespace() {
        while pos < end {
            let c = base[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { return }
        }
    }

    /// Checks that nothing but whitespace follows the value.
    public mutating func expectEnd() throws {
        skipWhitespace()
        if pos < end { throw fail("unexpected \(describe(base[pos])) after the end of the JSON value") }
    }

    func describe(_ c: UInt8) -> String {
        if c >= 0x21 && c < 0x7F { return "'\(Character(UnicodeScalar(c)))'" }
        return String(format: "byte 0x%02x", c)
    }

    /// Moves to the `{` that opens a record, or explains what is there instead.
    public mutating func expectObjectStart() throws {
        skipWhitespace()
        guard pos < end, base[pos] == UInt8(ascii: "{") else {
            throw fail(
                pos < end ? "a record must be a JSON object ({...}), found \(describe(base[pos]))" : "empty record")
        }
    }

    // MARK: - Skipping (validation without building values)

    public mutating func skipValue() throws {
        skipWhitespace()
        guard pos < end else { throw fail("unexpected end of line where a value was expected") }
        switch base[pos] {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "{"):
            if try open(close: UInt8(ascii: "}")) { return }
            while true {
                skipWhitespace()
                guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw fail(expectedKey()) }
                try skipString()
                try expectColon()
                try skipValue()
                if try endOfMember(close: UInt8(ascii: "}"), what: "object member") { break }
            }
        case UInt8(ascii: "["):
            if try open(close: UInt8(ascii: "]")) { return }
            while true {
                try skipValue()
                if try endOfMember(close: UInt8(ascii: "]"), what: "array element") { break }
            }
        default:
            _ = try scalarValue(build: false)
        }
    }

    /// Steps into the object or array whose bracket is at `pos`. True when it is empty: then it is
    /// already closed and left, so the caller has no members to read.
    @inline(__always) mutating func open(close: UInt8) throws -> Bool {
        depth += 1
        if depth > JSONReader.maxDepth { throw fail("nesting deeper than \(JSONReader.maxDepth) levels") }
        pos += 1
        skipWhitespace()
        if pos < end && base[pos] == close {
            pos += 1
            depth -= 1
            return true
        }
        return false
    }

    func expectedKey() -> String {
        pos < end
            ? "expected a string key in double quotes, found \(describe(base[pos]))"
            : "unexpected end of line inside an object"
    }

    @inline(__always) mutating func expectColon() throws {
        skipWhitespace()
        guard pos < end, base[pos] == UInt8(ascii: ":") else {
            throw fail(
                pos < end
                    ? "expected ':' after an object key, found \(describe(base[pos]))"
                    : "unexpected end of line after an object key")
        }
        pos += 1
    }

    /// After a member: `,` continues (false); the closing bracket ends the container and leaves it (true).
    @inline(__always) mutating func endOfMember(close: UInt8, what: String) throws -> Bool {
        skipWhitespace()
        guard pos < end else {
            throw fail(
                "unexpected end of line inside an \(close == UInt8(ascii: "}") ? "object" : "array") (missing '\(Character(UnicodeScalar(close)))')"
            )
        }
        let c = base[pos]
        if c == UInt8(ascii: ",") {
            pos += 1
            return false
        }
        if c == close {
            pos += 1
            depth -= 1
            return true
        }
        throw fail("expected ',' or '\(Character(UnicodeScalar(close)))' after an \(what), found \(describe(c))")
    }

    // MARK: - Scalars

    /// Reads a number, true, false or null; builds it when `build` is set.
    mutating func scalarValue(build: Bool) throws -> JSONValue {
        let c = base[pos]
        switch c {
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), 0x30...0x39: return try number(build: build)
        default:
            if c >= 0x80 { throw fail("unexpected non-ASCII \(describe(c)) where a value was expected") }
            throw fail("unexpected \(describe(c)) where a value was expected (strings need double quotes)")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        guard pos + n <= end, memcmp(base + pos, w, n) == 0 else {
            throw fail("invalid literal; expected \(word)")
        }
        pos += n
    }

    mutating func number(build: Bool) throws -> JSONValue {
        let start = pos
        var negative = false
        if base[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < end, base[pos] >= 0x30, base[pos] <= 0x39 else {
            throw fail("invalid number: a digit must follow '-'", at: start)
        }
        var intValue: UInt64 = 0
        var digits = 0
        if base[pos] == 0x30 {
            pos += 1
            digits = 1
            if pos < end, base[pos] >= 0x30, base[pos] <= 0x39 { throw fail("invalid number: leading zero", at: start) }
        } else {
            while pos < end, base[pos] >= 0x30, base[pos] <= 0x39 {
                intValue = intValue &* 10 &+ UInt64(base[pos] - 0x30)
                digits += 1
                pos += 1
            }
        }
        var isInteger = true
        if pos < end, base[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard pos < end, base[pos] >= 0x30, base[pos] <= 0x39 else {
                throw fail("invalid number: a digit must follow '.'", at: start)
            }
            while pos < end, base[pos] >= 0x30, base[pos] <= 0x39 { pos += 1 }
        }
        if pos < end, base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < end, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < end, base[pos] >= 0x30, base[pos] <= 0x39 else {
                throw fail("invalid number: a digit must follow the exponent", at: start)
            }
            while pos < end, base[pos] >= 0x30, base[pos] <= 0x39 { pos += 1 }
        }
        guard build else { return .null }
        let value: Double
        if isInteger && digits <= 15 {
            value = negative ? -Double(intValue) : Double(intValue)
        } else {
            value = JSONReader.parseDouble(base + start, pos - start)
        }
        // The text is kept when asked, and always when the double may not be the exact
        // value (more than 15 characters, or out of range): comparisons then use it.
        let length = pos - start
        let inexact = length > 15 || value.isInfinite || (value == 0 && !(isInteger && intValue == 0))
        return .number(
            JSONNumber(
                value,
                text: keepNumberText || inexact
                    ? String(decoding: UnsafeBufferPointer(start: base + start, count: length), as: UTF8.self)
                    : nil))
    }

    /// Set when the value will be written again: keeps `1.50` as `1.50`.
    public var keepNumberText = false

    static func parseDouble(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for i in 0..<n { buf[i] = CChar(bitPattern: p[i]) }
            buf[n] = 0
            return strtod(buf.baseAddress!, nil)
        }
    }

    // MARK: - Building values

    public mutating func parseValue() throws -> JSONValue {
        skipWhitespace()
        guard pos < end else { throw fail("unexpected end of line where a value was expected") }
        switch base[pos] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"):
            var object = JSONObject()
            if try open(close: UInt8(ascii: "}")) { return .object(object) }
            while true {
                skipWhitespace()
                guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw fail(expectedKey()) }
                let key = try parseString()
                try expectColon()
                let value = try parseValue()
                object.members.append((key, value))
                if try endOfMember(close: UInt8(ascii: "}"), what: "object member") { break }
            }
            return .object(object)
        case UInt8(ascii: "["):
            var array: [JSONValue] = []
            if try open(close: UInt8(ascii: "]")) { return .array(array) }
            while true {
                array.append(try parseValue())
                if try endOfMember(close: UInt8(ascii: "]"), what: "array element") { break }
            }
            return .array(array)
        default:
            return try scalarValue(build: true)
        }
    }

    /// Walks the object at `pos` member by member: `body` gets each key and must
    /// read its value (skipValue, parseValue, or forEachMember again). The
    /// value at `pos` must be an object; anything else is a syntax error.
    public mutating func forEachMember(_ body: (String, inout JSONReader) throws -> Void) throws {
        skipWhitespace()
        guard pos < end, base[pos] == UInt8(ascii: "{") else { throw fail("expected an object") }
        if try open(close: UInt8(ascii: "}")) { return }
        while true {
            skipWhitespace()
            guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw fail(expectedKey()) }
            let key = try parseString()
            try expectColon()
            try body(key, &self)
            if try endOfMember(close: UInt8(ascii: "}"), what: "object member") { break }
        }
    }

    /// Whether the next value is an object.
    public mutating func atObject() -> Bool {
        skipWhitespace()
        return pos < end && base[pos] == UInt8(ascii: "{")
    }

    /// Parses a string at the opening quote into its text.
    public mutating func parseString() throws -> String {
        let start = pos + 1
        let escaped = try skipString()
        let rawEnd = pos - 1
        if !escaped {
            return String(decoding: UnsafeBufferPointer(start: base + start, count: rawEnd - start), as: UTF8.self)
        }
        return try JSONReader.unescape(base, from: start, to: rawEnd)
    }

    /// Decodes the escapes of an already validated string body.
    static func unescape(_ base: UnsafePointer<UInt8>, from start: Int, to stop: Int) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(stop - start)
        var i = start
        let reader = JSONReader(UnsafeBufferPointer(start: base, count: stop))
        while i < stop {
            let c = base[i]
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            let e = base[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try reader.readHex4(at: i)
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must pair with a following low one.
                    if i + 6 <= stop, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u"),
                        let low = try? reader.readHex4(at: i + 2), low >= 0xDC00, low < 0xE000
                    {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    } else {
                        throw JSONSyntaxError(
                            message: "unpaired surrogate \\u\(String(scalar, radix: 16)) in a string", offset: i - 6)
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw JSONSyntaxError(
                        message: "unpaired surrogate \\u\(String(scalar, radix: 16)) in a string", offset: i - 6)
                }
                appendUTF8(UnicodeScalar(scalar)!, to: &out)
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func appendUTF8(_ s: UnicodeScalar, to out: inout [UInt8]) {
        var buf = [UInt8]()
        UTF8.encode(s) { buf.append($0) }
        out.append(contentsOf: buf)
    }
}

/// Invalid UTF-8 at `offset`.
