import Engine
import ExtrasBase64
import Foundation
import Prompts
import RecordCore

/// One image or video of a record, ready to send.
public struct MediaItem {
    public enum Kind: String { case image, video }
    public var kind: Kind
    /// As the record wrote it: what history keeps (never the bytes).
    public var reference: String
    /// An http(s) or data: URL as the record gave it; nil for a local file.
    public var url: String?
    /// A local file: its type and its bytes in base64, written straight into request bodies.
    public var mime: String?
    public var base64: [UInt8]?
    /// What the cache key holds instead of the bytes: `sha256:<hex>` of the content, or the URL.
    public var keyReference: String

    /// The data URL of a local file, or the URL as given (for the rare paths that need a string).
    public var urlString: String {
        url ?? "data:\(mime ?? "application/octet-stream");base64," + String(decoding: base64 ?? [], as: UTF8.self)
    }

    /// Base64 text alone (llama.cpp's `multimodal_data`), when there is some.
    public var base64String: String? {
        if let base64 { return String(decoding: base64, as: UTF8.self) }
        guard let url, url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
        return String(url[url.index(after: comma)...])
    }
}

/// What identifies a file's content without reading it: a file rewritten in place
/// gets a new status-change time even when its size and modification time are set back.
struct FileStamp: Hashable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64
    let changed: Int64

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        changed = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
    }
}

/// Reads the media a record names: local files (resolved against
/// `--media-root`), checked by their structure and sent as base64 data URLs;
/// `http(s)://` and `data:` URLs pass through. Each distinct file is hashed once
/// per run: its digest is remembered by the file's identity (device, inode,
/// size, modification and status-change times), a few dozen bytes a file, so
/// memory stays flat over millions of images. A file rewritten within one
/// timestamp tick, to the same size, could keep its old digest: the residual risk.
public final class MediaLoader {
    let root: String?
    let maxBytes: Int
    let extraImageFields: [String]
    /// Each distinct file's SHA-256, 32 bytes beside its 40-byte stamp.
    var digests: [FileStamp: [UInt8]] = [:]
    /// `--media-root`, which relative paths resolve against and no path may leave.
    lazy var mediaRoot: MediaRoot? = root.map(MediaRoot.init)

    public init(root: String?, maxBytes: Int, extraImageFields: [String] = []) {
        self.root = root
        self.maxBytes = maxBytes
        self.extraImageFields = extraImageFields
    }

    /// The record's media in order: images first, then videos, as the fields list them.
    public func media(of record: JSONValue) throws -> [MediaItem] {
        guard let o = record.objectValue else { return [] }
        var out: [MediaItem] = []
        for (field, isVideo) in MediaFields.ordered(extraImageFields: extraImageFields) {
            guard let v = o[field] else { continue }
            let kind: MediaItem.Kind = isVideo ? .video : .image
            let refs: [JSONValue]
            var isList = false
            switch v {
            case .null: continue
            case .array(let a): (refs, isList) = (a, true)
            default: refs = [v]
            }
            for (i, r) in refs.enumerated() {
                // The field the message names: `images[1]` for a list's second entry.
                let place = isList ? "\(field)[\(i)]" : field
                guard case .string(let s) = r, !s.isEmpty else {
                    throw RecordError.field(
                        place,
                        "holds \(r.typeName == "string" ? "an empty string" : "a \(r.typeName)"); media fields hold paths or URLs"
                    )
                }
                let item: MediaItem
                do { item = try load(s, kind: kind) } catch RecordError.message(let m) {
                    throw RecordError.field(place, m)
                }
                // `image` and `images` naming the same picture send it once.
                if !out.contains(where: { $0.keyReference == item.keyReference }) { out.append(item) }
            }
        }
        return out
    }

    func load(_ ref: String, kind: MediaItem.Kind) throws -> MediaItem {
        if ref.hasPrefix("http://") || ref.hasPrefix("https://") || ref.hasPrefix("data:") {
            let key = ref.hasPrefix("data:") ? "sha256:" + SHA256.hex(Array(ref.utf8)) : ref
            return MediaItem(kind: kind, reference: ref, url: ref, mime: nil, base64: nil, keyReference: key)
        }
        let path = try resolve(ref, kind: kind)
        // O_NONBLOCK: a named pipe among the media must fail its record, not stall the run.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw RecordError.message(
                "\(kind.rawValue) \(path): cannot read it (\(String(cString: strerror(errno))))\(root == nil && !ref.hasPrefix("/") ? "; relative paths resolve against --media-root or the current folder" : "")"
            )
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw RecordError.message("\(kind.rawValue) \(path): not a file")
        }
        guard Int(st.st_size) <= maxBytes else {
            throw RecordError.message(
                "\(kind.rawValue) \(path): \(st.st_size) bytes is over --max-media-bytes \(maxBytes)")
        }
        let size = Int(st.st_size)
        let bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let n = read(fd, buffer.baseAddress! + count, size - count)
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    throw RecordError.message(
                        "\(kind.rawValue) \(path): cannot read it (\(String(cString: strerror(errno))))")
                }
                guard n > 0 else { break }
                count += n
            }
            guard count == size else {
                throw RecordError.message("\(kind.rawValue) \(path): changed size while being read")
            }
        }
        guard let mime = MediaLoader.sniff(bytes, kind: kind) else {
            throw RecordError.message(
                "\(kind.rawValue) \(path): not a supported \(kind.rawValue) (\(MediaLoader.describe(bytes))); \(kind == .image ? "JPEG, PNG, WebP, GIF and BMP" : "MP4/MOV, WebM/MKV and AVI") are"
            )
        }
        let stamp = FileStamp(st)
        let raw: [UInt8]
        if let known = digests[stamp] {
            raw = known
        } else {
            let h = SHA256()
            h.update(bytes)
            raw = h.finish()
            digests[stamp] = raw
        }
        let digest = "sha256:" + SHA256.hexString(raw)
        return MediaItem(
            kind: kind, reference: ref, url: nil, mime: mime, base64: Base64.encodeToBytes(bytes: bytes),
            keyReference: digest)
    }

    /// The file a reference names. With --media-root, a relative path resolves
    /// against it and every path, absolute or not, must lie inside it once symbolic
    /// links are resolved: datasets are often untrusted, and requests often go to
    /// remote APIs. Without it, any local path is read.
    func resolve(_ ref: String, kind: MediaItem.Kind) throws -> String {
        guard let mediaRoot else { return ref }
        return try mediaRoot.resolve(ref, what: "\(kind.rawValue) \(ref)")
    }

    /// The MIME type, when the bytes have the structure of a kind of media we send:
    /// more than a magic number (a text file that starts with "BM" is not a bitmap).
    public static func sniff(_ b: [UInt8], kind: MediaItem.Kind) -> String? {
        func at(_ i: Int, _ s: String) -> Bool {
            let u = Array(s.utf8)
            return b.count >= i + u.count && b[i..<(i + u.count)].elementsEqual(u)
        }
        func le32(_ i: Int) -> Int {
            b.count >= i + 4 ? Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 : -1
        }
        func be32(_ i: Int) -> Int {
            b.count >= i + 4 ? Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) : -1
        }
        func printable(_ r: Range<Int>) -> Bool {
            b.count >= r.upperBound && b[r].allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        }
        switch kind {
        case .image:
            // JPEG: start of image, then a marker segment (APPn, DQT, SOF, DHT, COM...).
            if b.count > 4 && b.starts(with: [0xFF, 0xD8, 0xFF]) && (0xC0...0xFE).contains(b[3]) {
                return "image/jpeg"
            }
            // PNG: the signature, then the IHDR chunk of 13 bytes.
            if b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && be32(8) == 13 && at(12, "IHDR") {
                return "image/png"
            }
            // WebP: a RIFF container whose size fits the file, with a VP8 chunk.
            if at(0, "RIFF") && at(8, "WEBP") && (at(12, "VP8 ") || at(12, "VP8L") || at(12, "VP8X"))
                && le32(4) + 8 <= b.count + 1 && le32(4) >= 12
            {
                return "image/webp"
            }
            // GIF: the header and a logical screen descriptor.
            if (at(0, "GIF87a") || at(0, "GIF89a")) && b.count >= 13 { return "image/gif" }
            // BMP: the size field, a known DIB header size, pixel data inside the file.
            if at(0, "BM") && b.count > 26 && [12, 40, 52, 56, 64, 108, 124].contains(le32(14))
                && le32(2) <= b.count && le32(10) >= 26 && le32(10) < b.count
            {
                return "image/bmp"
            }
        case .video:
            // MP4/MOV: a box size, "ftyp" and a four-letter brand.
            if at(4, "ftyp") && be32(0) >= 8 && printable(8..<12) {
                return at(8, "qt") ? "video/quicktime" : "video/mp4"
            }
            // WebM/Matroska: the EBML header.
            if b.count > 8 && b.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "video/webm" }
            // AVI: a RIFF container of type "AVI " with its header list.
            if at(0, "RIFF") && at(8, "AVI ") && at(12, "LIST") { return "video/x-msvideo" }
        }
        return nil
    }

    /// What a file seems to be, for error messages; never its bytes.
    static func describe(_ b: [UInt8]) -> String {
        if b.isEmpty { return "the file is empty" }
        if b.starts(with: [0x25, 0x50, 0x44, 0x46]) { return "it looks like a PDF" }
        if b.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "it looks like a ZIP archive" }
        if String(validating: b.prefix(4096), as: UTF8.self) != nil
            || b.prefix(512).allSatisfy({ $0 >= 9 && $0 != 0x7F })
        {
            return "it looks like text"
        }
        return "its structure matches none of them"
    }
}
