import Engine
import Foundation
import Prompts
import RecordCore

/// One image or video of a record, ready to send.
public struct MediaItem {
    public enum Kind: String { case image, video }
    public var kind: Kind
    /// As the record wrote it: what history keeps (never the bytes).
    public var reference: String
    /// What the request carries: a data URL for local files, else the URL as given.
    public var url: String
    /// Base64 of a local file (llama.cpp's `multimodal_data`), nil for URLs.
    public var base64: String?
    /// What the cache key holds instead of the bytes: `sha256:<hex>` of the content, or the URL.
    public var keyReference: String
}

/// Reads the media a record names: local files (resolved against
/// `--media-root`), checked by their first bytes and sent as base64 data URLs;
/// `http(s)://` and `data:` URLs pass through. Recently used files are kept
/// encoded (children of one exploded record share their parent's image).
public final class MediaLoader {
    let root: String?
    let maxBytes: Int
    let extraImageFields: [String]
    var recent: [(path: String, item: MediaItem)] = []
    let keep = 64

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
            switch v {
            case .null: continue
            case .array(let a): refs = a
            default: refs = [v]
            }
            for r in refs {
                guard case .string(let s) = r, !s.isEmpty else {
                    throw RecordError.field(
                        field,
                        "holds \(r.typeName == "string" ? "an empty string" : "a \(r.typeName)"); media fields hold paths or URLs"
                    )
                }
                out.append(try load(s, kind: kind))
            }
        }
        return out
    }

    func load(_ ref: String, kind: MediaItem.Kind) throws -> MediaItem {
        if ref.hasPrefix("http://") || ref.hasPrefix("https://") || ref.hasPrefix("data:") {
            let key = ref.hasPrefix("data:") ? "sha256:" + SHA256.hex(Array(ref.utf8)) : ref
            return MediaItem(
                kind: kind, reference: ref, url: ref,
                base64: ref.hasPrefix("data:") ? ref.split(separator: ",", maxSplits: 1).last.map(String.init) : nil,
                keyReference: key)
        }
        let path = ref.hasPrefix("/") || root == nil ? ref : (root! as NSString).appendingPathComponent(ref)
        if let i = recent.firstIndex(where: { $0.path == path }) {
            var hit = recent[i].item
            hit.reference = ref
            hit.kind = kind
            return hit
        }
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw RecordError.message(
                "\(kind.rawValue) \(path): cannot read it (\(String(cString: strerror(errno))))\(root == nil && !ref.hasPrefix("/") ? "; relative paths resolve against --media-root or the current folder" : "")"
            )
        }
        guard Int(st.st_size) <= maxBytes else {
            throw RecordError.message(
                "\(kind.rawValue) \(path): \(st.st_size) bytes is over --max-media-bytes \(maxBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecordError.message("\(kind.rawValue) \(path): cannot read it")
        }
        let bytes = [UInt8](data)
        guard let mime = MediaLoader.sniff(bytes, kind: kind) else {
            throw RecordError.message(
                "\(kind.rawValue) \(path): not a supported \(kind.rawValue) (\(MediaLoader.describe(bytes))); \(kind == .image ? "JPEG, PNG, WebP, GIF and BMP" : "MP4/MOV, WebM/MKV and AVI") are"
            )
        }
        let b64 = data.base64EncodedString()
        let item = MediaItem(
            kind: kind, reference: ref, url: "data:\(mime);base64,\(b64)", base64: b64,
            keyReference: "sha256:" + SHA256.hex(bytes))
        recent.append((path, item))
        if recent.count > keep { recent.removeFirst() }
        return item
    }

    /// The MIME type from the first bytes, if they are a kind of media we send.
    public static func sniff(_ b: [UInt8], kind: MediaItem.Kind) -> String? {
        func at(_ i: Int, _ s: String) -> Bool {
            let u = Array(s.utf8)
            return b.count >= i + u.count && Array(b[i..<(i + u.count)]) == u
        }
        switch kind {
        case .image:
            if b.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
            if b.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
            if at(0, "RIFF") && at(8, "WEBP") { return "image/webp" }
            if at(0, "GIF87a") || at(0, "GIF89a") { return "image/gif" }
            if at(0, "BM") && b.count > 14 { return "image/bmp" }
        case .video:
            if at(4, "ftyp") { return at(8, "qt") ? "video/quicktime" : "video/mp4" }
            if b.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "video/webm" }
            if at(0, "RIFF") && at(8, "AVI ") { return "video/x-msvideo" }
        }
        return nil
    }

    /// A short account of what a file starts with, for error messages.
    static func describe(_ b: [UInt8]) -> String {
        if b.isEmpty { return "the file is empty" }
        let head = b.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
        if b.prefix(64).allSatisfy({ $0 == 9 || $0 == 10 || $0 == 13 || ($0 >= 32 && $0 < 127) || $0 >= 0x80 }) {
            return "starts with \(head): looks like text"
        }
        if b.starts(with: [0x25, 0x50, 0x44, 0x46]) { return "a PDF" }
        if b.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "a ZIP archive" }
        return "starts with \(head)"
    }
}
