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
            try enter()
            pos += 1
            skipWhitespace()
            if pos < end && base[pos] == UInt8(ascii: "}") {
                pos += 1
                depth -= 1
                return
            }
            while true {
                skipWhitespace()
                guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw fail(expectedKey()) }
                try skipString()
                try expectColon()
                try skipValue()
                if try endOfMember(close: UInt8(ascii: "}"), what: "object member") { break }
            }
            depth -= 1
        case UInt8(ascii: "["):
            try enter()
            pos += 1
            skipWhitespace()
            if pos < end && base[pos] == UInt8(ascii: "]") {
                pos += 1
                depth -= 1
                return
            }
            while true {
                try skipValue()
                if try endOfMember(close: UInt8(ascii: "]"), what: "array element") { break }
            }
            depth -= 1
        default:
            _ = try scalarValue(build: false)
        }
    }

    @inline(__always) mutating func enter() throws {
        depth += 1
        if depth > JSONReader.maxDepth { throw fail("nesting deeper than \(JSONReader.maxDepth) levels") }
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

    /// After a member: `,` continues (false), the closing bracket ends (true).
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
            return true
        }
        throw fail("expected ',' or '\(Character(UnicodeScalar(close)))' after an \(what), found \(describe(c))")
    }

    /// Skips a string starting at the opening quote, validating escapes and UTF-8.
    /// Returns true when the string contained an escape (so its bytes are not its text).
    @discardableResult
    public mutating func skipString() throws -> Bool {
        let open = pos
        pos += 1
        var escaped = false
        while true {
            skipPlainText()
            guard pos < end else { throw fail("unterminated string (no closing '\"')", at: open) }
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                return escaped
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                try skipEscape()
            } else if c < 0x20 {
                throw fail(
                    "control character \(String(format: "0x%02x", c)) inside a string; escape it (\\n, \\t, \\u00XX)")
            } else if c < 0x80 {
                pos += 1
            } else {
                try skipUTF8Sequence()
            }
        }
    }

    /// Advances over string bytes that need no attention: 16 at a time while
    /// none is a quote, backslash or control byte. Non-ASCII characters are
    /// checked as UTF-8 right here, jumping straight to them, so mixed-language
    /// text stays fast. Stops before anything the caller must look at.
    @inline(__always) mutating func skipPlainText() {
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let slash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20)
        let high: UInt64 = 0x8080_8080_8080_8080
        // Locals stay in registers; `pos` is written back once.
        var i = pos
        let end = self.end
        let base = self.base
        defer { pos = i }
        while i &+ 16 <= end {
            let p = UnsafeRawPointer(base + i)
            let v = p.loadUnaligned(as: SIMD16<UInt8>.self)
            let w0 = p.loadUnaligned(as: UInt64.self)
            let w1 = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            let special = any((v .== quote) .| (v .== slash) .| (v .< space))
            if !special && (w0 | w1) & high == 0 {
                i &+= 16
                continue
            }
            // Jump to the first byte that is special or non-ASCII: the lowest
            // flag of these word tests is exact (false flags only sit above a true one).
            let m0 = JSONReader.attention(w0)
            i &+= m0 != 0 ? m0.trailingZeroBitCount >> 3 : 8 &+ (JSONReader.attention(w1).trailingZeroBitCount >> 3)
            // Non-ASCII text (Chinese, emoji) comes in runs: stay in a tight loop over
            // whole characters while it lasts, rather than testing 16 bytes per character.
            // The common forms inline; anything else (an overlong, a surrogate) to the caller.
            var advanced = false
            while i &+ 4 <= end {
                // Two three-byte characters (most of Chinese) per step, tested as one word:
                // leads 1110xxxx, continuations 10xxxxxx; E0 and ED leads (overlong or
                // surrogate ranges) go the careful way below.
                while i &+ 8 <= end {
                    let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    guard w & 0x0000_C0C0_F0C0_C0F0 == 0x0000_8080_E080_80E0 else { break }
                    let a = UInt8(truncatingIfNeeded: w)
                    let b = UInt8(truncatingIfNeeded: w >> 24)
                    guard a != 0xE0 && a != 0xED && b != 0xE0 && b != 0xED else { break }
                    i &+= 6
                    advanced = true
                }
                let c0 = base[i]
                if c0 >= 0xE1 && c0 <= 0xEF && c0 != 0xED && base[i &+ 1] & 0xC0 == 0x80
                    && base[i &+ 2] & 0xC0 == 0x80
                {
                    i &+= 3
                } else if c0 >= 0xC2 && c0 <= 0xDF && base[i &+ 1] & 0xC0 == 0x80 {
                    i &+= 2
                } else if c0 == 0xF0 && base[i &+ 1] >= 0x90 && base[i &+ 1] <= 0xBF && base[i &+ 2] & 0xC0 == 0x80
                    && base[i &+ 3] & 0xC0 == 0x80
                {
                    i &+= 4  // emoji and the other supplementary planes
                } else {
                    break
                }
                advanced = true
            }
            // Back to 16 at a time on ASCII; anything else is the caller's.
            let next = i < end ? base[i] : 0
            if !advanced || next >= 0x80 || next == 0x22 || next == 0x5C || next < 0x20 { return }
        }
    }

    /// High bit set at bytes that are a quote, a backslash, a control byte or non-ASCII.
    @inline(__always) static func attention(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let q = w ^ (ones &* 0x22)
        let b = w ^ (ones &* 0x5C)
        return (((q &- ones) & ~q) | ((b &- ones) & ~b) | ((w &- ones &* 0x20) & ~w) | w) & high
    }

    mutating func skipEscape() throws {
        guard pos + 1 < end else { throw fail("unterminated escape at the end of the line") }
        let c = base[pos + 1]
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 2
        case UInt8(ascii: "u"):
            let v = try readHex4(at: pos + 2)
            // Surrogates must come as a high-low pair, as the full parser requires.
            if v >= 0xDC00 && v < 0xE000 {
                throw fail("unpaired surrogate \\u\(String(v, radix: 16)) in a string")
            }
            if v >= 0xD800 && v < 0xDC00 {
                guard pos + 12 <= end, base[pos + 6] == UInt8(ascii: "\\"), base[pos + 7] == UInt8(ascii: "u"),
                    let low = try? readHex4(at: pos + 8), low >= 0xDC00, low < 0xE000
                else {
                    throw fail("unpaired surrogate \\u\(String(v, radix: 16)) in a string")
                }
                pos += 6
            }
            pos += 6
        default:
            throw fail("invalid escape '\\\(Character(UnicodeScalar(c)))' in a string")
        }
    }

    func readHex4(at i: Int) throws -> UInt32 {
        guard i + 4 <= end else { throw fail("\\u escape needs four hex digits", at: i - 2) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = base[i + k]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("\\u escape needs four hex digits", at: i - 2)
            }
            v = v << 4 | d
        }
        return v
    }

    /// Validates one multi-byte UTF-8 sequence at `pos` (RFC 3629: no overlongs,
    /// no surrogates, nothing above U+10FFFF).
    @inline(__always) mutating func skipUTF8Sequence() throws {
        let c0 = base[pos]
        var need: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch c0 {
        case 0xC2...0xDF: need = 1
        case 0xE0:
            need = 2
            lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED:
            need = 2
            hi = 0x9F
        case 0xF0:
            need = 3
            lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4:
            need = 3
            hi = 0x8F
        default: throw UTF8Error(offset: pos, byte: c0)
        }
        guard pos + need < end else { throw UTF8Error(offset: pos, byte: c0) }
        let c1 = base[pos + 1]
        guard c1 >= lo && c1 <= hi else { throw UTF8Error(offset: pos, byte: c0) }
        var i = 2
        while i <= need {
            let c = base[pos + i]
            guard c & 0xC0 == 0x80 else { throw UTF8Error(offset: pos, byte: c0) }
            i += 1
        }
        pos += need + 1
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
            try enter()
            pos += 1
            var object = JSONObject()
            skipWhitespace()
            if pos < end && base[pos] == UInt8(ascii: "}") {
                pos += 1
                depth -= 1
                return .object(object)
            }
            while true {
                skipWhitespace()
                guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw fail(expectedKey()) }
                let key = try parseString()
                try expectColon()
                let value = try parseValue()
                object.members.append((key, value))
                if try endOfMember(close: UInt8(ascii: "}"), what: "object member") { break }
            }
            depth -= 1
            return .object(object)
        case UInt8(ascii: "["):
            try enter()
            pos += 1
            var array: [JSONValue] = []
            skipWhitespace()
            if pos < end && base[pos] == UInt8(ascii: "]") {
                pos += 1
                depth -= 1
                return .array(array)
            }
            while true {
                array.append(try parseValue())
                if try endOfMember(close: UInt8(ascii: "]"), what: "array element") { break }
            }
            depth -= 1
            return .array(array)
        default:
            return try scalarValue(build: true)
        }
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
public struct UTF8Error: Error, Equatable {
    public var offset: Int
    public var byte: UInt8
}
