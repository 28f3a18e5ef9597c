import Foundation

/// A record-level problem: a field that is missing or of the wrong type.
public enum RecordError: Error, CustomStringConvertible {
    case field(String, String)
    case missing(String, hint: String)
    case message(String)

    public var description: String {
        switch self {
        case .field(let path, let msg): return "field '\(path)': \(msg)"
        case .missing(let path, let hint):
            return "field '\(path)' is not in this record\(hint.isEmpty ? "" : "; \(hint)")"
        case .message(let m): return m
        }
    }
}

/// A line that cannot be used, located by input, line and (where known) column.
public struct BadLineError: ToolFailure, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var column: Int?
    public var message: String

    /// A JSON array's element is located by its index: `data.json[7]`.
    public var inArray = false

    public var location: String {
        let place = inArray ? "\(source)[\(line)]" : "\(source):\(line)"
        return column.map { "\(place):\($0)" } ?? place
    }
    public var description: String { "\(location): \(message)" }

    public init(source: String, line: Int, column: Int?, message: String) {
        self.source = source
        self.line = line
        self.column = column
        self.message = message
    }

    /// Explains why the bytes of `input` are not a usable record.
    public init(_ input: InputLine, _ error: Error) {
        source = input.source
        line = input.number
        inArray = input.inArray
        switch error {
        case let e as JSONSyntaxError:
            column = BadLineError.column(of: e.offset, in: input.bytes)
            message = "not a JSON object: \(e.message)"
        case let e as UTF8Error:
            column = BadLineError.column(of: e.offset, in: input.bytes)
            message = String(format: "invalid UTF-8 (byte 0x%02x); records must be UTF-8 text", e.byte)
        case let e as RecordError:
            column = nil
            message = e.description
        default:
            column = nil
            message = "\(error)"
        }
    }

    /// 1-based column in characters (code points), as an editor shows it.
    static func column(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var col = 1
        for i in 0..<min(offset, bytes.count) where bytes[i] & 0xC0 != 0x80 { col += 1 }
        return col
    }
}

extension BadLineError {
    public var exitMessage: String? { "\(description) (use --bad-lines skip to set such lines aside and go on)" }
    public var exitStatus: ExitStatus { .dataError }
}
