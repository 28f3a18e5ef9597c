import ArgumentParser
import Foundation
import RecordCore

/// Runs a tool's body, turning every error into one line on stderr and its
/// exit code: no stack trace, whatever the input.
public enum ToolMain {
    /// The whole life of a tool: parse its arguments, run it, and end with its
    /// exit status. Every error is one line, `TOOL: error: what is wrong`,
    /// argument errors included (exit 64); `--help` and `--version` print as usual.
    public static func main<Command: ParsableCommand>(_ command: Command.Type) -> Never {
        let name = Command.configuration.commandName ?? "mminf"
        do {
            var parsed = try Command.parseAsRoot()
            try parsed.run()
            exit(0)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch {
            if Command.exitCode(for: error) == .success { Command.exit(withError: error) }
            RecordTool.printError("\(name): error: \(oneLine(Command.message(for: error)))")
            exit(ExitStatus.usage.rawValue)
        }
    }

    /// The parser's message as one line, with a hint where its words mislead.
    static func oneLine(_ message: String) -> String {
        var m = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "; ")
        if m.hasPrefix("Error: ") { m.removeFirst("Error: ".count) }
        if m.hasPrefix("Missing value for") {
            m += " (a value that starts with '-', such as -1, is written with '=': --option=-1)"
        }
        return m
    }

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
