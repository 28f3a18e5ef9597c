import Foundation

/// Splits a byte source into lines without copying them: each line is a view
/// into the reader's buffer, valid until the next call. The buffer grows for
/// a line longer than itself (a 256 MB line works) and is reused otherwise,
/// so memory stays flat whatever the input size.
public final class LineReader {
    let source: ByteSource
    var buffer: UnsafeMutablePointer<UInt8>
    var capacity: Int
    var start = 0      // first byte of the next line
    var scan = 0       // bytes before this hold no newline of the next line
    var end = 0        // end of valid bytes
    var eof = false
    public private(set) var lineNumber = 0

    public init(source: ByteSource, initialCapacity: Int = 1 << 20) {
        self.source = source
        self.capacity = initialCapacity
        self.buffer = .allocate(capacity: initialCapacity)
    }

    deinit { buffer.deallocate() }

    /// The next line without its newline (and without a trailing CR), or nil at the end.
    public func next() throws -> UnsafeBufferPointer<UInt8>? {
        while true {
            if scan < end, let nl = memchr(buffer + scan, 0x0A, end - scan) {
                let idx = buffer.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                var lineEnd = idx
                if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeBufferPointer(start: buffer + start, count: lineEnd - start)
                start = idx + 1
                scan = start
                lineNumber += 1
                return line
            }
            scan = end
            if eof {
                guard start < end else { return nil }
                var lineEnd = end
                if buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeBufferPointer(start: buffer + start, count: lineEnd - start)
                start = end
                scan = end
                lineNumber += 1
                return line
            }
            try fill()
        }
    }

    func fill() throws {
        if start > 0 && (end == capacity || start >= capacity / 2) {
            // Move the partial line to the front.
            let n = end - start
            if n > 0 { memmove(buffer, buffer + start, n) }
            scan -= start
            end = n
            start = 0
        }
        if end == capacity {
            let newCapacity = capacity * 2
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity = newCapacity
        }
        let n = try source.read(into: buffer + end, capacity: capacity - end)
        if n == 0 { eof = true } else { end += n }
    }

    public func close() { source.close() }
}
