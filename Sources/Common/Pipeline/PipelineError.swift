import Foundation
import RecordCore

/// A problem with a pipeline file, said as `file:line:column: what to do`.
public struct PipelineError: ToolFailure, CustomStringConvertible {
    public let file: String
    public let mark: SourceMark?
    public let message: String
    public let status: ExitStatus

    /// Content errors (an unknown option, a missing key) exit 64; a file that
    /// is not valid YAML or UTF-8 passes `.dataError` (65).
    public init(_ file: String, _ mark: SourceMark?, _ message: String, status: ExitStatus = .usage) {
        self.file = file
        self.mark = mark
        self.message = message
        self.status = status
    }

    public var description: String { mark.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { status }
}

/// The closest of `candidates` to `word`, when it is close enough to be a typo.
func closest(_ word: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return row[b.count]
    }
    let w = Array(word.lowercased())
    let best = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, w.count / 3) else { return nil }
    return best.0
}

/// " (did you mean 'x'?)" or nothing.
func didYouMean(_ word: String, among candidates: [String]) -> String {
    closest(word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
}
