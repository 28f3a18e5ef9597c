import Foundation
import RecordCore

/// A judge's prompt and how to read its answer.
public struct Rubric {
    public enum Answer: Equatable {
        /// A number in `min...max`; `bracketsOnly`: prefer `[[N]]` marks (they win over any other form).
        case scale(min: Double, max: Double)
        /// Yes / No → true / false.
        case yesNo
        /// Correct / Incorrect → true / false.
        case correct
    }

    public let name: String
    public let file: PromptFile
    public let answer: Answer
    public let sendsMedia: Bool

    public init(_ file: PromptFile) throws {
        self.file = file
        name = file.name
        sendsMedia = try file.sendsMedia() ?? false
        switch file.header["answer"]?.lowercased() ?? "brackets" {
        case "brackets", "any", "score":
            let scale = file.header["scale"] ?? "1-5"
            let parts = scale.split(separator: "-").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, parts[0] < parts[1] else {
                throw PromptFile.FormatError(description: "\(file.origin): scale must look like 1-5, got '\(scale)'")
            }
            answer = .scale(min: parts[0], max: parts[1])
        case "yesno", "yes/no": answer = .yesNo
        case "correct", "correct/incorrect": answer = .correct
        case let other:
            throw PromptFile.FormatError(
                description: "\(file.origin): answer must be brackets, any, yesno or correct, got '\(other)'")
        }
    }

    /// The judgement as a score: a number, true/false, or null when it cannot be read.
    public func read(_ text: String) -> JSONValue {
        switch answer {
        case .scale(let lo, let hi): return RubricParser.score(text, min: lo, max: hi).map { .double($0) } ?? .null
        case .yesNo: return RubricParser.yesNo(text).map { .bool($0) } ?? .null
        case .correct: return RubricParser.correct(text).map { .bool($0) } ?? .null
        }
    }
}

/// Reads scores out of judges' answers as models really write them. The last
/// marked score wins over stray numbers; anything out of range, contradictory
/// or unreadable is nil — never a guess.
public enum RubricParser {
    /// The part after a reasoning model's thinking; nil when the thinking never ended
    /// (cut off by the length limit: whatever it mused is not a verdict).
    static func verdictPart(_ text: String) -> String? {
        if let r = text.range(of: "</think>", options: .backwards) { return String(text[r.upperBound...]) }
        if text.contains("<think>") { return nil }
        return text
    }

    static let number = #"(-?\d+(?:\.\d+)?)"#
    /// Marked forms, most explicit first; within a form the last occurrence wins.
    static let markedForms: [Regex] = [
        try! Regex(#"\[\[\s*\#(number)\s*\]\]"#),
        try! Regex(#"【\s*\#(number)\s*分?\s*】"#),
        try! Regex(#"(?i)\#(number)\s*(?:/|out of)\s*(\d+)"#),
        try! Regex(#"\#(number)\s*分"#),
        try! Regex(#"(?i)(?:score|rating|grade|评分|得分|分数)\**\s*[:：=]?\s*\**\s*\#(number)"#),
        // "I give it a 4." / "I'd rate it 3": the number ends the phrase ("give 3 reasons" is no score).
        try! Regex(
            #"(?i)\b(?:give|gives|giving|rate|rated|assign|award)\s+(?:it|this|the\s+\w+)?\s*(?:an?\s+)?(?:score\s+of\s+)?\#(number)(?=\s*(?:[.!,;:)\]]|$))"#,
            flags: "u"),
    ]
    static let fractionForm = 2
    static let anyNumber = try! Regex(#"(?<![\w.])\d+(?:\.\d+)?(?![\w])"#)

    /// "满分10分" states the scale, not the score: it is removed before reading.
    static let scaleStatement = try! Regex(#"(?:满分|总分|最高分?)\s*[:：为是]?\s*\d+(?:\.\d+)?\s*分?"#)

    static func withoutScaleStatements(_ text: String) -> String {
        var out = text
        while let whole = allMatches(scaleStatement, out).first?[0], let r = out.range(of: whole) {
            out.replaceSubrange(r, with: " ")
        }
        return out
    }

    public static func score(_ raw: String, min lo: Double, max hi: Double) -> Double? {
        guard let verdict = verdictPart(raw) else { return nil }
        let text = withoutScaleStatements(verdict)
        for (i, form) in markedForms.enumerated() {
            // Mentions the judge rules out ("not Score 1 or Score 2", "rather than Score 5") are not its verdict.
            let matches = affirmedMatches(form, text)
            guard let last = matches.last, let v = Double(last[0]) else { continue }
            // 4/5 on a 1-10 scale: the judge used another scale; reading it either way would be a guess.
            if i == fractionForm, let denominator = Double(last[1]), denominator != hi { return nil }
            return (lo...hi).contains(v) ? v : nil
        }
        // Unmarked: a number that ends the answer, when it is the only number or stands alone on the last line.
        let numbers = allMatches(anyNumber, text).compactMap { Double($0[0]) }
        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: " *_`.!\t\n\r"))
        guard let lastNumber = numbers.last, let lastToken = trimmed.split(whereSeparator: { $0.isWhitespace }).last,
            Double(lastToken) == lastNumber
        else { return nil }
        let lastLine = trimmed.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        guard numbers.count == 1 || Double(lastLine.trimmingCharacters(in: .whitespaces)) != nil else { return nil }
        return (lo...hi).contains(lastNumber) ? lastNumber : nil
    }

    /// Words that, just before a score, rule it out.
    static let rulingOut = try! Regex(
        #"(?i)(?:\bnot|n't|\bnever|\bneither|\bnor|\bthan|\binstead\s+of|\bexcept|不是|而非|并非)\W*(?:\w+\W+){0,2}$"#,
        flags: "u")
    /// Where the last sentence (or clause opened by ':' or ';') before a score ends:
    /// only the score's own clause is read.
    static let sentenceEnd = try! Regex(#"[.!?;:。！？；：\n][^.!?;:。！？；：\n]*$"#, flags: "u")
    /// Words just after a score that make it a definition of the scale, not a verdict.
    static let defining = try! Regex(
        #"(?i)^\W{0,3}(?:means|indicates|represents|stands\s+for|is\s+for|corresponds\s+to|=|表示|代表)"#, flags: "u")
    /// A mention joined to the one before it by "or"/"nor"/"and"/a comma shares its fate.
    static let joined = try! Regex(#"(?i)^\W*(?:or|nor|and|,|/|或|和)?\W*$"#, flags: "u")

    /// The matches of a marked form that the text does not rule out, in order.
    static func affirmedMatches(_ re: Regex, _ text: String) -> [[String]] {
        var out: [[String]] = []
        var s = text
        s.withUTF8 { b in
            var pos = 0
            var previousEnd = 0
            var previousRuledOut = false
            while pos <= b.count, let m = try? re.match(bytes: b, from: pos), let whole = m[0] {
                var before = String(
                    decoding: UnsafeBufferPointer(rebasing: b[max(0, whole.lowerBound - 40)..<whole.lowerBound]),
                    as: UTF8.self)
                // "It is not clear. [[2]]": a ruling-out word in an earlier sentence says nothing of this score.
                if let end = try? sentenceEnd.match(before), let r = end[0] {
                    before = String(decoding: Array(before.utf8)[r.lowerBound...].dropFirst(), as: UTF8.self)
                }
                let between = String(
                    decoding: UnsafeBufferPointer(rebasing: b[previousEnd..<whole.lowerBound]), as: UTF8.self)
                let after = String(
                    decoding: UnsafeBufferPointer(rebasing: b[whole.upperBound..<min(b.count, whole.upperBound + 24)]),
                    as: UTF8.self)
                let ruledOut =
                    ((try? rulingOut.matches(before)) ?? false) || ((try? defining.matches(after)) ?? false)
                    || (previousRuledOut && previousEnd > 0 && ((try? joined.matches(between)) ?? false))
                if !ruledOut {
                    let groups = m.count > 1 ? Array(m[1...]) : [whole]
                    out.append(
                        groups.map { r in
                            r.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) } ?? ""
                        })
                }
                previousRuledOut = ruledOut
                previousEnd = whole.upperBound
                pos = whole.upperBound > whole.lowerBound ? whole.upperBound : whole.upperBound + 1
                while pos < b.count, b[pos] & 0xC0 == 0x80 { pos += 1 }
            }
        }
        return out
    }

    /// A judge's answer the matcher cannot finish on reads as no match: the score is then null.
    static func allMatches(_ re: Regex, _ text: String) -> [[String]] { (try? re.allMatches(text)) ?? [] }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Reads a two-way verdict: `[[word]]` marks first, then the answer's first
    /// word, then "answer: word", then a verdict word that appears alone.
    /// Verdict words that are also ordinary words.
    static let ambiguous: Set<String> = ["no", "n", "y", "是", "对"]
    static let questionWords: Set<String> = ["whether", "if", "是否"]
    static let negators: Set<String> = ["not", "never", "isn", "wasn", "aren", "doesn", "don", "cannot", "hardly"]

    static let bracketedWord = try! Regex(#"\[\[\s*([^\]]+?)\s*\]\]"#)
    static let labelledAnswer = try! Regex(
        #"(?i)(?:answer|verdict|judgement|judgment|结论|答案)\**\s*[:：]\s*\**\s*([\p{L}]+)"#)

    static func verdict(_ raw: String, yes: Set<String>, no: Set<String>) -> Bool? {
        guard let text = verdictPart(raw) else { return nil }
        let marks = allMatches(bracketedWord, text).compactMap { words($0[0]).first }
        if let m = marks.last(where: { yes.contains($0) || no.contains($0) }) { return yes.contains(m) }
        let w = words(text)
        guard let first = w.first else { return nil }
        // Every verdict word in the answer, negated ones ("isn't correct", "not entirely
        // correct") turned around; a clause-opening one counts for yes/no words too.
        var saw: [Bool] = []
        let clauseStarts = clauseStartWords(text)
        for (i, word) in w.enumerated() where yes.contains(word) || no.contains(word) {
            // A verdict word inside a question or an echoed task ("decide whether ... is true")
            // is not a verdict.
            let clauseOpen = clauseStarts.filter { $0 <= i }.max() ?? 0
            if w[clauseOpen..<i].contains(where: { questionWords.contains($0) }) { continue }
            // "not" turns a positive verdict around only within its own clause ("isn't correct"),
            // never across a sentence ("They don't agree. No.") and never a negative word.
            let clauseStart = clauseStarts.filter { $0 <= i }.max() ?? 0
            let negated = yes.contains(word) && w[max(clauseStart, i - 3)..<i].contains { negators.contains($0) }
            let value = yes.contains(word) != negated
            // Short words like "no" also occur as ordinary words ("there is no difference"):
            // they only count as a verdict where a clause starts.
            if RubricParser.ambiguous.contains(word) && i > 0 && !clauseStarts.contains(i)
                && !["and", "or", "but", "so", "then"].contains(w[i - 1])
            {
                continue
            }
            saw.append(value)
        }
        if yes.contains(first) || no.contains(first) {
            let opening = yes.contains(first)
            // An opening verdict that the rest contradicts ("Correct? No, it is incorrect.") is no verdict.
            return saw.allSatisfy { $0 == opening } ? opening : nil
        }
        let answerMarks = allMatches(labelledAnswer, text).compactMap { words($0[0]).first }
        if let a = answerMarks.last(where: { yes.contains($0) || no.contains($0) }) { return yes.contains(a) }
        if let v = saw.first, saw.allSatisfy({ $0 == v }) { return v }
        // Chinese answers that open with the verdict.
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if yes.contains("是") && t.hasPrefix("是") { return true }
        if no.contains("否") && (t.hasPrefix("否") || t.hasPrefix("不是")) { return false }
        return nil
    }

    /// Indexes (into `words`) of words that open a clause: the first, and any after . ! ? , ; :
    static func clauseStartWords(_ text: String) -> Set<Int> {
        var starts: Set<Int> = [0]
        var index = -1
        var inWord = false
        var boundary = true
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber {
                if !inWord {
                    index += 1
                    inWord = true
                    if boundary { starts.insert(index) }
                    boundary = false
                }
            } else {
                inWord = false
                if ".!?,;:\n".contains(ch) { boundary = true }
            }
        }
        return starts
    }

    public static func yesNo(_ text: String) -> Bool? {
        verdict(text, yes: ["yes", "y", "true", "是", "对"], no: ["no", "n", "false", "否", "不对"])
    }

    public static func correct(_ text: String) -> Bool? {
        verdict(
            text, yes: ["correct", "accurate", "true", "正确"], no: ["incorrect", "inaccurate", "wrong", "false", "错误"])
    }
}
