import CZstd
import Foundation

/// Writing an output failed. `closed` is a reader that went away (`| head`),
/// which ends a tool quietly rather than as an error.
public struct OutputError: ToolFailure, CustomStringConvertible {
    public var destination: String
    public var message: String
    public var closed: Bool
    public var description: String { "\(destination): \(message)" }
}

/// A buffered output file or stdout, optionally zstd-compressed.
///
/// A regular file is written under `NAME.partial` beside its final name and
/// renamed into place by `publish()`, so a file being read (a failures file
/// fed back in) is never truncated under its reader, and a run that stops
/// early leaves no truncated file under the final name. Outputs that are not
/// regular files (stdout, /dev/null, FIFOs, terminals) are written directly.
public final class OutputSink {
    public let name: String
    /// Where the bytes go until `publish()` renames them to `name` (nil: written directly).
    public let stagingPath: String?
    let fd: Int32
    let ownsFD: Bool
    var buffer: UnsafeMutablePointer<UInt8>
    let capacity = 1 << 18
    var count = 0
    var cctx: OpaquePointer?
    var zbuffer: UnsafeMutablePointer<UInt8>?
    var zcapacity = 0
    var closed = false
    var published = false
    public private(set) var linesWritten = 0

    init(fd: Int32, name: String, ownsFD: Bool, zstdLevel: Int32?, stagingPath: String? = nil) {
        self.fd = fd
        self.name = name
        self.stagingPath = stagingPath
        self.ownsFD = ownsFD
        self.buffer = .allocate(capacity: capacity)
        if let level = zstdLevel {
            let c = ZSTD_createCCtx()!
            ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)
            ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
            cctx = c
            zcapacity = Int(ZSTD_CStreamOutSize())
            zbuffer = .allocate(capacity: zcapacity)
        }
    }

    deinit {
        buffer.deallocate()
        zbuffer?.deallocate()
        if let c = cctx { ZSTD_freeCCtx(c) }
    }

    /// Opens `path` ("-" or nil is stdout). Output is zstd when `zstd` is set
    /// or the name ends in `.zst`.
    public static func open(_ path: String?, zstd: Bool = false, level: Int = 3) throws -> OutputSink {
        let compress = zstd || (path?.hasSuffix(".zst") ?? false)
        let lvl: Int32? = compress ? Int32(level) : nil
        guard let path, path != "-" else { return OutputSink(fd: 1, name: "<stdout>", ownsFD: false, zstdLevel: lvl) }
        guard !path.isEmpty else {
            throw OutputError(destination: "''", message: "cannot create a file with an empty name", closed: false)
        }
        // lstat: a symbolic link (/dev/stdout, a user's link to elsewhere) is written through,
        // never replaced; only a plain file, or a new name, is staged and renamed.
        var st = stat()
        let exists = lstat(path, &st) == 0
        let kind = st.st_mode & S_IFMT
        if exists && kind == S_IFDIR {
            throw OutputError(destination: path, message: "cannot create: it is a folder", closed: false)
        }
        let staged = !exists || kind == S_IFREG
        let target = staged ? path + ".partial" : path
        var fd: Int32
        repeat {
            fd = Glibc.open(
                target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, staged && exists ? st.st_mode & 0o7777 : 0o644)
        } while fd < 0 && errno == EINTR && SignalWatch.received == 0
        if fd < 0 {
            if errno == EINTR { throw Interrupted(signal: SignalWatch.received) }
            throw OutputError(
                destination: path, message: "cannot create: \(String(cString: strerror(errno)))", closed: false)
        }
        // A file being replaced keeps its permissions (a private file stays private).
        if staged && exists { fchmod(fd, st.st_mode & 0o7777) }
        return OutputSink(fd: fd, name: path, ownsFD: true, zstdLevel: lvl, stagingPath: staged ? target : nil)
    }

    /// Closes the output and moves it to its final name (a no-op for outputs written directly).
    public func publish() throws {
        try close()
        guard let stagingPath, !published else { return }
        published = true
        if rename(stagingPath, name) != 0 {
            throw OutputError(
                destination: name,
                message: "cannot rename \(stagingPath) into place: \(String(cString: strerror(errno)))",
                closed: false)
        }
    }

    @inline(__always) public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        if bytes.count > capacity - count {
            try flushBuffer()
            if bytes.count > capacity {
                try emit(bytes.baseAddress!, bytes.count)
                return
            }
        }
        (buffer + count).update(from: bytes.baseAddress!, count: bytes.count)
        count += bytes.count
    }

    /// Writes one record line followed by a newline.
    @inline(__always) public func writeLine(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        if bytes.count > 0 { try write(bytes) }
        if count == capacity { try flushBuffer() }
        buffer[count] = 0x0A
        count += 1
        linesWritten += 1
    }

    public func writeLine(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try writeLine($0) }
    }

    public func writeLine(_ value: JSONValue) throws {
        var out: [UInt8] = []
        JSONWriter.write(value, into: &out)
        try writeLine(out)
    }

    /// Hands what is buffered to the file or pipe now (a zstd stream is flushed to
    /// a block boundary, so a reader can decompress what has come so far).
    public func flush() throws {
        try flushBuffer()
        try drainCompressor(ZSTD_e_flush)
    }

    /// Pushes zstd's buffered output out: to a block boundary (flush) or the end of the frame.
    func drainCompressor(_ mode: ZSTD_EndDirective) throws {
        guard cctx != nil else { return }
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try compressStep(&input, mode) != 0 {}
    }

    /// One pass of zstd over `input`, its output written; returns how much zstd still holds back.
    func compressStep(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        var output = ZSTD_outBuffer(dst: zbuffer, size: zcapacity, pos: 0)
        let r = ZSTD_compressStream2(cctx, &output, &input, mode)
        if ZSTD_isError(r) != 0 {
            throw OutputError(
                destination: name, message: "zstd: \(String(cString: ZSTD_getErrorName(r)))", closed: false)
        }
        try writeAll(zbuffer!, output.pos)
        return r
    }

    func flushBuffer() throws {
        guard count > 0 else { return }
        let n = count
        count = 0
        try emit(buffer, n)
    }

    /// Hands bytes to the compressor or straight to the file.
    func emit(_ p: UnsafePointer<UInt8>, _ n: Int) throws {
        guard cctx != nil else { return try writeAll(p, n) }
        var input = ZSTD_inBuffer(src: p, size: n, pos: 0)
        while input.pos < input.size { _ = try compressStep(&input, ZSTD_e_continue) }
    }

    func writeAll(_ p: UnsafePointer<UInt8>, _ n: Int) throws {
        var done = 0
        while done < n {
            let w = Glibc.write(fd, p + done, n - done)
            if w < 0 {
                if errno == EINTR { continue }
                let e = errno
                throw OutputError(
                    destination: name, message: "write failed: \(String(cString: strerror(e)))", closed: e == EPIPE)
            }
            done += w
        }
    }

    /// Writes what is buffered (and ends the zstd frame, so the file is
    /// complete). Safe to call more than once.
    public func close() throws {
        guard !closed else { return }
        closed = true
        try flushBuffer()
        try drainCompressor(ZSTD_e_end)
        if ownsFD, Glibc.close(fd) != 0 {
            throw OutputError(
                destination: name, message: "close failed: \(String(cString: strerror(errno)))", closed: false)
        }
    }
}

extension OutputError {
    /// A closed reader (`| head`) ends the tool quietly.
    public var exitMessage: String? { closed ? nil : description }
    public var exitStatus: ExitStatus {
        if closed { return .ok }
        return message.hasPrefix("cannot create") ? .cannotCreate : .ioError
    }
}
