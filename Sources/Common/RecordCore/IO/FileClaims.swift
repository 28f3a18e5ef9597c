import Foundation

/// The files a run reads and writes, by identity: an output that is the same
/// file as an input or as another output is refused before anything is
/// written, as `cat` refuses "input file is output file" (writing it would
/// destroy what is being read, whatever names or links lead to it).
public struct FileClaims {
    var inputs: [FileIdentity: String] = [:]
    var outputs: [FileIdentity: String] = [:]
    /// Outputs that do not exist yet, by their resolved path.
    var newOutputs: [String: String] = [:]

    public init(inputs paths: [String]) {
        for p in paths {
            if let id = p == "-" ? FileIdentity.of(fd: 0) : FileIdentity.of(path: p) {
                inputs[id] = p == "-" ? "stdin" : p
            }
        }
    }

    /// `path` nil is stdout (when it was redirected to a file).
    public mutating func claimOutput(_ path: String?, option: String) throws {
        let shown = path.map { "\(option) \($0)" } ?? "stdout"
        // The staging file an output is written under must not be an input either
        // (a run resumed from the NAME.partial a stopped run left).
        if let path, let staging = FileIdentity.of(path: path + ".partial"), let input = inputs[staging] {
            throw ToolError.usage(
                "\(shown) is written through \(path).partial, which is the input \(input): rename that file first")
        }
        if let path, FileIdentity.of(path: path) == nil, let resolved = FileClaims.resolved(path) {
            if let other = newOutputs[resolved] {
                throw ToolError.usage("\(shown) is the same file as \(other): give each output its own file")
            }
            newOutputs[resolved] = shown
            return
        }
        guard let id = path.map({ FileIdentity.of(path: $0) }) ?? FileIdentity.of(fd: 1) else { return }
        if let input = inputs[id] {
            throw ToolError.usage("\(shown) is the input \(input): write the output to another file")
        }
        if let other = outputs[id] {
            throw ToolError.usage("\(shown) is the same file as \(other): give each output its own file")
        }
        outputs[id] = shown
    }

    /// The path with its folder's symbolic links and `..` resolved (the file itself need not exist).
    static func resolved(_ path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        guard let real = realpath(folder, nil) else { return nil }
        defer { free(real) }
        return String(cString: real) + "/" + url.lastPathComponent
    }
}
