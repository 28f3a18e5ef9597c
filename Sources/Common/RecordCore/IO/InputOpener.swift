import CZstd
import Foundation

/// Opens an input for reading records: a file or stdin, decompressed when it
/// starts with zstd's magic bytes, read ahead on its own thread.
public enum InputOpener {
    static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Opens a path ("-" is stdin) and decompresses it when it starts with
    /// zstd's magic bytes, whatever its name.
    public static func open(_ path: String) throws -> ChunkSource {
        try openWithFile(path).0
    }

    /// The chunks, the file under them (for progress), and whether it is compressed.
    public static func openWithFile(_ path: String) throws -> (ChunkSource, FileByteSource, compressed: Bool) {
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
        // A zstd frame, or a skippable frame (magic 0x184D2A5?, as pzstd writes first).
        let skippable = probe.count == 4 && probe[0] & 0xF0 == 0x50 && probe[1...] == [0x2A, 0x4D, 0x18]
        if probe == zstdMagic || skippable {
            return (ThreadedChunkSource(source: ZstdByteSource(input: prefixed, name: file.name)), file, true)
        }
        return (ThreadedChunkSource(source: prefixed), file, false)
    }
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
