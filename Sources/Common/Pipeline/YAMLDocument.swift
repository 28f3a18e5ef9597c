import CYAML
import Foundation
import RecordCore

/// A place in a pipeline file, 1-based as editors count.
public struct SourceMark: Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    init(_ m: yaml_mark_t) { self.init(line: Int(m.line) + 1, column: Int(m.column) + 1) }
    public var description: String { "\(line):\(column)" }
}

/// One node of a pipeline file, with where it starts. Aliases share the node
/// they name; `size` counts what the node stands for once aliases are expanded.
public final class YAMLNode {
    public enum Kind {
        /// `plain` is an unquoted scalar, the only kind that can mean true, false or null.
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        /// Keys in file order (duplicates are refused while reading).
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }
    public let kind: Kind
    public let mark: SourceMark
    let size: Int

    init(_ kind: Kind, mark: SourceMark, size: Int) {
        self.kind = kind
        self.mark = mark
        self.size = size
    }

    public var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    /// An unquoted `null`, `~` or nothing at all.
    public var isNull: Bool {
        if case .scalar(let s, let plain) = kind { return plain && ["", "null", "Null", "NULL", "~"].contains(s) }
        return false
    }

    /// An unquoted true or false.
    public var bool: Bool? {
        guard case .scalar(let s, true) = kind else { return nil }
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    public var kindName: String {
        switch kind {
        case .scalar: return isNull ? "nothing (null)" : "a value"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// Reads one YAML document with libyaml's event parser, keeping each node's
/// line and column. Refused, each with file:line:column: invalid YAML (a tab
/// indent among it), text that is not UTF-8, a duplicate key, NUL in a value,
/// more than one document, a file over 1 MB, and aliases that expand past
/// 100,000 nodes (a "billion laughs" file).
public enum YAMLDocument {
    public static let maxBytes = 1 << 20
    public static let maxExpandedNodes = 100_000

    public static let maxDepth = 64

    public static func read(path: String) throws -> YAMLNode {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw PipelineError(path, nil, "is a folder; name the pipeline's YAML file", status: .noInput)
        }
        guard let fh = FileHandle(forReadingAtPath: path) else {
            throw PipelineError(path, nil, "cannot open the pipeline file (does it exist?)", status: .noInput)
        }
        defer { try? fh.close() }
        let data: Data
        do { data = try fh.read(upToCount: maxBytes + 1) ?? Data() } catch {
            throw PipelineError(path, nil, "cannot read it (\(error.localizedDescription))", status: .ioError)
        }
        if data.count > maxBytes {
            throw PipelineError(
                path, SourceMark(line: 1, column: 1),
                "the file is larger than 1 MB; a pipeline file describes steps, it does not hold data",
                status: .dataError)
        }
        return try parse([UInt8](data), file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> YAMLNode {
        if let bad = firstInvalidUTF8(bytes) {
            throw PipelineError(file, bad, "the file is not UTF-8 text; save it as UTF-8", status: .dataError)
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw PipelineError(file, nil, "cannot start the YAML parser (out of memory)", status: .ioError)
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { buf -> YAMLNode in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var composer = Composer(file: file, bytes: bytes)
            return try composer.run(&parser)
        }
    }

    /// Where the first byte that breaks UTF-8 is, if any (the standard library's decoder decides).
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> SourceMark? {
        var parser = Unicode.UTF8.ForwardParser()
        var it = bytes.makeIterator()
        var line = 1
        var column = 1
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid(let encoded):
                if encoded.count == 1 && encoded.first == 0x0A {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .error: return SourceMark(line: line, column: column)
            case .emptyInput: return nil
            }
        }
    }
}

/// Builds nodes from parser events.
private struct Composer {
    let file: String
    let bytes: [UInt8]
    var anchors: [String: YAMLNode] = [:]
    var total = 0
    var depth = 0

    init(file: String, bytes: [UInt8]) {
        self.file = file
        self.bytes = bytes
    }

    mutating func run(_ parser: inout yaml_parser_t) throws -> YAMLNode {
        var root: YAMLNode?
        var documents = 0
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw syntaxError(parser) }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_STREAM_END_EVENT:
                guard let root else {
                    throw PipelineError(
                        file, SourceMark(line: 1, column: 1),
                        "the file is empty; a pipeline needs at least input and steps",
                        status: .dataError)
                }
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw PipelineError(
                        file, SourceMark(event.start_mark), "a second YAML document; a pipeline file holds one",
                        status: .dataError)
                }
            case YAML_SCALAR_EVENT, YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT, YAML_ALIAS_EVENT:
                root = try node(from: &event, &parser)
            default: break
            }
        }
    }

    /// The node that starts with `event` (its children read from the parser).
    mutating func node(from event: inout yaml_event_t, _ parser: inout yaml_parser_t) throws -> YAMLNode {
        let mark = SourceMark(event.start_mark)
        depth += 1
        defer { depth -= 1 }
        if depth > YAMLDocument.maxDepth {
            throw PipelineError(
                file, mark, "nested more than \(YAMLDocument.maxDepth) levels deep; a pipeline file needs a few",
                status: .dataError)
        }
        let made: YAMLNode
        var anchor: UnsafeMutablePointer<yaml_char_t>?
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let target = anchors[name] else {
                throw PipelineError(file, mark, "alias *\(name) names no anchor defined before it", status: .dataError)
            }
            try count(target.size, at: mark)
            return target
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            if text.utf8.contains(0) {
                throw PipelineError(
                    file, mark, "a NUL character in a value; no program argument can hold one", status: .dataError)
            }
            try count(1, at: mark)
            made = YAMLNode(.scalar(text, plain: s.style == YAML_PLAIN_SCALAR_STYLE), mark: mark, size: 1)
            anchor = s.anchor
        case YAML_SEQUENCE_START_EVENT:
            anchor = event.data.sequence_start.anchor
            var items: [YAMLNode] = []
            var size = 1
            try count(1, at: mark)
            while let n = try nextNode(&parser, endingAt: YAML_SEQUENCE_END_EVENT) {
                size += n.size
                items.append(n)
            }
            made = YAMLNode(.sequence(items), mark: mark, size: size)
        case YAML_MAPPING_START_EVENT:
            anchor = event.data.mapping_start.anchor
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var seen: [String: SourceMark] = [:]
            var size = 1
            try count(1, at: mark)
            while let key = try nextNode(&parser, endingAt: YAML_MAPPING_END_EVENT) {
                guard let name = key.scalar else {
                    throw PipelineError(
                        file, key.mark, "a key must be a plain name, not \(key.kindName)", status: .dataError)
                }
                if let first = seen[name] {
                    throw PipelineError(
                        file, key.mark, "duplicate key '\(name)' (first at line \(first.line)); keep one",
                        status: .dataError)
                }
                seen[name] = key.mark
                guard let value = try nextNode(&parser, endingAt: YAML_MAPPING_END_EVENT) else {
                    throw PipelineError(file, key.mark, "key '\(name)' has no value", status: .dataError)
                }
                size += key.size + value.size
                pairs.append((key, value))
            }
            made = YAMLNode(.mapping(pairs), mark: mark, size: size)
        default:
            throw PipelineError(file, mark, "unexpected YAML structure", status: .dataError)
        }
        if let anchor { anchors[String(cString: anchor)] = made }
        return made
    }

    /// The next child of the sequence or mapping being read; nil at its end event.
    mutating func nextNode(_ parser: inout yaml_parser_t, endingAt end: yaml_event_type_t) throws -> YAMLNode? {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else { throw syntaxError(parser) }
        defer { yaml_event_delete(&event) }
        return event.type == end ? nil : try node(from: &event, &parser)
    }

    mutating func count(_ n: Int, at mark: SourceMark) throws {
        total += n
        if total > YAMLDocument.maxExpandedNodes {
            throw PipelineError(
                file, mark,
                "aliases expand this file past \(YAMLDocument.maxExpandedNodes) values; a pipeline file does not need that many (an alias bomb?)",
                status: .dataError)
        }
    }

    func syntaxError(_ parser: yaml_parser_t) -> PipelineError {
        // The reader (characters YAML does not allow) says where by byte offset only.
        let mark =
            parser.error == YAML_READER_ERROR
            ? place(ofByte: Int(parser.problem_offset)) : SourceMark(parser.problem_mark)
        var what = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        if let context = parser.context.map({ String(cString: $0) }) { what = "\(what) (\(context))" }
        // libyaml points at the tab; say what to do about it.
        let offset = Int(parser.problem_mark.index)
        if offset < bytes.count, bytes[offset] == 0x09 || lineHasTabIndent(mark.line) {
            what += "; YAML indents with spaces, not tabs"
        }
        return PipelineError(file, mark, "YAML: \(what)", status: .dataError)
    }

    func place(ofByte offset: Int) -> SourceMark {
        let before = bytes[..<min(offset, bytes.count)]
        let lineStart = (before.lastIndex(of: 0x0A) ?? -1) + 1
        let line = before.filter { $0 == 0x0A }.count + 1
        return SourceMark(
            line: line, column: String(decoding: bytes[lineStart..<before.endIndex], as: UTF8.self).count + 1)
    }

    func lineHasTabIndent(_ line: Int) -> Bool {
        var l = 1
        var i = 0
        while i < bytes.count && l < line {
            if bytes[i] == 0x0A { l += 1 }
            i += 1
        }
        while i < bytes.count && bytes[i] == 0x20 { i += 1 }
        return i < bytes.count && bytes[i] == 0x09
    }
}
