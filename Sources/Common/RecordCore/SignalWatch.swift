import Foundation

/// The first SIGINT/SIGTERM received (0: none). Written only by the handler.
nonisolated(unsafe) private var receivedSignal: Int32 = 0

/// SIGINT and SIGTERM become a flag that every tool's loop checks, so a stop
/// finishes the record being written, flushes what is complete (ending a zstd
/// frame) and exits 130 or 143. The handler is installed without SA_RESTART,
/// so a read or write blocked on a pipe returns and the loop sees the flag.
/// A second signal ends the process at once.
public enum SignalWatch {
    public static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { sig in
            if receivedSignal != 0 { _exit(128 + sig) }
            receivedSignal = sig
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
    }

    /// The signal received, or 0.
    public static var received: Int32 { receivedSignal }

    /// Throws `Interrupted` once a signal has arrived.
    public static func check() throws {
        if receivedSignal != 0 { throw Interrupted(signal: receivedSignal) }
    }
}

/// A run stopped by SIGINT or SIGTERM. The tool adds what it kept.
public struct Interrupted: ToolFailure, CustomStringConvertible {
    public var signal: Int32
    public var detail = ""
    public init(signal: Int32, detail: String = "") {
        self.signal = signal
        self.detail = detail
    }
    public var signalName: String { signal == SIGTERM ? "SIGTERM" : "SIGINT" }
    public var description: String { "interrupted by \(signalName)" + (detail.isEmpty ? "" : ": " + detail) }
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { .interrupted(signal) }
}
