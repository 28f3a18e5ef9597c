import ArgumentParser
import Foundation

/// What to do with a line that is not a usable record.
public enum BadLinePolicy: String, ExpressibleByArgument, CaseIterable {
    /// Stop with an error naming the line (after flushing what was written).
    case stop
    /// Send it to the reject stream and go on.
    case skip
}

/// Input, output and reporting options every record tool shares.
public struct IOOptions: ParsableArguments {
    public init() {}

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Write records to FILE instead of stdout; a name ending in .zst is zstd-compressed.", valueName: "FILE"))
    public var output: String?

    @Flag(help: "Compress the output with zstd whatever its name.")
    public var zstd = false

    @Option(help: ArgumentHelp("zstd compression level (1-19).", valueName: "N"))
    public var level: Int = 3

    @Option(
        help: ArgumentHelp("Write every dropped record and bad line to FILE, each with the reason.", valueName: "FILE"))
    public var rejected: String?

    @Option(
        help: ArgumentHelp(
            "On a line that is not a JSON object: stop (default) or skip it to the reject stream.",
            valueName: "stop|skip"))
    public var badLines: BadLinePolicy = .stop

    @Flag(name: .shortAndLong, help: "Do not print the summary line on stderr.")
    public var quiet = false

    public func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be 1 to 19, got \(level)") }
    }
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
    var badLineWarnings = 0

    public init(name: String, files: [String], io: IOOptions, output: OutputSink? = nil) throws {
        signal(SIGPIPE, SIG_IGN)
        self.name = name
        self.input = RecordInput(paths: files)
        try input.checkReadable()
        self.output = try output ?? OutputSink.open(io.output, zstd: io.zstd, level: io.level)
        self.rejects = try io.rejected.map { RejectStream(sink: try OutputSink.open($0, zstd: false, level: io.level)) }
        self.summary = RunSummary(tool: name)
        self.policy = io.badLines
        self.quiet = io.quiet
    }

    /// Runs `body`, then flushes outputs and prints the summary whether or not it failed.
    public func process(_ body: (RecordTool) throws -> Void) throws {
        var failure: Error?
        do { try body(self) } catch { failure = error }
        do { try output.close() } catch { if failure == nil { failure = error } }
        do { try rejects?.close() } catch { if failure == nil { failure = error } }
        input.close()
        if !quiet { RecordTool.printError(summary.line()) }
        if let failure { throw failure }
    }

    /// Runs `body` on every input line, counting it; a line `body` finds unusable (not
    /// a JSON object, not UTF-8, lacking a field it needs) goes by --bad-lines.
    public func eachLine(_ body: (InputLine) throws -> Void) throws {
        while let line = try input.next() {
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

    /// Writes an input line unchanged.
    @inline(__always) public func emit(_ line: InputLine) throws {
        summary.recordsOut += 1
        try output.writeLine(line.bytes)
    }

    public func emit(_ bytes: [UInt8]) throws {
        summary.recordsOut += 1
        try output.writeLine(bytes)
    }

    public static func printError(_ s: String) {
        FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
    }
}

/// Runs a tool's body, turning every error into one line on stderr and its
/// exit code: no stack trace, whatever the input.
public enum ToolMain {
    public static func run(_ tool: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as ExitCode {
            throw e
        } catch let e as ValidationError {
            throw e
        } catch {
            let (message, status) = describe(error)
            if let message { RecordTool.printError("\(tool): error: \(message)") }
            throw ExitCode(status.rawValue)
        }
    }

    static func describe(_ error: Error) -> (String?, ExitStatus) {
        switch error {
        case let e as ToolError: return (e.message, e.status)
        case let e as BadLineError:
            return ("\(e.description) (use --bad-lines skip to set such lines aside and go on)", .dataError)
        case let e as InputError: return (e.description, e.status)
        case let e as OutputError:
            if e.closed { return (nil, .ok) }  // the reader went away: end quietly
            return (e.description, e.message.hasPrefix("cannot create") ? .cannotCreate : .ioError)
        case let e as FieldPathError: return (e.description, .usage)
        case let e as Template.ParseError: return (e.description, .usage)
        case let e as ModelServer.ProbeError: return (e.description, .unavailable)
        case let e as ResponseCache.CacheError: return (e.description, .ioError)
        default: return ("\(error)", .recordsFailed)
        }
    }
}

extension RecordTool {
    public func emit(_ value: JSONValue) throws {
        summary.recordsOut += 1
        try output.writeLine(value)
    }
}

/// Parses a comma-separated list of field paths (`--keep a,b.c`).
public func fieldList(_ s: String?) throws -> [FieldPath] {
    guard let s else { return [] }
    return try s.split(separator: ",").map { try FieldPath(parsing: $0.trimmingCharacters(in: .whitespaces)) }
}
