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

    /// `path` relative to `root` (else the current folder); URLs are not fetched.
    public static func make(path: String, root: String?) -> Result {
        let lower = path.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return .unavailable("a URL: not fetched") }
        var bytes: Data
        if lower.hasPrefix("data:") {
            guard let comma = path.firstIndex(of: ","), path[..<comma].hasSuffix(";base64"),
                let d = Data(base64Encoded: String(path[path.index(after: comma)...]))
            else { return .unavailable("a data: URL that is not base64") }
            bytes = d
        } else {
            let full = path.hasPrefix("/") || root == nil ? path : (root! as NSString).appendingPathComponent(path)
            guard let d = FileManager.default.contents(atPath: full) else { return .unavailable("cannot read \(full)") }
            bytes = d
        }
        guard bytes.count <= 64 << 20 else { return .unavailable("larger than 64 MB") }
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
