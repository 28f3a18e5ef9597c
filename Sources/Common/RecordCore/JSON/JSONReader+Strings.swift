import CUTF8
import Foundation

/// The string half of the scanner: skipping string bodies fast while checking
/// escapes and UTF-8 (RFC 3629) as it goes.
extension JSONReader {
    /// Skips a string starting at the opening quote, validating escapes and UTF-8.
    /// Returns true when the string contained an escape (so its bytes are not its text).
    ///
    /// At the first non-ASCII byte the rest of the line is checked as UTF-8 in one
    /// vectorised pass; when it is valid, which is nearly always, string bodies
    /// from there on are skipped many bytes at a time whatever their language.
    /// When it is not, each character is checked here, to name the faulty byte.
    @discardableResult
    public mutating func skipString() throws -> Bool {
        let open = pos
        pos += 1
        var escaped = false
        while true {
            if pos >= validUTF8From { skipValidText() } else { skipPlainText() }
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
            } else if c < 0x80 || pos >= validUTF8From {
                pos += 1
            } else if !checkedUTF8 {
                checkedUTF8 = true
                if mminf_utf8_valid(base + pos, end - pos) != 0 { validUTF8From = pos }
            } else {
                try skipUTF8Sequence()
            }
        }
    }

    /// Advances over ASCII string bytes that need no attention: 16 at a time while
    /// none is a quote, backslash, control byte or non-ASCII. Stops before
    /// anything the caller must look at.
    @inline(__always) mutating func skipPlainText() {
        skipText(passingNonASCII: false)
    }

    /// The same on text known to be valid UTF-8: non-ASCII bytes need no attention.
    @inline(__always) mutating func skipValidText() {
        skipText(passingNonASCII: true)
    }

    @inline(__always) mutating func skipText(passingNonASCII: Bool) {
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let slash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20)
        let high: UInt64 = passingNonASCII ? 0 : 0x8080_8080_8080_8080
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
            // Stop at the first byte that needs attention: the lowest flag of these
            // word tests is exact (false flags only sit above a true one).
            let m0 = JSONReader.attention(w0, high)
            i &+=
                m0 != 0 ? m0.trailingZeroBitCount >> 3 : 8 &+ (JSONReader.attention(w1, high).trailingZeroBitCount >> 3)
            return
        }
    }

    /// High bit set at bytes that are a quote, a backslash, a control byte, or
    /// non-ASCII when `nonASCII` is the high-bit mask rather than 0.
    @inline(__always) static func attention(_ w: UInt64, _ nonASCII: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let q = w ^ (ones &* 0x22)
        let b = w ^ (ones &* 0x5C)
        return (((q &- ones) & ~q) | ((b &- ones) & ~b) | ((w &- ones &* 0x20) & ~w) | (w & nonASCII)) & high
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

}

public struct UTF8Error: Error, Equatable {
    public var offset: Int
    public var byte: UInt8
}
