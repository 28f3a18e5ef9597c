import Foundation

/// Hands out filled chunks of bytes; a chunk stays valid until the next call.
public protocol ChunkSource: AnyObject {
    func nextChunk() throws -> UnsafeBufferPointer<UInt8>?
    /// Like nextChunk, but says `.notReady` instead of waiting (up to `wait` seconds).
    func pollChunk(wait: Double) throws -> Polled<UnsafeBufferPointer<UInt8>>
    func close()
}

/// What a look at a stream that may not be ready finds (chunks, lines, records).
public enum Polled<Value> {
    case ready(Value)
    case end
    /// Nothing complete yet: the writer on the other end of a pipe is still at work.
    case notReady

    /// Polls until something is ready (nil at the end): the blocking form of a poll.
    public static func wait(_ poll: () throws -> Polled<Value>) rethrows -> Value? {
        while true {
            switch try poll() {
            case .ready(let v): return v
            case .end: return nil
            case .notReady: continue
            }
        }
    }
}

/// A chunk source whose first chunk was already looked at (to tell a JSON
/// array from JSONL): it hands that chunk out first, then reads on.
final class PeekedChunkSource: ChunkSource {
    let source: ChunkSource
    var first: UnsafeBufferPointer<UInt8>?
    var firstSeen = false

    init(_ source: ChunkSource) { self.source = source }

    /// The first chunk (waiting up to `wait`), without consuming it; nil at the end.
    func peek(wait: Double) throws -> Polled<UnsafeBufferPointer<UInt8>?> {
        if firstSeen { return .ready(first) }
        switch try source.pollChunk(wait: wait) {
        case .notReady: return .notReady
        case .end:
            firstSeen = true
            return .ready(nil)
        case .ready(let c):
            firstSeen = true
            first = c
            return .ready(c)
        }
    }

    /// Forgets the peeked chunk (it held only white space), so `peek` reads the next one.
    func dropPeeked() {
        first = nil
        firstSeen = false
    }

    func pollChunk(wait: Double) throws -> Polled<UnsafeBufferPointer<UInt8>> {
        if let f = first {
            first = nil
            return .ready(f)
        }
        return try source.pollChunk(wait: wait)
    }

    func close() { source.close() }
}

extension ChunkSource {
    public func nextChunk() throws -> UnsafeBufferPointer<UInt8>? { try Polled.wait { try pollChunk(wait: 3600) } }
}
