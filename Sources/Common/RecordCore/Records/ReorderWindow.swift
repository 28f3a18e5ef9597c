/// Holds finished results until every earlier one is finished, so output
/// keeps input order. The engine stops admitting input while the window is
/// full: one slow request delays the output but never grows memory without bound.
public final class ReorderWindow {
    public let capacity: Int
    var pending: [Int: [[UInt8]]] = [:]
    public private(set) var nextToWrite = 0
    public private(set) var admitted = 0

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// A sequence number for the next input record, or nil while the window is full.
    public func admit() -> Int? {
        guard admitted - nextToWrite < capacity else { return nil }
        defer { admitted += 1 }
        return admitted
    }

    public var isFull: Bool { admitted - nextToWrite >= capacity }
    public var isEmpty: Bool { admitted == nextToWrite }

    /// Records the output lines of `seq` (none when it failed or was dropped).
    public func complete(_ seq: Int, _ lines: [[UInt8]]) { pending[seq] = lines }

    /// Every output that can now be written, in order.
    public func drain(_ write: ([UInt8]) throws -> Void) rethrows {
        while let lines = pending.removeValue(forKey: nextToWrite) {
            for l in lines { try write(l) }
            nextToWrite += 1
        }
    }
}
