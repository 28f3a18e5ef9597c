import CZstd
import Foundation

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
