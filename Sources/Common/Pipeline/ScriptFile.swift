import Foundation
import RecordCore

/// Writes a compiled script: a temporary name beside it, made executable,
/// then renamed, so a half-written script never stands under the final name.
public enum ScriptFile {
    public static func write(_ text: String, to path: String, source: String) throws {
        if let a = FileIdentity.of(path: path), a == FileIdentity.of(path: source) {
            throw ToolError("-o \(path) is the pipeline file itself; write the script elsewhere", status: .usage)
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw ToolError("-o \(path) is a folder; name a file", status: .cannotCreate)
        }
        let data = Data(text.utf8)
        var st = stat()
        if stat(path, &st) == 0 {
            // Not a regular file (/dev/stdout, a pipe): written through, never renamed over.
            if st.st_mode & S_IFMT != S_IFREG {
                guard let fh = FileHandle(forWritingAtPath: path) else {
                    throw ToolError("-o \(path): cannot write to it", status: .cannotCreate)
                }
                defer { try? fh.close() }
                do { try fh.write(contentsOf: data) } catch {
                    throw ToolError("-o \(path): \(error.localizedDescription)", status: .ioError)
                }
                return
            }
            // The same script again keeps its time stamp, so make does not rerun a pipeline that did not change.
            if FileManager.default.contents(atPath: path) == data { return }
        }
        let temporary = path + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw ToolError("-o \(path): cannot create \(temporary) (does its folder exist?)", status: .cannotCreate)
        }
        guard chmod(temporary, 0o755) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ToolError("-o \(path): \(reason)", status: .ioError)
        }
    }

    /// Several scripts into one folder (made if missing), each written as above.
    public static func writeFolder(_ folder: String, _ files: [String: String], source: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw ToolError(
                "-o \(folder): cannot create the folder (\(error.localizedDescription))", status: .cannotCreate)
        }
        for (name, text) in files.sorted(by: { $0.key < $1.key }) {
            try write(text, to: (folder as NSString).appendingPathComponent(name), source: source)
        }
    }
}
