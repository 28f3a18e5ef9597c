import CZstd
import Foundation

/// Something that fills a buffer with bytes; 0 means the end.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int
    func close()
    /// True when a read can wait on a writer (a pipe or terminal): what was read is
    /// then handed on at once instead of waiting to fill a whole chunk.
    var mayStall: Bool { get }
}

/// Reading or decompressing an input failed.
public struct InputError: ToolFailure, CustomStringConvertible {
    public var source: String
    public var message: String
    public var status: ExitStatus
    public init(source: String, message: String, status: ExitStatus = .ioError) {
        self.source = source
        self.message = message
        self.status = status
    }
    public var description: String { "\(source): \(message)" }
}

/// A file descriptor read with read(2).
public final class FileByteSource: ByteSource {
    let fd: Int32
    let name: String
    let ownsFD: Bool
    /// Bytes read so far and the file's size (nil for pipes): progress and ETA.
    public private(set) var bytesRead = 0
    public let size: Int?

    public init(fd: Int32, name: String, ownsFD: Bool) {
        self.fd = fd
        self.name = name
        self.ownsFD = ownsFD
        var st = stat()
        size = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : nil
    }

    /// Opens a path, or stdin for "-".
    public static func open(_ path: String) throws -> FileByteSource {
        if path == "-" { return FileByteSource(fd: 0, name: "<stdin>", ownsFD: false) }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw InputError(
                source: path, message: "cannot open: \(String(cString: strerror(errno)))", status: .noInput)
        }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            Glibc.close(fd)
            throw InputError(source: path, message: "is a directory; name a JSONL file", status: .noInput)
        }
        return FileByteSource(fd: fd, name: path, ownsFD: true)
    }

    public func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer, capacity)
            if n >= 0 {
                bytesRead += n
                return n
            }
            if errno == EINTR { continue }
            throw InputError(source: name, message: "read failed: \(String(cString: strerror(errno)))")
        }
    }

    public func close() { if ownsFD { Glibc.close(fd) } }

    public var mayStall: Bool { size == nil }
}

/// Bytes already read (the magic-number probe) followed by the rest of a source.
final class PrefixedByteSource: ByteSource {
    var prefix: [UInt8]
    let rest: ByteSource

    init(prefix: [UInt8], rest: ByteSource) {
        self.prefix = prefix
        self.rest = rest
    }

    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        if !prefix.isEmpty {
            let n = min(capacity, prefix.count)
            prefix.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress!, count: n) }
            prefix.removeFirst(n)
            return n
        }
        return try rest.read(into: buffer, capacity: capacity)
    }

    func close() { rest.close() }
    var mayStall: Bool { rest.mayStall }
}

/// Streams the decompressed bytes of one or more concatenated zstd frames.
final class ZstdByteSource: ByteSource {
    let input: ByteSource
    let name: String
    let dctx: OpaquePointer
    let inCapacity = Int(ZSTD_DStreamInSize())
    let inBuffer: UnsafeMutablePointer<UInt8>
    var inPos = 0, inEnd = 0
    var inputDone = false
    /// ZSTD_decompressStream's last hint: 0 when a frame just ended.
    var frameOpen = false
    var compressedRead = 0

    init(input: ByteSource, name: String) {
        self.input = input
        self.name = name
        self.dctx = ZSTD_createDCtx()
        self.inBuffer = .allocate(capacity: inCapacity)
    }

    deinit {
        ZSTD_freeDCtx(dctx)
        inBuffer.deallocate()
    }

    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        while true {
            if inPos == inEnd && !inputDone {
                inEnd = try input.read(into: inBuffer, capacity: inCapacity)
                inPos = 0
                compressedRead += inEnd
                if inEnd == 0 { inputDone = true }
            }
            if inPos == inEnd && inputDone {
                if frameOpen {
                    throw InputError(
                        source: name,
                        message:
                            "truncated zstd stream: the file ends inside a frame after \(compressedRead) compressed bytes; the file is incomplete (re-create it, or decompress what is there with `zstd -d`)",
                        status: .dataError)
                }
                return 0
            }
            var inb = ZSTD_inBuffer(src: inBuffer, size: inEnd, pos: inPos)
            var outb = ZSTD_outBuffer(dst: buffer, size: capacity, pos: 0)
            let hint = ZSTD_decompressStream(dctx, &outb, &inb)
            if ZSTD_isError(hint) != 0 {
                throw InputError(
                    source: name, message: "corrupt zstd data: \(String(cString: ZSTD_getErrorName(hint)))",
                    status: .dataError)
            }
            inPos = inb.pos
            frameOpen = hint != 0
            if outb.pos > 0 { return outb.pos }
        }
    }

    func close() { input.close() }
    var mayStall: Bool { input.mayStall }
}

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

extension ChunkSource {
    public func nextChunk() throws -> UnsafeBufferPointer<UInt8>? { try Polled.wait { try pollChunk(wait: 3600) } }
}

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

public enum InputOpener {
    static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Opens a path ("-" is stdin) and decompresses it when it starts with
    /// zstd's magic bytes, whatever its name.
    public static func open(_ path: String) throws -> ChunkSource {
        try openWithFile(path).0
    }

    /// The chunks, and the file under them (for progress).
    public static func openWithFile(_ path: String) throws -> (ChunkSource, FileByteSource) {
        let file = try FileByteSource.open(path)
        var probe = [UInt8](repeating: 0, count: 4)
        var got = 0
        while got < 4 {
            let n = try probe.withUnsafeMutableBufferPointer {
                try file.read(into: $0.baseAddress! + got, capacity: 4 - got)
            }
            if n == 0 { break }
            got += n
        }
        probe.removeLast(4 - got)
        let prefixed = PrefixedByteSource(prefix: probe, rest: file)
        if probe == zstdMagic {
            return (ThreadedChunkSource(source: ZstdByteSource(input: prefixed, name: file.name)), file)
        }
        return (ThreadedChunkSource(source: prefixed), file)
    }
}

extension InputError {
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { status }
}
