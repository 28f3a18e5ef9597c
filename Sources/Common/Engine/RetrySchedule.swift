import Foundation

/// When failed requests go out again: exponential backoff with full jitter (a
/// random wait up to base × 2^(attempt-1), capped), never sooner than the
/// server's `Retry-After`. Holds the waiting items in due order.
struct RetrySchedule<Item> {
    let base: Double
    let cap: Double
    private(set) var waiting: [(due: Date, item: Item)] = []
    private var rng = SystemRandomNumberGenerator()

    init(base: Double, cap: Double) {
        self.base = base
        self.cap = cap
    }

    var count: Int { waiting.count }
    var nextDue: Date? { waiting.first?.due }

    /// The wait before attempt `attempts + 1`.
    mutating func delay(afterAttempt attempts: Int, retryAfter: Double?) -> Double {
        let ceiling = min(cap, base * pow(2, Double(attempts - 1)))
        var delay = Double.random(in: 0...ceiling, using: &rng)
        if let retryAfter { delay = max(delay, retryAfter) }
        return delay
    }

    mutating func add(_ item: Item, after delay: Double, now: Date = Date()) {
        let due = now.addingTimeInterval(delay)
        let i = waiting.firstIndex { $0.due > due } ?? waiting.count
        waiting.insert((due, item), at: i)
    }

    /// The items whose time has come, in due order.
    mutating func takeDue(now: Date = Date()) -> [Item] {
        var out: [Item] = []
        while let first = waiting.first, first.due <= now {
            waiting.removeFirst()
            out.append(first.item)
        }
        return out
    }
}
