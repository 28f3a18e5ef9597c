import RecordCore

/// One record -> one record per part of a text field. Children keep every
/// field of the parent (its `id` too) and say which part they are:
/// `"part": {"index": 0, "count": 5}`.
public struct RecordExploder {
    public var field: FieldPath
    public var into: FieldPath
    public var partField: FieldPath?
    public var splitter: TextSplitter
    public var maxParts: Int?

    public init(field: FieldPath, into: FieldPath, partField: FieldPath?, splitter: TextSplitter, maxParts: Int?) {
        self.field = field
        self.into = into
        self.partField = partField
        self.splitter = splitter
        self.maxParts = maxParts
    }

    public enum Outcome {
        case exploded(parts: Int)
        case drop(String)
    }

    /// Hands each child to `emit` as it is made: a huge field is counted in one pass
    /// and cut in a second, never held as a list of parts or children.
    public func explode(_ record: JSONValue, emit: (JSONValue) throws -> Void) throws -> Outcome {
        guard let value = record.value(at: field) else {
            throw RecordError.missing(field.description, hint: "--field names the text to split")
        }
        let count: Int
        let forEach: ((String) throws -> Void) throws -> Void
        switch value {
        case .null:
            count = 0
            forEach = { _ in }
        case .string(let s):
            count = try splitter.count(s)
            forEach = { try splitter.forEachPart(s, $0) }
        case .array(let a):
            // An array is already split: each element is a part.
            let parts = a.map { Template.text(of: $0).trimmingCharacters(in: .whitespacesAndNewlines) }.filter {
                !$0.isEmpty
            }
            count = parts.count
            forEach = { body in for p in parts { try body(p) } }
        default: throw RecordError.field(field.description, "is a \(value.typeName); --field needs text or an array")
        }
        if count == 0 { return .drop("split: no parts in \(field)") }
        if let maxParts, count > maxParts {
            return .drop("split: \(count) parts > --max-parts \(maxParts)")
        }
        // The parent without the field being cut (when the part replaces it), so no
        // child carries the whole text along.
        var parent = record
        if into == field { try parent.set(.null, at: field) }
        var i = 0
        try forEach { p in
            var child = parent
            try child.set(.string(p), at: into)
            if let partField {
                try child.set(.object(JSONObject([("index", .int(i)), ("count", .int(count))])), at: partField)
            }
            i += 1
            try emit(child)
        }
        return .exploded(parts: count)
    }
}

/// Many -> one: consecutive records with the same key become one record
/// whose collected fields are arrays, in order (the inverse of explode).
public final class RecordJoiner {
    public let key: FieldPath
    public let collect: [FieldPath]
    public let partField: FieldPath?
    public let keepIncomplete: Bool

    var groupKey: [UInt8]?
    var members: [JSONValue] = []
    public private(set) var firstSource = ""
    public private(set) var firstLine = 0

    public init(key: FieldPath, collect: [FieldPath], partField: FieldPath?, keepIncomplete: Bool) {
        self.key = key
        self.collect = collect
        self.partField = partField
        self.keepIncomplete = keepIncomplete
    }

    public struct Group {
        public var record: JSONValue
        public var size: Int
        public var source: String
        public var line: Int
        /// Why the group is incomplete, when it is.
        public var incomplete: String?
        /// Why the group could not be joined at all (a collected path runs into a non-object).
        public var failure: String?
    }

    /// Adds a record; returns the previous group when this record starts a new one.
    public func add(_ record: JSONValue, source: String, line: Int) throws -> Group? {
        guard let k = record.value(at: key) else {
            throw RecordError.missing(key.description, hint: "--join groups records by it")
        }
        let kb = StableHash.keyBytes(k)
        var finished: Group?
        if let g = groupKey, g != kb { finished = finish() }
        if members.isEmpty {
            groupKey = kb
            firstSource = source
            firstLine = line
        }
        members.append(record)
        return finished
    }

    /// The group in progress, if any (call at the end of the input).
    public func finish() -> Group? {
        guard let first = members.first else { return nil }
        defer {
            members.removeAll()
            groupKey = nil
        }
        var joined = first
        for path in collect {
            do {
                try joined.set(.array(members.map { $0.value(at: path) ?? .null }), at: path)
            } catch {
                return Group(
                    record: first, size: members.count, source: firstSource, line: firstLine, incomplete: nil,
                    failure: "join: cannot collect \(path): \(error)")
            }
        }
        var incomplete: String?
        if let partField {
            let counts = members.compactMap {
                $0.value(at: partField)?.value(at: FieldPath(components: [.key("count")], text: "count"))?.doubleValue
            }
            let indexes = members.compactMap {
                $0.value(at: partField)?.value(at: FieldPath(components: [.key("index")], text: "index"))?.doubleValue
            }
            if let expected = counts.first, counts.count == members.count {
                if Int(expected) != members.count || indexes != (0..<members.count).map(Double.init) {
                    incomplete = "join: incomplete group, \(members.count) of \(Int(expected)) parts"
                }
            }
            joined.remove(at: partField)
        }
        return Group(
            record: joined, size: members.count, source: firstSource, line: firstLine, incomplete: incomplete,
            failure: nil)
    }
}

/// Keeps exactly N records chosen uniformly (reservoir sampling, seeded),
/// written in input order at the end.
public final class ReservoirSample {
    public struct Entry {
        public var index: Int
        public var bytes: [UInt8]
        public var source: String
        public var line: Int
    }

    let size: Int
    var rng: SeededRandom
    var seen = 0
    public private(set) var entries: [Entry] = []

    public init(size: Int, seed: UInt64) {
        self.size = size
        self.rng = SeededRandom(seed: seed)
    }

    /// Offers a record; returns the entry pushed out (or the record itself) when one is left out.
    public func offer(_ line: InputLine) -> Entry? {
        let entry = Entry(index: seen, bytes: Array(line.bytes), source: line.source, line: line.number)
        defer { seen += 1 }
        if entries.count < size {
            entries.append(entry)
            return nil
        }
        let j = Int(rng.next() % UInt64(seen + 1))
        if j < size {
            let out = entries[j]
            entries[j] = entry
            return out
        }
        return entry
    }

    /// Offers a record when what is left out is not needed: the line is copied only if kept.
    public func offerKeeping(_ line: InputLine) {
        defer { seen += 1 }
        if entries.count < size {
            entries.append(Entry(index: seen, bytes: Array(line.bytes), source: line.source, line: line.number))
            return
        }
        let j = Int(rng.next() % UInt64(seen + 1))
        if j < size {
            entries[j] = Entry(index: seen, bytes: Array(line.bytes), source: line.source, line: line.number)
        }
    }

    public func inOrder() -> [Entry] { entries.sorted { $0.index < $1.index } }
}
