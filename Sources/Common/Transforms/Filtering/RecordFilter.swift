import RecordCore

/// What one mminf-filter run does to each record, applied in this order:
/// number, extract, where, unique, set, keep/drop, format (docs/filter.md).
public struct FilterPlan {
    /// `--number F`: a record without F gets its position in the input there,
    /// zero-padded to `numberWidth` digits as text (0: a plain number).
    public var number: FieldPath?
    public var numberWidth = 12
    public var wheres: [Expression] = []
    public var extract: (field: FieldPath, regex: Regex, into: FieldPath)?
    public var unique: FieldPath?
    public var sets: [(path: FieldPath, template: Template)] = []
    public var keep: [FieldPath] = []
    public var drop: [FieldPath] = []
    public var format: ConversationFormat?
    public var formatFields: ConversationFormat.Fields?

    public init() {}

    /// True when records only pass or not: kept ones are copied byte for byte.
    public var onlySelects: Bool {
        number == nil && extract == nil && sets.isEmpty && keep.isEmpty && drop.isEmpty && format == nil
    }
}

/// Runs a FilterPlan over records. Selection-only plans read just the fields
/// the expressions touch; plans that change records parse them whole.
public final class RecordFilter {
    let plan: FilterPlan
    let extractor: FieldExtractor
    /// For each where-expression, the positions of its fields in the extractor's list.
    let whereSlots: [[Int]]
    let uniqueSlot: Int?
    /// Where an expression's fields are the extractor's first ones, in order: no copying.
    let identitySlots: [Bool]
    let onlySelects: Bool
    let wheres: [Expression]
    /// `where: EXPR` on one line, however the expression was typed.
    let whereReasons: [String]
    var values: [JSONValue?]
    var scratch: [JSONValue?] = []
    var seen = Set<StableHash.Pair>()
    var output: [UInt8] = []

    public init(plan: FilterPlan) {
        self.plan = plan
        var all: [FieldPath] = []
        func slot(_ p: FieldPath) -> Int {
            if let i = all.firstIndex(of: p) { return i }
            all.append(p)
            return all.count - 1
        }
        whereSlots = plan.wheres.map { $0.paths.map(slot) }
        uniqueSlot = plan.unique.map(slot)
        identitySlots = whereSlots.map { $0 == Array(0..<$0.count) }
        onlySelects = plan.onlySelects
        wheres = plan.wheres
        whereReasons = plan.wheres.map {
            "where: " + $0.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        extractor = FieldExtractor(paths: all)
        values = Array(repeating: nil, count: all.count)
    }

    public enum Outcome {
        case keepLine
        case write([UInt8])
        case drop(String)
    }

    /// `position`: the record's place in the input, from 0 (for --number).
    public func apply(_ line: UnsafeBufferPointer<UInt8>, position: Int = 0) throws -> Outcome {
        onlySelects ? try select(line) : try transform(line, position: position)
    }

    func select(_ line: UnsafeBufferPointer<UInt8>) throws -> Outcome {
        try extractor.extract(line, into: &values)
        for k in 0..<wheres.count {
            let expr = wheres[k]
            let holds: Bool
            if identitySlots[k] {
                holds = try expr.holds(values)
            } else {
                let slots = whereSlots[k]
                if scratch.count != slots.count { scratch = Array(repeating: nil, count: slots.count) }
                for (j, s) in slots.enumerated() { scratch[j] = values[s] }
                holds = try expr.holds(scratch)
            }
            if !holds { return .drop(whereReasons[k]) }
        }
        if let u = uniqueSlot, let reason = try isDuplicate(values[u], plan.unique!) { return .drop(reason) }
        return .keepLine
    }

    func isDuplicate(_ value: JSONValue?, _ path: FieldPath) throws -> String? {
        guard let value else {
            throw RecordError.missing(path.description, hint: "--unique compares it")
        }
        let inserted = seen.insert(StableHash.hash128(StableHash.uniqueKeyBytes(value))).inserted
        return inserted ? nil : "unique: duplicate \(path)"
    }

    func transform(_ line: UnsafeBufferPointer<UInt8>, position: Int) throws -> Outcome {
        var record = try parseRecord(line)

        if let n = plan.number, record.value(at: n) == nil {
            let digits = String(position)
            let padded = String(repeating: "0", count: max(0, plan.numberWidth - digits.count)) + digits
            try record.set(plan.numberWidth == 0 ? .int(position) : .string(padded), at: n)
        }

        if let x = plan.extract {
            guard let v = record.value(at: x.field) else {
                throw RecordError.missing(x.field.description, hint: "--extract reads it")
            }
            guard case .string(let text) = v, let captured = try x.regex.firstCapture(text) else {
                return .drop("extract: no match in \(x.field)")
            }
            try record.set(.string(captured), at: x.into)
        }
        for (k, expr) in wheres.enumerated() where !(try expr.evaluate(record: record).isTruthy) {
            return .drop(whereReasons[k])
        }
        if let u = plan.unique, let reason = try isDuplicate(record.value(at: u), u) { return .drop(reason) }
        for s in plan.sets {
            let text = try s.template.render(record)
            try record.set(.string(text), at: s.path)
        }
        for d in plan.drop { record.remove(at: d) }
        if let format = plan.format, let fields = plan.formatFields {
            record = try format.export(record, fields: fields, carry: plan.sets.map { $0.path } + plan.keep)
        } else if !plan.keep.isEmpty {
            var kept = JSONValue.object(JSONObject())
            for k in plan.keep {
                if let v = record.value(at: k) { try kept.set(v, at: k) }
            }
            record = kept
        }
        output.removeAll(keepingCapacity: true)
        JSONWriter.write(record, into: &output)
        return .write(output)
    }
}
