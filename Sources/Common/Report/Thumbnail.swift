import CGD
import Foundation

/// A small PNG of an image, made with libgd (PNG, JPEG, GIF, WebP read by
/// their magic bytes), for the report's sample; or the reason there is none.
public enum Thumbnail {
    public enum Result {
        case png(Data)
        case unavailable(String)
    }

    public static let maxSide = 160
    public static let maxBytes = 64 << 20
    public static let maxPixels = 50_000_000

    /// The width and height an image's header declares (PNG, GIF, WebP, JPEG), read
    /// before libgd decodes it; nil when the header says nothing this reads.
    static func declaredSize(_ b: [UInt8]) -> (Int, Int)? {
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func le16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
        func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
        if b.count >= 24, b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return (be32(16), be32(20)) }
        if b.count >= 10, b.starts(with: [0x47, 0x49, 0x46]) { return (le16(6), le16(8)) }
        if b.count >= 30, b[0..<4] == [0x52, 0x49, 0x46, 0x46], b[12..<16] == [0x56, 0x50, 0x38, 0x58] {  // VP8X
            return (
                1 + (Int(b[24]) | Int(b[25]) << 8 | Int(b[26]) << 16),
                1 + (Int(b[27]) | Int(b[28]) << 8 | Int(b[29]) << 16)
            )
        }
        if b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 {
            var i = 2
            // Walk the JPEG markers to the frame header (SOFn), which holds the size.
            while i + 9 < b.count, b[i] == 0xFF {
                let marker = b[i + 1]
                if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                    return (be16(i + 7), be16(i + 5))
                }
                i += 2 + be16(i + 2)
            }
        }
        return nil
    }

    /// A file (relative to the current folder) or a data: URL; URLs are not fetched.
    /// The caller applies --media-root (MediaRoot) first.
    public static func make(path: String) -> Result {
        let lower = path.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return .unavailable("a URL: not fetched") }
        var bytes: Data
        if lower.hasPrefix("data:") {
            guard let comma = path.firstIndex(of: ","), path[..<comma].hasSuffix(";base64"),
                let d = Data(base64Encoded: String(path[path.index(after: comma)...]))
            else { return .unavailable("a data: URL that is not base64") }
            bytes = d
        } else {
            let full = path
            // A regular file of at most 64 MB, checked before reading (not a multi-GB video, not a pipe).
            var st = stat()
            guard stat(full, &st) == 0 else { return .unavailable("cannot read \(full)") }
            guard st.st_mode & S_IFMT == S_IFREG else { return .unavailable("not a regular file") }
            guard st.st_size <= maxBytes else { return .unavailable("larger than 64 MB") }
            guard let d = FileManager.default.contents(atPath: full) else { return .unavailable("cannot read \(full)") }
            bytes = d
        }
        guard bytes.count <= maxBytes else { return .unavailable("larger than 64 MB") }
        // Decoding allocates width x height pixels: a small file may declare a huge picture.
        if let (w, h) = declaredSize(Array(bytes.prefix(64 << 10))), w * h > maxPixels {
            return .unavailable("\(w)x\(h) pixels, more than \(maxPixels / 1_000_000) million")
        }
        return bytes.withUnsafeMutableBytes { raw -> Result in
            let n = Int32(raw.count)
            let p = raw.baseAddress
            let b = Array(raw.prefix(12))
            var image: gdImagePtr?
            if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
                image = gdImageCreateFromPngPtr(n, p)
            } else if b.starts(with: [0xFF, 0xD8]) {
                image = gdImageCreateFromJpegPtrEx(n, p, 1)
            } else if b.starts(with: [0x47, 0x49, 0x46]) {
                image = gdImageCreateFromGifPtr(n, p)
            } else if b.count == 12, b[0..<4] == [0x52, 0x49, 0x46, 0x46], b[8..<12] == [0x57, 0x45, 0x42, 0x50] {
                image = gdImageCreateFromWebpPtr(n, p)
            } else {
                return .unavailable("not a PNG, JPEG, GIF or WebP image")
            }
            guard let im = image else { return .unavailable("the image could not be decoded") }
            defer { gdImageDestroy(im) }
            let w = Int(im.pointee.sx)
            let h = Int(im.pointee.sy)
            guard w > 0, h > 0 else { return .unavailable("an empty image") }
            let scale = min(1, Double(maxSide) / Double(max(w, h)))
            let tw = max(1, Int((Double(w) * scale).rounded()))
            let th = max(1, Int((Double(h) * scale).rounded()))
            guard let small = gdImageScale(im, UInt32(tw), UInt32(th)) else { return .unavailable("scaling failed") }
            defer { gdImageDestroy(small) }
            var size: Int32 = 0
            guard let png = gdImagePngPtr(small, &size), size > 0 else { return .unavailable("encoding failed") }
            defer { gdFree(png) }
            return .png(Data(bytes: png, count: Int(size)))
        }
    }
}
