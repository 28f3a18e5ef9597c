import Foundation

/// Something that fills a buffer with bytes; 0 means the end.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int
    func close()
    /// True when a read can wait on a writer (a pipe or terminal): what was read is
    /// then handed on at once instead of waiting to fill a whole chunk.
    var mayStall: Bool { get }
}

/// Reading or decompressing an input failed.
public struct InputError: ToolFailure, CustomStringConvertible {
    public var source: String
    public var message: String
    public var status: ExitStatus
    public init(source: String, message: String, status: ExitStatus = .ioError) {
        self.source = source
        self.message = message
        self.status = status
    }
    public var description: String { "\(source): \(message)" }
}

extension InputError {
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { status }
}
