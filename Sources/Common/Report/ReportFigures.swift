import Foundation
import Histogram
import RecordCore
import Transforms

/// What a report shows, gathered in one streaming pass with flat memory:
/// counters, value counts, HDR histograms for percentiles, a HyperLogLog
/// for the duplicate rate, and a seeded reservoir of sample records.
public final class ReportFigures {
    public struct Settings {
        public var textFields = ["instruction", "response"]
        /// Counted while reading, so that every value counts (not only the kept ones).
        public var thresholds: [ScoreThreshold] = []
        public var duplicateField: String?
        public var sampleSize = 20
        public var seed: UInt64 = 0
        public init() {}
    }

    /// One step's figures from its `--stats` file.
    public struct FunnelStep {
        public var name: String
        public var recordsIn: Int
        public var recordsOut: Int
        public var dropped: Int
        public var failed: Int
        /// Why records were dropped (the stats file's `dropped_by_reason`), in first-seen order.
        public var droppedByReason: [(reason: String, count: Int)] = []

        mutating func addReasons(_ reasons: [(String, Int)]) {
            for (reason, n) in reasons {
                if let k = droppedByReason.firstIndex(where: { $0.reason == reason }) {
                    droppedByReason[k].count += n
                } else {
                    droppedByReason.append((reason, n))
                }
            }
        }
    }

    /// A score's values: numbers by value, booleans, and records without it.
    public struct ScoreFigures {
        public var numbers: [Double: Int] = [:]
        public var trues = 0
        public var falses = 0
        /// Records whose score is there but neither a number nor true/false.
        public var unreadable = 0
        /// Records that carry the score at all.
        public var present = 0
        /// Values beyond `distinctValueLimit` distinct ones are counted here only.
        public var overflow = 0
        /// Per `--threshold` on this score: records scored, and those that pass.
        public var thresholdCounts: [(scored: Int, pass: Int)] = []
    }

    /// Records without the score (or with an unreadable one).
    public func missing(_ name: String) -> Int {
        guard let s = scores[name] else { return records }
        return records - s.present + s.unreadable
    }

    public struct LengthFigures {
        public var present = 0
        public var missing = 0
        /// Records per length bin: 0, 1, 2-3, 4-7, ... (powers of two), in code points.
        public var bins = [Int](repeating: 0, count: LengthFigures.binCount)
        var lengths = Histogram<UInt64>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .two)
        public static let binCount = 18
        public func percentile(_ p: Double) -> Int { present == 0 ? 0 : Int(lengths.valueAtPercentile(p)) }
        public static func bin(_ n: Int) -> Int { n == 0 ? 0 : min(binCount - 1, Int.bitWidth - n.leadingZeroBitCount) }
        public static func binLabel(_ i: Int) -> String {
            if i == 0 { return "0" }
            let lo = 1 << (i - 1)
            return i == binCount - 1 ? "\(lo)+" : (lo == (1 << i) - 1 ? "\(lo)" : "\(lo)-\((1 << i) - 1)")
        }
    }

    public struct StepFigures {
        public var calls = 0
        public var promptTokens = 0
        public var completionTokens = 0
        var latency = Histogram<UInt64>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .two)
        var completion = Histogram<UInt64>(highestTrackableValue: 1 << 40, numberOfSignificantValueDigits: .two)
        public var timed = 0
        public var counted = 0
        public func latencyPercentile(_ p: Double) -> Int { timed == 0 ? 0 : Int(latency.valueAtPercentile(p)) }
        /// The answers' lengths in tokens, from `usage.completion_tokens`.
        public func completionPercentile(_ p: Double) -> Int {
            counted == 0 ? 0 : Int(completion.valueAtPercentile(p))
        }
    }

    public let settings: Settings
    public private(set) var records = 0
    public private(set) var badLines = 0
    public var funnel: [FunnelStep] = []
    public private(set) var scores: [String: ScoreFigures] = [:]
    public private(set) var lengths: [String: LengthFigures] = [:]
    public private(set) var steps: [String: StepFigures] = [:]
    /// Step names in the order first seen in history.
    public private(set) var stepOrder: [String] = []
    /// Records by the script most of their text is in: cjk, latin, other, none.
    public private(set) var languages: [String: Int] = ["cjk": 0, "latin": 0, "other": 0, "none": 0]
    public private(set) var duplicatesSeen = 0
    let distinct = HyperLogLog()
    let reservoir: ReservoirSample

    public init(settings: Settings) {
        self.settings = settings
        reservoir = ReservoirSample(size: settings.sampleSize, seed: settings.seed)
        for f in settings.textFields { lengths[f] = LengthFigures() }
    }

    /// Estimated share of records whose duplicate field repeats an earlier one.
    public var duplicateRate: Double {
        duplicatesSeen == 0 ? 0 : max(0, 1 - min(1, distinct.estimate / Double(duplicatesSeen)))
    }
    public var distinctEstimate: Double { distinct.estimate }

    public var sample: [ReservoirSample.Entry] { reservoir.inOrder() }

    /// Reads every record of `paths` (a line that is not a JSON object is counted, not fatal).
    public func read(_ paths: [String]) throws {
        let input = RecordInput(paths: paths)
        try input.checkReadable()
        defer { input.close() }
        while let line = try input.next() {
            try SignalWatch.check()
            let record: JSONValue
            do { record = try slim(line.bytes) } catch {
                badLines += 1
                continue
            }
            records += 1
            reservoir.offerKeeping(line)
            add(record)
        }
    }

    /// The parts of a record the figures read, built from its bytes in one pass:
    /// the text fields' top keys and `scores` whole, and of each `history.<step>`
    /// only `usage` and `latency_ms` (prompts and answers are checked, not built).
    func slim(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var r = JSONReader(bytes)
        r.keepNumberText = false
        try r.expectObjectStart()
        var out = JSONObject()
        try r.forEachMember { key, r in
            if key == "history", !topKeys.contains(key), r.atObject() {
                var steps = JSONObject()
                try r.forEachMember { step, r in
                    guard r.atObject() else { return try r.skipValue() }
                    var kept = JSONObject()
                    try r.forEachMember { k, r in
                        if k == "usage" || k == "latency_ms" {
                            kept.members.append((k, try r.parseValue()))
                        } else {
                            try r.skipValue()
                        }
                    }
                    steps.members.append((step, .object(kept)))
                }
                out.members.append((key, .object(steps)))
            } else if key == "scores" || topKeys.contains(key) {
                // (history is built whole when a text field lies below it)
                out.members.append((key, try r.parseValue()))
            } else {
                try r.skipValue()
            }
        }
        try r.expectEnd()
        return .object(out)
    }

    lazy var textPaths: [(String, FieldPath?)] = settings.textFields.map { ($0, try? FieldPath(parsing: $0)) }
    lazy var duplicatePath: FieldPath? = (settings.duplicateField ?? settings.textFields.first).flatMap {
        try? FieldPath(parsing: $0)
    }

    /// Top-level keys the text and duplicate fields start with.
    lazy var topKeys: Set<String> = {
        let fields = settings.textFields + (settings.duplicateField.map { [$0] } ?? [])
        return Set(
            fields.compactMap { (try? FieldPath(parsing: $0))?.components.first }.compactMap {
                if case .key(let k) = $0 { return k } else { return nil }
            })
    }()

    func add(_ record: JSONValue) {
        if case .object(let s)? = record["scores"] {
            for m in Self.firstOfEachName(s.members) { addScore(m.key, m.value) }
        }
        var cjk = 0
        var latin = 0
        var letters = 0
        for (f, parsed) in textPaths {
            let path = parsed.map { record.value(at: $0) } ?? nil
            guard case .string(let text)? = path else {
                lengths[f]?.missing += 1
                continue
            }
            let n = text.unicodeScalars.count
            lengths[f]?.present += 1
            lengths[f]?.bins[LengthFigures.bin(n)] += 1
            _ = lengths[f]?.lengths.record(UInt64(n))
            for u in text.unicodeScalars {
                // Ranges first: Unicode's property tables are slow, and only other scripts need them.
                let v = u.value
                if v < 0x80 {
                    if (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A {
                        latin += 1
                        letters += 1
                    }
                } else if (0xC0...0x24F).contains(v) && v != 0xD7 && v != 0xF7 {
                    latin += 1
                    letters += 1
                } else if Self.isCJK(u) {
                    cjk += 1
                    letters += 1
                } else if v >= 0x370 && u.properties.isAlphabetic {
                    letters += 1
                }
            }
        }
        let script = letters == 0 ? "none" : cjk * 2 >= letters ? "cjk" : latin * 2 >= letters ? "latin" : "other"
        languages[script, default: 0] += 1
        if let path = duplicatePath, let v = record.value(at: path) {
            duplicatesSeen += 1
            distinct.add(StableHash.hash64(StableHash.keyBytes(v)))
        }
        if case .object(let h)? = record["history"] {
            for m in Self.firstOfEachName(h.members) { addStep(m.key, m.value) }
        }
    }

    /// An object's members without repeated names (the first wins), so a name given twice
    /// in one record counts once. Few names, the usual case, are compared in place.
    static func firstOfEachName(_ members: [(key: String, value: JSONValue)]) -> [(key: String, value: JSONValue)] {
        if members.count <= 16 {
            return members.enumerated().filter { i, m in !members[..<i].contains { $0.key == m.key } }.map(\.element)
        }
        var seen = Set<String>()
        return members.filter { seen.insert($0.key).inserted }
    }

    /// Scores and steps kept apart; past these, names are counted together (memory stays flat).
    public static let nameLimit = 64
    public private(set) var otherScores = 0
    public private(set) var otherSteps = 0

    func addScore(_ name: String, _ v: JSONValue) {
        if scores[name] == nil {
            guard scores.count < Self.nameLimit else {
                otherScores += 1
                return
            }
            var fresh = ScoreFigures()
            fresh.thresholdCounts = settings.thresholds.filter { $0.score == name }.map { _ in (0, 0) }
            scores[name] = fresh
        }
        scores[name]!.present += 1
        switch v {
        case .bool(let b): if b { scores[name]!.trues += 1 } else { scores[name]!.falses += 1 }
        case .number(let n) where n.value.isFinite:
            if scores[name]!.numbers[n.value] != nil || scores[name]!.numbers.count < Self.distinctValueLimit {
                scores[name]!.numbers[n.value, default: 0] += 1
            } else {
                scores[name]!.overflow += 1
            }
            for (k, t) in settings.thresholds.filter({ $0.score == name }).enumerated() {
                scores[name]!.thresholdCounts[k].scored += 1
                if t.holds(n.value) { scores[name]!.thresholdCounts[k].pass += 1 }
            }
        default: scores[name]!.unreadable += 1
        }
    }

    /// Distinct values of one score kept apart; past it they are only counted.
    public static let distinctValueLimit = 200

    /// A count from a record (tokens, milliseconds): a finite number from 0 to 10^15, else nil.
    static func count(_ v: JSONValue?) -> Int? {
        guard let d = v?.doubleValue, d.isFinite, d >= 0, d <= 1e15 else { return nil }
        return Int(d)
    }

    func addStep(_ step: String, _ v: JSONValue) {
        guard case .object = v else { return }
        if steps[step] == nil {
            guard steps.count < Self.nameLimit else {
                otherSteps += 1
                return
            }
            steps[step] = StepFigures()
            stepOrder.append(step)
        }
        steps[step]!.calls += 1
        // Sums saturate rather than overflow; values that are not counts are left out.
        if case .object(let u)? = v["usage"] {
            if let p = Self.count(u["prompt_tokens"]) {
                steps[step]!.promptTokens =
                    steps[step]!.promptTokens.addingReportingOverflow(p).overflow
                    ? Int.max : steps[step]!.promptTokens + p
            }
            if let c = Self.count(u["completion_tokens"]) {
                steps[step]!.completionTokens =
                    steps[step]!.completionTokens.addingReportingOverflow(c).overflow
                    ? Int.max : steps[step]!.completionTokens + c
                steps[step]!.counted += 1
                _ = steps[step]!.completion.record(UInt64(min(c, 1 << 39)))
            }
        }
        if let ms = Self.count(v["latency_ms"]) {
            steps[step]!.timed += 1
            _ = steps[step]!.latency.record(UInt64(min(ms, 1 << 39)))
        }
    }

    static func isCJK(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF, 0x20000...0x2FA1F:
            return true
        default: return false
        }
    }

    /// A `--stats` file of one step (mminf-gen, -score, -filter, -split write them).
    public func addStats(path: String) throws {
        let text = try TextFile.read(path, what: "--stats \(path)")
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(text) } catch {
            throw ToolError("--stats \(path): not JSON (\(error)); was its step interrupted?", status: .dataError)
        }
        guard case .object(let o) = parsed else {
            throw ToolError("--stats \(path): not a JSON object", status: .dataError)
        }
        for k in ["in", "out", "dropped", "failed"] where o[k] != nil && Self.count(o[k]) == nil {
            throw ToolError("--stats \(path): \"\(k)\" is not a count", status: .dataError)
        }
        func n(_ k: String) -> Int { Self.count(o[k]) ?? 0 }
        var reasons: [(String, Int)] = []
        if let r = o["dropped_by_reason"] {
            guard case .object(let byReason) = r else {
                throw ToolError("--stats \(path): \"dropped_by_reason\" is not an object", status: .dataError)
            }
            for (reason, v) in byReason.members {
                guard let c = Self.count(v) else {
                    throw ToolError(
                        "--stats \(path): \"dropped_by_reason\".\"\(reason)\" is not a count", status: .dataError)
                }
                reasons.append((reason, c))
            }
        }
        let tool = o["tool"]?.stringValue ?? "step"
        var name = (path as NSString).lastPathComponent
        if name.hasSuffix(".stats.json") {
            name.removeLast(".stats.json".count)
        } else if name.hasSuffix(".json") {
            name.removeLast(".json".count)
        }
        // The shards of one step (NAME.shard-K.stats.json) add up to one row.
        if let r = name.range(of: #"\.shard-[0-9]+$"#, options: .regularExpression) { name.removeSubrange(r) }
        let label = "\(name) (\(tool))"
        if let k = funnel.firstIndex(where: { $0.name == label }) {
            funnel[k].recordsIn += n("in")
            funnel[k].recordsOut += n("out")
            funnel[k].dropped += n("dropped")
            funnel[k].failed += n("failed")
            funnel[k].addReasons(reasons)
            return
        }
        var step = FunnelStep(
            name: label, recordsIn: n("in"), recordsOut: n("out"), dropped: n("dropped"), failed: n("failed"))
        step.addReasons(reasons)
        funnel.append(step)
    }
}

/// Counts distinct values in a few kilobytes (Flajolet et al.'s HyperLogLog,
/// 2^14 registers: a standard error of about 0.8%).
final class HyperLogLog {
    static let bits = 14
    var registers = [UInt8](repeating: 0, count: 1 << HyperLogLog.bits)

    func add(_ hash: UInt64) {
        let index = Int(hash >> UInt64(64 - Self.bits))
        let rest = hash << UInt64(Self.bits)
        let rank = UInt8(min(rest.leadingZeroBitCount, 64 - Self.bits) + 1)
        if rank > registers[index] { registers[index] = rank }
    }

    var estimate: Double {
        let m = Double(registers.count)
        let sum = registers.reduce(0.0) { $0 + pow(2, -Double($1)) }
        let raw = 0.7213 / (1 + 1.079 / m) * m * m / sum
        let zeros = registers.filter { $0 == 0 }.count
        // Small counts: linear counting is exact enough where many registers are empty.
        if raw <= 2.5 * m && zeros > 0 { return m * log(m / Double(zeros)) }
        return raw
    }
}

extension JSONValue {
    /// A member of an object value (nil for other values or a missing key).
    subscript(key: String) -> JSONValue? { objectValue?[key] }
}
