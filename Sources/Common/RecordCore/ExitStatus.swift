import Foundation

/// Exit codes shared by every tool (docs/exit-codes.md), after sysexits.h.
public enum ExitStatus: Int32 {
    case ok = 0
    /// The run finished but some records failed (model-calling tools).
    case recordsFailed = 1
    /// Bad options, expression, regex, template or path.
    case usage = 64
    /// A line that is not a usable record, or corrupt/truncated compressed input.
    case dataError = 65
    /// An input file cannot be opened.
    case noInput = 66
    /// The model server cannot be reached or has no usable model.
    case unavailable = 69
    /// An output file cannot be created.
    case cannotCreate = 73
    /// Reading or writing failed.
    case ioError = 74
    /// Stopped by SIGINT (128 + 2) or SIGTERM (128 + 15).
    case interruptedByINT = 130
    case interruptedByTERM = 143

    public static func interrupted(_ signal: Int32) -> ExitStatus {
        signal == SIGTERM ? .interruptedByTERM : .interruptedByINT
    }
}

/// An error that says how a tool ends on it: the one line printed (nil: end
/// quietly) and the exit status. Every library declares its own errors this
/// way, so the command-line glue needs to know none of them.
public protocol ToolFailure: Error {
    var exitMessage: String? { get }
    var exitStatus: ExitStatus { get }
}

/// An error that ends a tool with a message and an exit code.
public struct ToolError: ToolFailure, CustomStringConvertible {
    public var message: String
    public var status: ExitStatus
    public init(_ message: String, status: ExitStatus) {
        self.message = message
        self.status = status
    }
    public var description: String { message }
    public var exitMessage: String? { message }
    public var exitStatus: ExitStatus { status }

    public static func usage(_ message: String) -> ToolError { ToolError(message, status: .usage) }
}
