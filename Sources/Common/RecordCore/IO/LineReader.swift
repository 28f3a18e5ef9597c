import Foundation

/// Splits chunks of bytes into lines without copying them: a line is a view
/// into the current chunk, valid until the next call. Only a line that spans
/// two chunks is copied, into a carry buffer that grows as needed (a 256 MB
/// line works); memory otherwise stays flat whatever the input size.
public final class LineReader {
    let source: ChunkSource
    var chunk = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var pos = 0
    var carry: UnsafeMutablePointer<UInt8>
    var carryCapacity: Int
    var carryCount = 0
    var eof = false
    /// The last poll returned notReady with part of a line in the carry buffer.
    var partial = false
    public private(set) var lineNumber = 0

    /// `linesBefore`: lines already read past (blank ones), so numbers match an editor's.
    public init(source: ChunkSource, linesBefore: Int = 0) {
        self.source = source
        self.lineNumber = linesBefore
        self.carryCapacity = 1 << 16
        self.carry = .allocate(capacity: carryCapacity)
    }

    deinit { carry.deallocate() }

    /// The next line without its newline (and without a trailing CR), or nil at the end.
    public func next() throws -> UnsafeBufferPointer<UInt8>? { try Polled.wait { try poll(wait: 3600) } }

    /// Like next, but waits at most `wait` seconds for more input.
    public func poll(wait: Double) throws -> Polled<UnsafeBufferPointer<UInt8>> {
        if !partial { carryCount = 0 }
        partial = false
        while true {
            if let base = chunk.baseAddress, pos < chunk.count {
                let rest = chunk.count - pos
                if let nl = memchr(base + pos, 0x0A, rest) {
                    let idx = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                    lineNumber += 1
                    if carryCount == 0 {
                        let line = UnsafeBufferPointer(start: base + pos, count: idx - pos)
                        pos = idx + 1
                        return .ready(LineReader.trimCR(line))
                    }
                    append(base + pos, idx - pos)
                    pos = idx + 1
                    return .ready(LineReader.trimCR(UnsafeBufferPointer(start: carry, count: carryCount)))
                }
                append(base + pos, rest)
                pos = chunk.count
            }
            if eof { return .end }
            switch try source.pollChunk(wait: wait) {
            case .notReady:
                partial = true  // keep the carried start of the line for the next call
                return .notReady
            case .end:
                eof = true
                chunk = UnsafeBufferPointer(start: nil, count: 0)
                pos = 0
                guard carryCount > 0 else { return .end }
                lineNumber += 1
                return .ready(LineReader.trimCR(UnsafeBufferPointer(start: carry, count: carryCount)))
            case .ready(let next):
                chunk = next
                pos = 0
            }
        }
    }

    func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
        if carryCount + n > carryCapacity {
            var cap = carryCapacity * 2
            while cap < carryCount + n { cap *= 2 }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
            bigger.update(from: carry, count: carryCount)
            carry.deallocate()
            carry = bigger
            carryCapacity = cap
        }
        (carry + carryCount).update(from: p, count: n)
        carryCount += n
    }

    @inline(__always) static func trimCR(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if let b = line.baseAddress, line.count > 0, b[line.count - 1] == 0x0D {
            return UnsafeBufferPointer(start: b, count: line.count - 1)
        }
        return line
    }

    public func close() { source.close() }
}
