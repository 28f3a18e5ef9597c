import Foundation

/// Reads a small text file the user named (a prompt, a rubric), with errors
/// that say what is wrong in the system's words, never Foundation's.
public enum TextFile {
    /// `what` names the file in errors, e.g. "--prompt-file p.txt".
    public static func read(_ path: String, what: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ToolError("\(what): cannot read it: \(String(cString: strerror(errno)))", status: .noInput)
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw ToolError("\(what): is a folder, not a file", status: .noInput)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ToolError("\(what): cannot read it: \(String(cString: strerror(errno)))", status: .noInput)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > 16 << 20 {
                throw ToolError.usage("\(what): larger than 16 MB; a prompt file is text of a reasonable size")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ToolError.usage("\(what): is not UTF-8 text")
        }
        return text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
    }
}
