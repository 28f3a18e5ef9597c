import Foundation

/// A JSON number's exact decimal value, read from its text: significant
/// digits and a power of ten. Doubles cannot tell 1234567890123456788 from
/// ...789, nor 1e400 from 1e999; this can. Used only when two numbers' doubles
/// are equal, so ordinary comparisons stay double-fast.
public struct ExactDecimal: Comparable {
    let negative: Bool
    /// Significant digits without leading or trailing zeros ("" for zero).
    let digits: [UInt8]
    /// The value is 0.d1d2d3... × 10^exponent.
    let exponent: Int

    /// nil for text that is not a JSON number (or whose exponent overflows).
    public init?(_ text: String) {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        var mantissa: [UInt8] = []
        var pointAt: Int?
        while let c = bytes.first, c == UInt8(ascii: ".") || (c >= 0x30 && c <= 0x39) {
            if c == UInt8(ascii: ".") {
                guard pointAt == nil else { return nil }
                pointAt = mantissa.count
            } else {
                mantissa.append(c - 0x30)
            }
            bytes = bytes.dropFirst()
        }
        guard !mantissa.isEmpty else { return nil }
        var exp = 0
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var expNegative = false
            if let s = bytes.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
                expNegative = s == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty else { return nil }
            for c in bytes {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                let (m, o1) = exp.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))
                guard !o1, !o2, a < Int.max / 4 else { return nil }
                exp = a
            }
            if expNegative { exp = -exp }
        } else {
            guard bytes.isEmpty else { return nil }
        }
        var point = pointAt ?? mantissa.count
        // Drop leading zeros (moving the point) and trailing zeros.
        var first = 0
        while first < mantissa.count && mantissa[first] == 0 { first += 1 }
        if first == mantissa.count {
            self.negative = false
            self.digits = []
            self.exponent = 0
            return
        }
        point -= first
        var last = mantissa.count
        while last > first && mantissa[last - 1] == 0 { last -= 1 }
        self.negative = negative
        self.digits = Array(mantissa[first..<last])
        self.exponent = point + exp
    }

    /// A spelling that is the same for every way of writing the value: `1`, `1.0`,
    /// `100e-2` and `0.01e2` are all `0.1e1` (0.1 × 10^1); zero is `0`.
    public var canonical: String {
        if digits.isEmpty { return "0" }
        return (negative ? "-" : "") + "0." + String(decoding: digits.map { $0 + 0x30 }, as: UTF8.self)
            + "e\(exponent)"
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        if a.negative != b.negative { return a.negative }
        let magnitudeLess = ExactDecimal.magnitudeLess(a, b)
        let magnitudeGreater = ExactDecimal.magnitudeLess(b, a)
        return a.negative ? magnitudeGreater : magnitudeLess
    }

    static func magnitudeLess(_ a: ExactDecimal, _ b: ExactDecimal) -> Bool {
        if a.digits.isEmpty || b.digits.isEmpty { return a.digits.isEmpty && !b.digits.isEmpty }
        if a.exponent != b.exponent { return a.exponent < b.exponent }
        return a.digits.lexicographicallyPrecedes(b.digits)
    }
}

extension JSONNumber {
    /// The result of arithmetic on doubles.
    public static func computed(_ value: Double) -> JSONNumber {
        var n = JSONNumber(value)
        n.computed = true
        return n
    }

    /// The number with its sign turned, its spelling kept (so -1234567890123456789 stays exact).
    public var negated: JSONNumber {
        var n = JSONNumber(-value, text: text.map { $0.hasPrefix("-") ? String($0.dropFirst()) : "-" + $0 })
        n.computed = computed
        return n
    }

    /// A number whose double may not be its value: spelled with more than 15
    /// characters, or out of the double's range (1e400, 1e-400).
    var isApproximate: Bool {
        guard let text else { return false }
        if text.utf8.count > 15 || value.isInfinite { return true }
        return value == 0 && text.utf8.contains { $0 >= 0x31 && $0 <= 0x39 }
    }

    /// The exact value: from the text when there is one; for the result of arithmetic,
    /// the double's own binary value; otherwise (a short number read without its text)
    /// the double's shortest spelling, which is the number as it was written.
    public var exact: ExactDecimal? {
        if let text { return ExactDecimal(text) }
        guard value.isFinite else { return nil }
        if computed {
            let digits = value.rounded() == value ? String(format: "%.0f", value) : String(format: "%.1100f", value)
            return ExactDecimal(digits)
        }
        return ExactDecimal(JSONWriter.format(value))
    }

    /// Orders two numbers exactly: by their doubles, which rounding keeps in order, and
    /// where the doubles tie and one of them is approximate, by their exact values.
    public static func order(_ a: JSONNumber, _ b: JSONNumber) -> ComparisonResult {
        if a.value < b.value { return .orderedAscending }
        if a.value > b.value { return .orderedDescending }
        guard a.isApproximate || b.isApproximate, let x = a.exact, let y = b.exact else { return .orderedSame }
        return x < y ? .orderedAscending : (y < x ? .orderedDescending : .orderedSame)
    }
}
