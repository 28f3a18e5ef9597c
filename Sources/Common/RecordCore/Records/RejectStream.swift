import Foundation

/// Where dropped records and unusable lines go (`--rejected FILE`), each with
/// the reason, so that every input record is accounted for:
///
///     {"reason":"where: scores.clarity >= 3","source":"in.jsonl","line":7,"record":{...}}
///
/// A line that is not JSON is kept as text under "raw" instead of "record".
public final class RejectStream {
    private var sink: OutputSink?
    private let open: () throws -> OutputSink
    var scratch: [UInt8] = []

    public init(sink: OutputSink) {
        self.sink = sink
        open = { sink }
    }

    /// A stream whose file is created by the first record written to it, so a run
    /// with no failures leaves no failures file.
    /// A run that writes nothing to it removes a file left at `path` by an earlier
    /// run, so the file always describes the latest run (a failures file fed back
    /// in must not be fed in twice).
    public init(openingOnFirstWrite path: String) {
        open = { try OutputSink.open(path) }
        stalePath = path
    }
    private var stalePath: String?

    public func write(_ line: InputLine, reason: String, recordIsValid: Bool) throws {
        try write(
            bytes: line.bytes, source: line.source, line: line.number, reason: reason, recordIsValid: recordIsValid)
    }

    /// `extra` members go after the reason (status and attempts of a failed call).
    public func write(
        bytes: UnsafeBufferPointer<UInt8>, source: String, line: Int, reason: String, recordIsValid: Bool,
        extra: [(String, JSONValue)] = []
    ) throws {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: "{\"reason\":".utf8)
        JSONWriter.writeString(reason, into: &scratch)
        for (k, v) in extra {
            scratch.append(UInt8(ascii: ","))
            JSONWriter.writeString(k, into: &scratch)
            scratch.append(UInt8(ascii: ":"))
            JSONWriter.write(v, into: &scratch)
        }
        scratch.append(contentsOf: ",\"source\":".utf8)
        JSONWriter.writeString(source, into: &scratch)
        scratch.append(contentsOf: ",\"line\":\(line),".utf8)
        if recordIsValid {
            scratch.append(contentsOf: "\"record\":".utf8)
            scratch.append(contentsOf: bytes)
        } else {
            scratch.append(contentsOf: "\"raw\":".utf8)
            // Invalid UTF-8 becomes U+FFFD: the envelope itself must stay valid.
            JSONWriter.writeString(String(decoding: bytes, as: UTF8.self), into: &scratch)
        }
        scratch.append(UInt8(ascii: "}"))
        if sink == nil { sink = try open() }
        try sink!.writeLine(scratch)
    }

    /// A record built by the tool (a joined group, say) rather than an input line.
    public func write(record: JSONValue, source: String, line: Int, reason: String) throws {
        var bytes: [UInt8] = []
        JSONWriter.write(record, into: &bytes)
        try bytes.withUnsafeBufferPointer {
            try write(bytes: $0, source: source, line: line, reason: reason, recordIsValid: true)
        }
    }

    /// Flushes and moves the file to its final name (see OutputSink.publish).
    public func close() throws {
        if let sink { try sink.publish() }
    }

    /// `close`, after a run that went to its end: a file left at the path by an
    /// earlier run (a plain file, never a link) is removed when this run wrote
    /// nothing. An interrupted run leaves it, since it still describes records.
    public func closeCompleted() throws {
        if sink != nil { return try close() }
        var st = stat()
        if let stalePath, lstat(stalePath, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { unlink(stalePath) }
    }
}
