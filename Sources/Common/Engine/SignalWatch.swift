import Foundation

/// Set by SIGINT/SIGTERM; the request loop looks at it between polls.
nonisolated(unsafe) private var receivedSignal: Int32 = 0

/// Turns SIGINT and SIGTERM into a flag the request loop checks, so a stop
/// finishes what is complete instead of dying mid-write.
enum SignalWatch {
    static func install() {
        signal(SIGINT) { receivedSignal = $0 }
        signal(SIGTERM) { receivedSignal = $0 }
    }

    /// The signal received, or 0.
    static var received: Int32 { receivedSignal }
}
