import Foundation

/// Reads the elements of one top-level JSON array (`[{...}, {...}]`, as
/// LLaVA-style datasets ship) one at a time, streaming: an element's bytes are
/// a view valid until the next call, memory holds one element at a time, so a
/// 2 GB array needs no more than its largest element. Only the array's
/// structure is checked here (strings, nesting, commas); each element is then
/// parsed as a record like a JSONL line.
public final class JSONArrayReader {
    enum State {
        case beforeArray, beforeElement, inElement, afterElement, afterArray
    }
    let source: ChunkSource
    let name: String
    var chunk = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var pos = 0
    /// The element being read: copied, since it may span chunks.
    var buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)
    var capacity = 1 << 16
    var count = 0
    var state = State.beforeArray
    var depth = 0
    var inString = false
    var escaped = false
    var eof = false
    /// The index (from 0) of the element last returned.
    public private(set) var index = -1

    public init(source: ChunkSource, name: String) {
        self.source = source
        self.name = name
    }

    deinit { buffer.deallocate() }

    func append(_ c: UInt8) {
        if count == capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: buffer, count: count)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        buffer[count] = c
        count += 1
    }

    func fail(_ message: String) -> InputError {
        InputError(source: name, message: message, status: .dataError)
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    /// The next element's bytes, `.end` after the closing bracket, or `.notReady`.
    public func poll(wait: Double) throws -> Polled<UnsafeBufferPointer<UInt8>> {
        while true {
            while let base = chunk.baseAddress, pos < chunk.count {
                let c = base[pos]
                switch state {
                case .beforeArray:
                    pos += 1
                    if JSONArrayReader.isSpace(c) || (c == 0xEF || c == 0xBB || c == 0xBF) { continue }  // BOM too
                    guard c == UInt8(ascii: "[") else { throw fail("a .json input must be one array of objects") }
                    state = .beforeElement
                case .beforeElement:
                    if JSONArrayReader.isSpace(c) {
                        pos += 1
                    } else if c == UInt8(ascii: "]") && index == -1 {
                        pos += 1
                        state = .afterArray  // an empty array
                    } else if c == UInt8(ascii: "]") || c == UInt8(ascii: ",") {
                        throw fail("element \(index + 1): a stray ',' (JSON allows no empty element or trailing comma)")
                    } else {
                        count = 0
                        depth = 0
                        state = .inElement
                    }
                case .inElement:
                    if inString {
                        if escaped {
                            escaped = false
                        } else if c == UInt8(ascii: "\\") {
                            escaped = true
                        } else if c == UInt8(ascii: "\"") {
                            inString = false
                        }
                    } else if c == UInt8(ascii: "\"") {
                        inString = true
                    } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                        depth += 1
                    } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                        if depth == 0 {
                            // The array's own closing bracket right after a value.
                            state = .afterElement
                            continue
                        }
                        depth -= 1
                    } else if c == UInt8(ascii: ",") && depth == 0 {
                        state = .afterElement
                        continue
                    } else if JSONArrayReader.isSpace(c) {
                        // A pretty-printed element becomes one line: its records are JSONL downstream.
                        pos += 1
                        continue
                    }
                    append(c)
                    pos += 1
                case .afterElement:
                    pos += 1
                    if JSONArrayReader.isSpace(c) { continue }
                    while count > 0 && JSONArrayReader.isSpace(buffer[count - 1]) { count -= 1 }
                    index += 1
                    if c == UInt8(ascii: ",") {
                        state = .beforeElement
                    } else if c == UInt8(ascii: "]") {
                        state = .afterArray
                    } else {
                        throw fail(
                            "element \(index + 1): expected ',' or ']' after element \(index), found '\(Character(Unicode.Scalar(c)))'"
                        )
                    }
                    return .ready(UnsafeBufferPointer(start: buffer, count: count))
                case .afterArray:
                    pos += 1
                    guard JSONArrayReader.isSpace(c) else { throw fail("text after the array's closing ']'") }
                }
            }
            if eof {
                switch state {
                case .afterArray: return .end
                case .beforeArray: return .end  // an empty file
                default: throw fail("the JSON array ends early (inside element \(index + 1)): the file is cut short")
                }
            }
            switch try source.pollChunk(wait: wait) {
            case .notReady: return .notReady
            case .end: eof = true
            case .ready(let next):
                chunk = next
                pos = 0
            }
        }
    }

    public func close() { source.close() }
}
