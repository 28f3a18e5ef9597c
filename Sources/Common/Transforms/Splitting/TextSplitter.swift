import Foundation
import RecordCore

/// How a text field is cut into parts.
public enum SplitMode: String, CaseIterable, Sendable {
    /// One part per non-empty line, list markers stripped.
    case lines
    /// One part per block of text between blank lines.
    case paragraphs
    /// One part per numbered or bulleted item; lines without a marker continue
    /// the item before them, text before the first item is left out.
    case items
    /// One part per match of --regex (its first group when it has one).
    case regex
    /// Every piece between "\n" characters, exactly as Python's `text.split("\n")`
    /// cuts: blank pieces and the empty piece after a final newline included, nothing
    /// trimmed. The reference's "drop a list of 8 or more lines" counts these.
    case rawLines = "raw-lines"
}

/// Cuts text into parts. Parts are trimmed and empty ones skipped, except in
/// `raw-lines` mode, which keeps every piece exactly.
public struct TextSplitter {
    public var mode: SplitMode
    public var regex: Regex?
    public var stripMarkers = true

    public init(mode: SplitMode, regex: Regex? = nil, stripMarkers: Bool = true) {
        self.mode = mode
        self.regex = regex
        self.stripMarkers = stripMarkers
    }

    /// Every part, in order (tests and small texts; explode streams with forEachPart).
    public func split(_ text: String) throws -> [String] {
        var parts: [String] = []
        try forEachPart(text) { parts.append($0) }
        return parts
    }

    /// How many parts `text` has, without keeping them.
    public func count(_ text: String) throws -> Int {
        var n = 0
        try forEachPart(text) { _ in n += 1 }
        return n
    }

    /// Hands each part to `body` as it is found: a 200 MB field is never held as
    /// a list of parts.
    public func forEachPart(_ text: String, _ body: (String) throws -> Void) throws {
        switch mode {
        case .lines:
            try TextSplitter.forEachLine(text) { line in
                let t = clean(String(line))
                if !t.isEmpty { try body(t) }
            }
        case .paragraphs:
            var current = ""
            try TextSplitter.forEachLine(text) { line in
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.isEmpty {
                    if !current.isEmpty { try body(current) }
                    current = ""
                } else {
                    current += (current.isEmpty ? "" : "\n") + t
                }
            }
            if !current.isEmpty { try body(current) }
        case .items:
            var item: String?
            try TextSplitter.forEachLine(text) { line in
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { return }
                if let next = TextSplitter.afterMarker(t) {
                    if let done = item?.trimmingCharacters(in: .whitespaces), !done.isEmpty { try body(done) }
                    item = next
                } else if let open = item {
                    item = open + (open.isEmpty ? "" : " ") + t
                }
            }
            if let done = item?.trimmingCharacters(in: .whitespaces), !done.isEmpty { try body(done) }
            // No markers at all: one item per line.
            if item == nil { try TextSplitter(mode: .lines).forEachPart(text, body) }
        case .rawLines:
            var start = text.utf8.startIndex
            while let nl = text.utf8[start...].firstIndex(of: 0x0A) {
                try body(String(text[start..<nl]))
                start = text.utf8.index(after: nl)
            }
            try body(String(text[start...]))
        case .regex:
            try regex?.forEachMatch(text) { groups in
                let t = groups[0].trimmingCharacters(in: .whitespacesAndNewlines)
                if !t.isEmpty { try body(t) }
            }
        }
    }

    /// Each line of `text` (cut at any newline, `\r\n` included), as a view into it.
    static func forEachLine(_ text: String, _ body: (Substring) throws -> Void) throws {
        var start = text.startIndex
        while let end = text[start...].firstIndex(where: \.isNewline) {
            try body(text[start..<end])
            start = text.index(after: end)
        }
        try body(text[start...])
    }

    func clean(_ line: String) -> String {
        let t = line.trimmingCharacters(in: .whitespaces)
        return stripMarkers ? (TextSplitter.afterMarker(t) ?? t) : t
    }

    /// The text after a list marker (`1.`, `2)`, `(3)`, `Q4:`, `-`, `*`, `•`, each
    /// followed by a space), or nil when there is none: `3:30 pm` and `1.5 km` are text.
    public static func afterMarker(_ line: String) -> String? {
        let chars = Array(line)
        guard let first = chars.first else { return nil }
        func rest(from i: Int) -> String? {
            guard i < chars.count, chars[i] == " " || chars[i] == "\t" else { return nil }
            return String(chars[i...]).trimmingCharacters(in: .whitespaces)
        }
        if "-*•·–".contains(first) { return chars.count == 1 ? nil : rest(from: 1) }
        var i = 0
        let open = first == "("
        if open { i = 1 }
        let questionLabel =
            !open && (first == "Q" || first == "q") && chars.count > 1 && chars[1].isASCII && chars[1].isNumber
        if questionLabel { i = 1 }
        let digitsStart = i
        while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
        guard i > digitsStart, i - digitsStart <= 3, i < chars.count else { return nil }
        let close = chars[i]
        let allowed: Bool
        if open {
            allowed = close == ")"
        } else if questionLabel {
            allowed = close == ":" || close == "." || close == ")"
        } else {
            allowed = close == "." || close == ")"
        }
        return allowed ? rest(from: i + 1) : nil
    }
}
