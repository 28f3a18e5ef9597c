import CPCRE2

/// A compiled PCRE2 regular expression (Perl syntax: `\s`, `[\s\S]`, `(?i)`,
/// lazy quantifiers), JIT-compiled when the platform allows.
public final class Regex {
    public let pattern: String
    let code: OpaquePointer
    let matchData: OpaquePointer
    let matchContext: OpaquePointer
    let jitStack: OpaquePointer?

    /// The JIT's stack may grow to this many bytes: patterns like `((?:.|\n)+)` recurse once
    /// per character, and PCRE2's default of 32 KB gives up after about a thousand.
    /// It is reserved, not used, until a match needs it.
    public static let jitStackLimit = 16 << 20

    public struct CompileError: Error, CustomStringConvertible {
        public var pattern: String
        /// 0-based character offset of the problem in the pattern.
        public var offset: Int
        public var message: String
        public var description: String { "bad regex /\(pattern)/ at column \(offset + 1): \(message)" }
    }

    /// `flags` are letters after the closing slash: i (ignore case), m (^ $ at
    /// every line), s (. matches newline), x (extended), u (Unicode classes).
    public init(_ pattern: String, flags: String = "") throws {
        self.pattern = pattern
        var options: UInt32 = UInt32(PCRE2_UTF)
        for f in flags {
            switch f {
            case "i": options |= UInt32(PCRE2_CASELESS)
            case "m": options |= UInt32(PCRE2_MULTILINE)
            case "s": options |= UInt32(PCRE2_DOTALL)
            case "x": options |= UInt32(PCRE2_EXTENDED)
            case "u": options |= UInt32(PCRE2_UCP)  // \w, \d, \b and \s know every script
            default:
                throw CompileError(pattern: pattern, offset: 0, message: "unknown flag '\(f)' (use i, m, s, x or u)")
            }
        }
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let compiled: OpaquePointer? = pattern.withCString { p in
            p.withMemoryRebound(to: UInt8.self, capacity: pattern.utf8.count) {
                pcre2_compile_8($0, pattern.utf8.count, options, &errorCode, &errorOffset, nil)
            }
        }
        guard let compiled else {
            var buf = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(errorCode, &buf, buf.count)
            let msg = n > 0 ? String(decoding: buf[0..<Int(n)], as: UTF8.self) : "error \(errorCode)"
            let prefix = Array(pattern.utf8.prefix(errorOffset))
            throw CompileError(pattern: pattern, offset: String(decoding: prefix, as: UTF8.self).count, message: msg)
        }
        code = compiled
        let jitted = pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE)) == 0
        matchData = pcre2_match_data_create_from_pattern_8(code, nil)
        matchContext = pcre2_match_context_create_8(nil)
        jitStack = jitted ? pcre2_jit_stack_create_8(32 << 10, Regex.jitStackLimit, nil) : nil
        if let jitStack { pcre2_jit_stack_assign_8(matchContext, nil, UnsafeMutableRawPointer(jitStack)) }
    }

    deinit {
        if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        pcre2_match_context_free_8(matchContext)
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    /// Byte ranges of the whole match (index 0) and each group (nil when unset); nil
    /// when there is no match. A matcher that cannot finish (a resource limit) throws
    /// a record error naming the pattern: that is never read as "no match".
    public func match(_ s: String, from start: Int = 0) throws -> [Range<Int>?]? {
        var s = s
        return try s.withUTF8 { try match(bytes: $0, from: start) }
    }

    public func match(bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0) throws -> [Range<Int>?]? {
        let subject = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
        let rc = pcre2_match_8(code, subject, bytes.count, start, 0, matchData, matchContext)
        if rc == PCRE2_ERROR_NOMATCH { return nil }
        guard rc > 0 else {
            var buf = [UInt8](repeating: 0, count: 256)
            let n = pcre2_get_error_message_8(rc, &buf, buf.count)
            let why = n > 0 ? String(decoding: buf[0..<Int(n)], as: UTF8.self) : "error \(rc)"
            throw RecordError.message(
                "regex /\(pattern)/ could not finish matching this record's \(bytes.count)-byte text (\(why)); "
                    + "simplify the pattern, e.g. [\\s\\S]+ instead of (?:.|\\n)+")
        }
        let ov = pcre2_get_ovector_pointer_8(matchData)!
        var out: [Range<Int>?] = []
        for i in 0..<Int(rc) {
            let a = ov[2 * i]
            let b = ov[2 * i + 1]
            out.append(a == Int.max || a > b ? nil : a..<b)
        }
        return out
    }

    public func matches(_ s: String) throws -> Bool { try match(s) != nil }

    /// The first capture group of the first match (the whole match when the
    /// pattern has no group).
    public func firstCapture(_ s: String) throws -> String? {
        var s = s
        return try s.withUTF8 { b -> String? in
            guard let m = try match(bytes: b) else { return nil }
            guard let r = (m.count > 1 ? m[1] : m[0]) else { return m.count > 1 ? "" : nil }
            return String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
        }
    }

    /// Every group of the first match (empty text for a group that did not take part).
    public func firstCaptures(_ s: String) throws -> [String]? {
        var s = s
        return try s.withUTF8 { b -> [String]? in
            guard let m = try match(bytes: b) else { return nil }
            return m.dropFirst().map { r in
                r.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) } ?? ""
            }
        }
    }

    /// Every non-overlapping match, as its groups (a group that did not take part
    /// as ""), or as the whole match when the pattern has no group. After an empty
    /// match the search steps over one whole UTF-8 character.
    public func allMatches(_ s: String) throws -> [[String]] {
        var out: [[String]] = []
        try forEachMatch(s) { out.append($0) }
        return out
    }

    /// `allMatches`, handing each match to `body` as it is found.
    public func forEachMatch(_ s: String, _ body: ([String]) throws -> Void) throws {
        var s = s
        try s.withUTF8 { b in
            var pos = 0
            while pos <= b.count, let m = try match(bytes: b, from: pos), let whole = m[0] {
                let groups = m.count > 1 ? Array(m[1...]) : [whole]
                try body(
                    groups.map { r in
                        r.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) } ?? ""
                    })
                pos = whole.upperBound > whole.lowerBound ? whole.upperBound : whole.upperBound + 1
                while pos < b.count, b[pos] & 0xC0 == 0x80 { pos += 1 }
            }
        }
    }

    /// Every non-overlapping match: its first group when it has one, else the whole match.
    public func allCaptures(_ s: String) throws -> [String] { try allMatches(s).map { $0[0] } }
}
