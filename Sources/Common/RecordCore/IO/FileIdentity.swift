import Foundation

/// A regular file's identity (device and inode), to tell when an output would
/// be the very file an input is read from, however it was named.
public struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64

    /// The identity of an existing regular file; nil for anything else.
    public static func of(path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(st)
    }

    /// The identity of what an open descriptor refers to, when it is a regular file.
    public static func of(fd: Int32) -> FileIdentity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileIdentity(st)
    }

    init?(_ st: stat) {
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
