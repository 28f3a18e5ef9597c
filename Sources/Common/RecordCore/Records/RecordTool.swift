import CMemory
import Foundation

/// What to do with a line that is not a usable record.
public enum BadLinePolicy: String, CaseIterable, Sendable {
    /// Stop with an error naming the line (after flushing what was written).
    case stop
    /// Send it to the reject stream and go on.
    case skip
}

/// Where a record tool writes and how it treats bad lines: what the
/// command-line options of every tool boil down to.
public struct RecordToolSettings: Sendable {
    public var output: String?
    public var zstd = false
    public var level = 3
    public var rejected: String?
    public var badLines = BadLinePolicy.stop
    public var quiet = false
    /// Other files the run writes (failures, stats): claimed, and their folders made
    /// and checked, before anything is opened, so a bad path stops the run at once.
    public var alsoWrites: [(path: String, option: String)] = []
    /// `--stats FILE` of the tools that call no model: the summary as JSON, on every exit.
    public var stats: String?
    public init() {}
}

/// The shared life of a record tool: open inputs and outputs, count, route
/// rejects, and on the way out flush everything and print the summary.
public final class RecordTool {
    public let name: String
    public let input: RecordInput
    public let output: OutputSink
    public let rejects: RejectStream?
    public let summary: RunSummary
    let policy: BadLinePolicy
    let quiet: Bool
    let statsPath: String?
    var badLineWarnings = 0
    var files: FileClaims

    public init(name: String, files: [String], io: RecordToolSettings) throws {
        signal(SIGPIPE, SIG_IGN)
        SignalWatch.install()
        RecordTool.keepLargeBlocksOnTheHeap()
        self.name = name
        self.input = RecordInput(paths: files)
        try input.checkReadable()
        var files = FileClaims(inputs: input.paths)
        try files.claimOutput(io.output == "-" ? nil : io.output, option: "-o")
        if let r = io.rejected { try files.claimOutput(r, option: "--rejected") }
        // Every file a tool writes gets its folder made, as a pipeline's run folder needs.
        for (path, option) in [(io.output, "-o"), (io.rejected, "--rejected")] {
            if let path, path != "-" { try RecordTool.prepareFolder(of: path, option: option) }
        }
        for (path, option) in io.alsoWrites + (io.stats.map { [($0, "--stats")] } ?? []) {
            try files.claimOutput(path, option: option)
            try RecordTool.prepareFolder(of: path, option: option)
        }
        self.files = files
        self.output = try OutputSink.open(io.output, zstd: io.zstd, level: io.level)
        self.rejects = try io.rejected.map { RejectStream(sink: try OutputSink.open($0, zstd: false, level: io.level)) }
        self.summary = RunSummary(tool: name)
        self.policy = io.badLines
        self.quiet = io.quiet
        self.statsPath = io.stats
    }

    /// Refuses an output that is also an input or another output (see FileClaims).
    public func claimOutput(_ path: String?, option: String) throws {
        try files.claimOutput(path, option: option)
    }

    /// Runs `body`, then flushes outputs and prints the summary whether or not it failed.
    /// The output gets its final name only when the run ended normally (every record
    /// written, some perhaps failed); otherwise what was written stays in NAME.partial.
    public func process(_ body: (RecordTool) throws -> Void) throws {
        var failure: Error?
        do { try body(self) } catch { failure = error }
        let completed = failure == nil || (failure as? ToolFailure)?.exitStatus == .recordsFailed
        do {
            if completed { try output.publish() } else { try output.close() }
        } catch { if failure == nil { failure = error } }
        do { try rejects?.close() } catch { if failure == nil { failure = error } }
        input.close()
        if let statsPath {
            do { try summary.writeStats(to: statsPath) } catch { if failure == nil { failure = error } }
        }
        if !quiet { RecordTool.printError(summary.line()) }
        if !completed, let staged = output.stagingPath {
            let kept = "the \(summary.recordsOut) records written are in \(staged); \(output.name) was not touched"
            if var stop = failure as? Interrupted {
                stop.detail += (stop.detail.isEmpty ? "" : "; ") + kept
                failure = stop
            } else {
                RecordTool.printError("\(name): \(kept)")
            }
        }
        if let failure { throw failure }
    }

    /// Runs `body` on every input line, counting it; a line `body` finds unusable (not
    /// a JSON object, not UTF-8, lacking a field it needs) goes by --bad-lines.
    public func eachLine(_ body: (InputLine) throws -> Void) throws {
        while let line = try input.next() {
            try SignalWatch.check()
            summary.recordsIn += 1
            do {
                try body(line)
            } catch let e as JSONSyntaxError {
                try badLine(line, e)
            } catch let e as UTF8Error {
                try badLine(line, e)
            } catch let e as RecordError {
                try badLine(line, e)
            }
        }
    }

    /// A line that is not a usable record: stop, or count it and send it to the rejects.
    public func badLine(_ line: InputLine, _ error: Error) throws {
        let bad = BadLineError(line, error)
        summary.badLines += 1
        if policy == .stop { throw bad }
        if badLineWarnings < 5 {
            RecordTool.printError("\(name): skipped \(bad.description)")
        } else if badLineWarnings == 5 {
            RecordTool.printError(
                "\(name): skipping further bad lines quietly (see the summary\(rejects == nil ? "" : " and --rejected"))"
            )
        }
        badLineWarnings += 1
        let isJSON = !(error is JSONSyntaxError || error is UTF8Error)
        try rejects?.write(line, reason: bad.message, recordIsValid: isJSON)
    }

    /// A record the tool built (a joined group) that is unusable: like a bad line, located at its first member.
    public func badGroup(_ record: JSONValue, source: String, line: Int, reason: String) throws {
        summary.badLines += 1
        if policy == .stop { throw BadLineError(source: source, line: line, column: nil, message: reason) }
        try rejects?.write(record: record, source: source, line: line, reason: reason)
    }

    /// A record deliberately left out: counted by reason and sent to the rejects.
    public func drop(_ line: InputLine, reason: String) throws {
        summary.drop(reason)
        try rejects?.write(line, reason: reason, recordIsValid: true)
    }

    /// A record held back and then left out (one the sample's reservoir let go):
    /// counted by reason and sent to the rejects.
    public func drop(bytes: [UInt8], source: String, line: Int, reason: String) throws {
        summary.drop(reason)
        try bytes.withUnsafeBufferPointer {
            try rejects?.write(bytes: $0, source: source, line: line, reason: reason, recordIsValid: true)
        }
    }

    /// A record the tool built (a joined group) and then left out.
    public func drop(record: JSONValue, source: String, line: Int, reason: String) throws {
        summary.drop(reason)
        try rejects?.write(record: record, source: source, line: line, reason: reason)
    }

    /// Writes an input line unchanged to another sink (a shard file), counting it as output.
    public func emit(_ line: InputLine, to sink: OutputSink) throws {
        summary.recordsOut += 1
        try sink.writeLine(line.bytes)
    }

    /// Writes an input line unchanged.
    @inline(__always) public func emit(_ line: InputLine) throws {
        try SignalWatch.check()
        summary.recordsOut += 1
        try output.writeLine(line.bytes)
    }

    public func emit(_ bytes: [UInt8]) throws {
        try SignalWatch.check()
        summary.recordsOut += 1
        try output.writeLine(bytes)
    }

    /// One line on stderr; a closed or full stderr is not worth dying for.
    public static func printError(_ s: String) {
        var line = s + "\n"
        line.withUTF8 { b in
            var done = 0
            while done < b.count {
                let n = Glibc.write(2, b.baseAddress! + done, b.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                done += n
            }
        }
    }
}

extension RecordTool {
    public func emit(_ value: JSONValue) throws {
        // One record may yield many (explode): a signal is seen between them too.
        try SignalWatch.check()
        summary.recordsOut += 1
        try output.writeLine(value)
    }
}

/// Parses a comma-separated list of field paths (`--keep a,b.c`).
public func fieldList(_ s: String?) throws -> [FieldPath] {
    guard let s else { return [] }
    return try s.split(separator: ",").map { try FieldPath(parsing: $0.trimmingCharacters(in: .whitespaces)) }
}

extension RecordTool {
    /// Request bodies and images are hundreds of KB: above glibc's default 128 KB
    /// each would be a fresh mmap whose every page faults in, then an munmap —
    /// more system time than the work itself. Up to 8 MB, blocks come from the
    /// heap and are reused; larger ones (videos) are mmaps returned when freed.
    static func keepLargeBlocksOnTheHeap() {
        mminf_keep_large_blocks_on_heap()
    }

    /// Makes the folder a file will be written in, and checks it can be written.
    static func prepareFolder(of path: String, option: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        guard !folder.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw ToolError("\(option) \(path): cannot create the folder \(folder)", status: .cannotCreate)
        }
        guard access(folder, W_OK) == 0 else {
            throw ToolError(
                "\(option) \(path): the folder \(folder) cannot be written (\(String(cString: strerror(errno))))",
                status: .cannotCreate)
        }
    }
}
