import Foundation
import RecordCore

/// Writes each record to one of N files: a stable hash of a key picks the file
/// (the same on every run and machine), or round robin without a key, or
/// contiguous blocks of an input of known length (shard files concatenated in
/// order give the input back in order, which is how sharded pipelines merge).
public struct ShardWriter {
    public let count: Int
    public let key: FieldPath?
    /// The number of records when shards are contiguous blocks.
    public let blocksOf: Int?

    public init(count: Int, key: FieldPath?, blocksOf: Int? = nil) {
        self.count = count
        self.key = key
        self.blocksOf = blocksOf
    }

    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    /// The records (non-blank lines or array elements) of `paths`, for `blocksOf`.
    public static func countRecords(_ paths: [String]) throws -> Int {
        let input = RecordInput(paths: paths)
        var n = 0
        while try input.next() != nil { n += 1 }
        return n
    }

    /// `out-{shard}.jsonl.zst` → `out-07.jsonl.zst`: the number as wide as count-1.
    public func fileName(_ pattern: String, _ i: Int) -> String {
        pattern.replacingOccurrences(of: "{shard}", with: ShardWriter.number(i, of: count))
    }

    /// Shard `i` of `count` as a name, zero-padded as wide as count-1 so names sort
    /// in order (shared by split's files and the compiled pipelines' shards).
    public static func number(_ i: Int, of count: Int) -> String {
        let num = String(i)
        return String(repeating: "0", count: max(0, String(count - 1).count - num.count)) + num
    }

    public func run(_ tool: RecordTool, pattern: String, zstd: Bool, level: Int) throws {
        // Check the open-file limit before creating anything, rather than fail halfway.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, UInt64(count) + 32 > UInt64(limit.rlim_cur) {
            throw ToolError.usage(
                "--shards \(count) needs \(count) files open at once, but this process may open \(limit.rlim_cur) "
                    + "(ulimit -n): use fewer shards, or raise the limit")
        }
        let names = (0..<count).map { fileName(pattern, $0) }
        for name in Set(names.map { ($0 as NSString).deletingLastPathComponent }) where !name.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: name, withIntermediateDirectories: true)
            } catch {
                throw ToolError("-o \(pattern): cannot create the folder \(name)", status: .cannotCreate)
            }
        }
        for name in names { try tool.claimOutput(name, option: "-o") }
        let sinks = try names.map { try OutputSink.open($0, zstd: zstd, level: level) }
        let extractor = FieldExtractor(paths: key.map { [$0] } ?? [])
        var values: [JSONValue?] = key == nil ? [] : [nil]
        var next = 0
        defer { for s in sinks { try? s.close() } }
        var seen = 0  // every record read, bad lines too, as countRecords counts them
        try tool.eachLine { line in
            seen += 1
            try extractor.extract(line.bytes, into: &values)
            let shard: Int
            if let key {
                guard let v = values[0] else {
                    throw RecordError.missing(key.description, hint: "--key picks the shard")
                }
                shard = Int(StableHash.hash64(StableHash.keyBytes(v)) % UInt64(count))
            } else if let total = blocksOf {
                shard = min(count - 1, (seen - 1) * count / max(total, 1))
            } else {
                shard = next
                next = (next + 1) % count
            }
            try tool.emit(line, to: sinks[shard])
        }
        if let total = blocksOf, seen != total {
            throw ToolError(
                "--contiguous counted \(total) records but then read \(seen): an input changed while it was cut; run it again",
                status: .dataError)
        }
        for s in sinks { try s.publish() }
    }
}

/// `--sample N` (exactly N, reservoir) or `--sample P%` (each record with probability P), seeded.
public enum RecordSampler {
    public static func run(_ tool: RecordTool, spec: String, seed: UInt64) throws {
        if spec.hasSuffix("%") {
            guard let p = Double(spec.dropLast()), p >= 0, p <= 100 else {
                throw ToolError.usage("--sample P% needs P from 0 to 100, got '\(spec)'")
            }
            var rng = SeededRandom(seed: seed)
            try tool.eachLine { line in
                try FieldExtractor.validateObject(line.bytes)
                if Double(rng.next() >> 11) / Double(1 << 53) < p / 100 {
                    try tool.emit(line)
                } else {
                    try tool.drop(line, reason: "sample")
                }
            }
            return
        }
        guard let n = Int(spec), n >= 0 else {
            throw ToolError.usage("--sample takes a count N or a percentage P%, got '\(spec)'")
        }
        let reservoir = ReservoirSample(size: n, seed: seed)
        try tool.eachLine { line in
            try FieldExtractor.validateObject(line.bytes)
            if let out = reservoir.offer(line) {
                try tool.drop(bytes: out.bytes, source: out.source, line: out.line, reason: "sample")
            }
        }
        for e in reservoir.inOrder() { try tool.emit(e.bytes) }
    }
}
