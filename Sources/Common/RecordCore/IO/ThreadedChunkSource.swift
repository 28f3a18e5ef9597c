import Foundation

/// Reads a source on its own thread into a small pool of chunks, so that
/// reading or decompressing runs on one core while records are parsed on the
/// other, and the parser reads the chunks in place, without copying.
final class ThreadedChunkSource: ChunkSource {
    let source: ByteSource
    let chunkSize: Int
    let condition = NSCondition()
    var filled: [(UnsafeMutablePointer<UInt8>, Int)] = []
    var free: [UnsafeMutablePointer<UInt8>] = []
    var failure: Error?
    var finished = false
    var stopping = false
    var lent: UnsafeMutablePointer<UInt8>?

    init(source: ByteSource, chunkSize: Int = 1 << 20, chunks: Int = 4) {
        self.source = source
        self.chunkSize = chunkSize
        for _ in 0..<chunks { free.append(.allocate(capacity: chunkSize)) }
        // The thread keeps self alive until it ends; deinit then frees the chunks.
        let t = Thread { self.produce() }
        t.stackSize = 1 << 20
        t.start()
    }

    deinit {
        for b in free { b.deallocate() }
        for b in filled { b.0.deallocate() }
        lent?.deallocate()
    }

    func produce() {
        while true {
            condition.lock()
            while free.isEmpty && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                break
            }
            let buf = free.removeLast()
            condition.unlock()
            var n = 0
            var err: Error?
            var atEnd = false
            do {
                // Fill the chunk while data keeps coming (fewer handovers), but hand over
                // after a short read: a pipe that trickles records must not wait for 1 MB.
                while n < chunkSize {
                    let want = chunkSize - n
                    let got = try source.read(into: buf + n, capacity: want)
                    if got == 0 {
                        atEnd = true
                        break
                    }
                    n += got
                    if got < want && source.mayStall { break }
                }
            } catch { err = error }
            let last = err != nil || atEnd
            condition.lock()
            if n > 0 { filled.append((buf, n)) } else { free.append(buf) }
            if let err { failure = err }
            if last { finished = true }
            condition.broadcast()
            condition.unlock()
            if last { break }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func pollChunk(wait: Double) throws -> Polled<UnsafeBufferPointer<UInt8>> {
        condition.lock()
        defer { condition.unlock() }
        if let b = lent {
            free.append(b)
            lent = nil
            condition.broadcast()
        }
        let deadline = Date().addingTimeInterval(wait)
        while filled.isEmpty && !finished {
            if wait <= 0 || !condition.wait(until: deadline) { if filled.isEmpty && !finished { return .notReady } }
        }
        if filled.isEmpty {
            if let f = failure { throw f }
            return .end
        }
        let (buf, n) = filled.removeFirst()
        lent = buf
        return .ready(UnsafeBufferPointer(start: buf, count: n))
    }

    func close() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        source.close()
    }
}
