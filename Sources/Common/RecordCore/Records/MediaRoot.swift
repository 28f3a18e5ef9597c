import Foundation

/// `--media-root`: relative media paths are looked for below this folder, and
/// no path, once its links are resolved, may lead outside it, so a dataset
/// cannot send (or embed in a report) a file it was not given access to.
public struct MediaRoot {
    public let path: String
    /// The folder with its links resolved, found once (nil: it cannot be read, and why).
    let real: String?
    let unreadable: String

    public init(_ path: String) {
        self.path = path
        real = MediaRoot.realPath(path)
        unreadable = real == nil ? String(cString: strerror(errno)) : ""
    }

    /// The file `ref` names, links resolved; `what` names it in errors (`image images[1]`).
    public func resolve(_ ref: String, what: String) throws -> String {
        let joined = ref.hasPrefix("/") ? ref : (path as NSString).appendingPathComponent(ref)
        guard let real else {
            throw RecordError.message("--media-root \(path): cannot be read (\(unreadable))")
        }
        guard let resolved = MediaRoot.realPath(joined) else {
            throw RecordError.message(
                "\(what): cannot read it (\(String(cString: strerror(errno)))); it is looked for in --media-root \(path)"
            )
        }
        guard resolved.hasPrefix(real.hasSuffix("/") ? real : real + "/") else {
            throw RecordError.message("\(what): outside --media-root \(path) (it resolves to \(resolved))")
        }
        return resolved
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
