import Foundation
import Synchronization

/// A file descriptor read with read(2).
public final class FileByteSource: ByteSource {
    let fd: Int32
    let name: String
    let ownsFD: Bool
    /// Bytes read so far and the file's size (nil for pipes): progress and ETA.
    /// Counted on the reading thread, read by the progress line on the main one.
    private let readCount = Atomic<Int>(0)
    public var bytesRead: Int { readCount.load(ordering: .relaxed) }
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
        var fd: Int32
        repeat {
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR && SignalWatch.received == 0
        if fd < 0 && errno == EINTR { throw Interrupted(signal: SignalWatch.received) }
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
                readCount.add(n, ordering: .relaxed)
                return n
            }
            if errno == EINTR { continue }
            throw InputError(source: name, message: "read failed: \(String(cString: strerror(errno)))")
        }
    }

    public func close() { if ownsFD { Glibc.close(fd) } }

    public var mayStall: Bool { size == nil }
}
