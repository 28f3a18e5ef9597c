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
}

/// Cuts text into parts. Parts are trimmed and empty ones skipped.
public struct TextSplitter {
    public var mode: SplitMode
    public var regex: Regex?
    public var stripMarkers = true

    public init(mode: SplitMode, regex: Regex? = nil, stripMarkers: Bool = true) {
        self.mode = mode
        self.regex = regex
        self.stripMarkers = stripMarkers
    }

    public func split(_ text: String) -> [String] {
        switch mode {
        case .lines:
            return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .map { clean(String($0)) }.filter { !$0.isEmpty }
        case .paragraphs:
            var parts: [String] = []
            var current: [String] = []
            for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.isEmpty {
                    if !current.isEmpty {
                        parts.append(current.joined(separator: "\n"))
                        current = []
                    }
                } else {
                    current.append(t)
                }
            }
            if !current.isEmpty { parts.append(current.joined(separator: "\n")) }
            return parts
        case .items:
            var items: [String] = []
            var sawMarker = false
            for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { continue }
                if let body = TextSplitter.afterMarker(t) {
                    sawMarker = true
                    items.append(body)
                } else if sawMarker {
                    items[items.count - 1] += (items[items.count - 1].isEmpty ? "" : " ") + t
                }
            }
            // No markers at all: fall back to one item per line.
            if !sawMarker { return TextSplitter(mode: .lines).split(text) }
            return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .regex:
            return (regex?.allCaptures(text) ?? []).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter {
                !$0.isEmpty
            }
        }
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
