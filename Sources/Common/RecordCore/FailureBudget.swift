import Foundation

/// How many records a model step may fail and still end with status 0
/// (`--max-failures N` or `--max-failures P%` of the records read). One
/// record that fails for good (a 400 on an oversize image) must not stop a
/// million-record pipeline; more than the budget still fails the step.
public struct FailureBudget: Equatable, CustomStringConvertible {
    public enum Limit: Equatable {
        case count(Int)
        case percent(Double)
    }
    public let limit: Limit

    public static let none = FailureBudget(limit: .count(0))

    public init(limit: Limit) { self.limit = limit }

    /// `10` or `1%` / `0.5%`.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let p = Double(t.dropLast()), p.isFinite, p >= 0, p <= 100 else {
                throw ToolError.usage("--max-failures \(text): give a percentage from 0% to 100%, e.g. 1%")
            }
            limit = .percent(p)
        } else {
            guard let n = Int(t), n >= 0 else {
                throw ToolError.usage("--max-failures \(text): give a count (e.g. 10) or a percentage (e.g. 1%)")
            }
            limit = .count(n)
        }
    }

    /// Whether `failed` of `total` records read stays within the budget, in exact
    /// decimals: 2.3% of 100,000 allows 2,300, not the 2,299 a double would.
    public func allows(failed: Int, of total: Int) -> Bool {
        switch limit {
        case .count(let n): return failed <= n
        case .percent(let p):
            let exact = Decimal(string: String(p)) ?? Decimal(p)
            return Decimal(failed) * 100 <= Decimal(total) * exact
        }
    }

    public var description: String {
        switch limit {
        case .count(let n): return String(n)
        case .percent(let p): return (p == p.rounded() ? String(Int(p)) : String(p)) + "%"
        }
    }

    /// The error that ends a step whose failures are over budget (`message`
    /// says what failed and where they are); nil when within it.
    public func verdict(failed: Int, of total: Int, message: String) -> ToolError? {
        guard failed > 0 else { return nil }
        if limit != .count(0) && allows(failed: failed, of: total) {
            FileHandle.standardError.write(Data("note: \(message) (within --max-failures \(self))\n".utf8))
            return nil
        }
        let over = limit == .count(0) ? "" : " (more than --max-failures \(self) of \(total))"
        return ToolError(message + over, status: .recordsFailed)
    }
}
