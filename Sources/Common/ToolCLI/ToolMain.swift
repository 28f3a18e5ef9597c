import ArgumentParser
import Foundation
import RecordCore

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
        // A reader that went away because the whole pipe was interrupted: the signal decides.
        if let e = error as? OutputError, e.closed, SignalWatch.received != 0 {
            return describe(Interrupted(signal: SignalWatch.received))
        }
        if let e = error as? ToolFailure { return (e.exitMessage, e.exitStatus) }
        return ("\(error)", .recordsFailed)
    }
}
