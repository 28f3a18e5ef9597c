import Foundation

/// One input line, with where it came from. `bytes` is valid until the next line is read.
public struct InputLine {
    public var bytes: UnsafeBufferPointer<UInt8>
    public var source: String
    /// The line number (from 1), or for a JSON array input the element's index (from 0).
    public var number: Int
    /// The record is an element of a JSON array: located as `source[number]`.
    public var inArray = false

    public init(bytes: UnsafeBufferPointer<UInt8>, source: String, number: Int, inArray: Bool = false) {
        self.bytes = bytes
        self.source = source
        self.number = number
        self.inArray = inArray
    }

    /// Where the record is, as errors and the reject stream say it.
    public var location: String { inArray ? "\(source)[\(number)]" : "\(source):\(number)" }
}

/// How an input's records are cut out: lines, or the elements of one JSON array
/// (told apart by the input's first non-space byte).
enum RecordReader {
    case undecided(PeekedChunkSource)
    case lines(LineReader)
    case array(JSONArrayReader)

    func close() {
        switch self {
        case .undecided(let s): s.close()
        case .lines(let r): r.close()
        case .array(let r): r.close()
        }
    }
}

/// Reads the lines of several inputs in order (stdin when none is named, or "-").
/// Blank lines are skipped but counted, so line numbers match an editor's.
public final class RecordInput {
    public let paths: [String]
    var nextPath = 0
    var reader: RecordReader?
    var currentName = ""
    var currentFile: FileByteSource?
    var finishedBytes = 0
    /// Bytes of the current file handed out as lines (plain files), or nil for a
    /// compressed one, whose progress is the compressed bytes read.
    var consumed: Int? = 0
    /// Blank lines passed while looking for the first non-space byte of the current input.
    var blankLinesSeen = 0

    public init(paths: [String]) {
        self.paths = paths.isEmpty ? ["-"] : paths
    }

    /// Opens every named file up front, so a missing one fails before any work.
    /// A named pipe is only checked, not opened: opening it twice would lose its writer's data.
    public func checkReadable() throws {
        for p in paths where p != "-" {
            var st = stat()
            if stat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO {
                guard access(p, R_OK) == 0 else {
                    throw InputError(
                        source: p, message: "cannot open: \(String(cString: strerror(errno)))", status: .noInput)
                }
                continue
            }
            let s = try FileByteSource.open(p)
            s.close()
        }
    }

    /// Like next, but gives up after `wait` seconds without a complete line.
    public func poll(wait: Double) throws -> Polled<InputLine> {
        while true {
            if reader == nil {
                guard nextPath < paths.count else { return .end }
                let path = paths[nextPath]
                nextPath += 1
                let (chunks, file, compressed) = try InputOpener.openWithFile(path)
                reader = .undecided(PeekedChunkSource(chunks))
                blankLinesSeen = 0
                currentFile = file
                consumed = compressed ? nil : 0
                currentName = path == "-" ? "<stdin>" : path
            }
            let polled: Polled<UnsafeBufferPointer<UInt8>>
            var number = 0
            var inArray = false
            switch reader! {
            case .undecided(let peeked):
                // A JSON array starts with '[' (after spaces or a byte-order mark); anything else is JSONL.
                guard case .ready(let first) = try peeked.peek(wait: wait) else { return .notReady }
                let lead = first?.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 >= 0xBB) }
                if let first, lead == nil {
                    // Only white space so far (a slow pipe): it holds no record; look further.
                    blankLinesSeen += first.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                    if let c = consumed { consumed = c + first.count }
                    peeked.dropPeeked()
                    continue
                }
                reader =
                    lead == UInt8(ascii: "[")
                    ? .array(JSONArrayReader(source: peeked, name: currentName))
                    : .lines(LineReader(source: peeked, linesBefore: blankLinesSeen))
                continue
            case .lines(let r):
                polled = try r.poll(wait: wait)
                number = r.lineNumber
            case .array(let r):
                polled = try r.poll(wait: wait)
                number = r.index
                inArray = true
            }
            switch polled {
            case .notReady: return .notReady
            case .end:
                reader?.close()
                finishedBytes += currentFile?.size ?? 0
                currentFile = nil
                reader = nil
            case .ready(var bytes):
                if let c = consumed { consumed = c + bytes.count + 1 }
                // A UTF-8 byte-order mark (as some editors write) is not part of the first record.
                if number == 1, !inArray, bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
                    bytes = UnsafeBufferPointer(rebasing: bytes[3...])
                }
                if RecordInput.isBlank(bytes) { continue }
                return .ready(InputLine(bytes: bytes, source: currentName, number: number, inArray: inArray))
            }
        }
    }

    /// The next non-blank line, waiting for it; nil at the end of the last input.
    /// Waiting on a slow pipe wakes up to look for SIGINT/SIGTERM.
    public func next() throws -> InputLine? {
        try Polled.wait {
            let p = try poll(wait: 0.25)
            if case .notReady = p { try SignalWatch.check() }
            return p
        }
    }

    /// How much of the input has been read (0...1), when every input is a regular file.
    public var fraction: Double? {
        var total = 0
        for p in paths {
            guard p != "-", let attrs = try? FileManager.default.attributesOfItem(atPath: p),
                let n = attrs[.size] as? Int
            else { return nil }
            total += n
        }
        guard total > 0 else { return nil }
        // Bytes the records read so far came from: not what the reader thread has read ahead.
        let current = consumed ?? currentFile?.bytesRead ?? 0
        return min(1, Double(finishedBytes + (currentFile == nil ? 0 : current)) / Double(total))
    }

    static func isBlank(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in b where !(c == 0x20 || c == 0x09 || c == 0x0D) { return false }
        return true
    }

    public func close() {
        reader?.close()
        reader = nil
    }
}
