import XCTest

@testable import RecordCore

/// Hands out fixed pieces, to put line breaks at chunk boundaries on purpose;
/// an empty piece stands for "nothing has arrived yet" (a slow pipe).
final class PiecesSource: ChunkSource {
    var pieces: [[UInt8]]
    var current: [UInt8] = []
    init(_ pieces: [[UInt8]]) { self.pieces = pieces }
    func pollChunk(wait: Double) throws -> Polled<UnsafeBufferPointer<UInt8>> {
        guard !pieces.isEmpty else { return .end }
        current = pieces.removeFirst()
        if current.isEmpty { return .notReady }
        return .ready(current.withUnsafeBufferPointer { $0 })  // `current` keeps the storage alive until the next call
    }
    func close() {}
}

final class StreamTests: XCTestCase {
    func lines(_ pieces: [String]) throws -> [String] {
        let r = LineReader(source: PiecesSource(pieces.map { Array($0.utf8) }))
        var out: [String] = []
        while let l = try r.next() { out.append(String(decoding: l, as: UTF8.self)) }
        return out
    }

    func testLinesAcrossChunkBoundaries() throws {
        XCTAssertEqual(try lines(["ab", "c\nde", "f\r\n", "\n", "last"]), ["abc", "def", "", "last"])
        XCTAssertEqual(try lines(["one\n", "two\n"]), ["one", "two"])
        XCTAssertEqual(try lines(["x", "y", "z"]), ["xyz"])
        XCTAssertEqual(try lines([]), [])
        let long = String(repeating: "0123456789", count: 50_000)
        let cut = stride(from: 0, to: long.count, by: 7_777).map { i -> String in
            let a = long.index(long.startIndex, offsetBy: i)
            return String(long[a..<long.index(a, offsetBy: min(7_777, long.count - i))])
        }
        XCTAssertEqual(try lines(cut + ["\nnext"]), [long, "next"])
    }

    func testPollSaysNotReadyMidLineAndKeepsWhatCame() throws {
        let r = LineReader(source: PiecesSource([Array("first\nsec".utf8), [], Array("ond\n".utf8), []]))
        var got: [String] = []
        var waits = 0
        loop: while true {
            switch try r.poll(wait: 0) {
            case .ready(let l): got.append(String(decoding: l, as: UTF8.self))
            case .notReady: waits += 1
            case .end: break loop
            }
        }
        XCTAssertEqual(got, ["first", "second"])
        XCTAssertEqual(waits, 2)
        XCTAssertEqual(r.lineNumber, 2)
    }

    func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mminf-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func readAll(_ path: String) throws -> [String] {
        let r = LineReader(source: try InputOpener.open(path))
        defer { r.close() }
        var out: [String] = []
        while let l = try r.next() { out.append(String(decoding: l, as: UTF8.self)) }
        return out
    }

    func testZstdRoundTripDetectedByMagicNotName() throws {
        let path = tempPath("looks-plain.jsonl")  // compressed, whatever the name says
        let sink = try OutputSink.open(path, zstd: true, level: 3)
        let records = (0..<5000).map { #"{"i":\#($0),"t":"é\#(String(repeating: "x", count: $0 % 300))"}"# }
        for r in records { try sink.writeLine(Array(r.utf8)) }
        try sink.publish()
        let head = try Array(Data(contentsOf: URL(fileURLWithPath: path)).prefix(4))
        XCTAssertEqual(head, [0x28, 0xB5, 0x2F, 0xFD])
        XCTAssertEqual(try readAll(path), records)
    }

    func testTruncatedZstdIsAnError() throws {
        let path = tempPath("cut.jsonl.zst")
        let sink = try OutputSink.open(path)
        for i in 0..<20000 { try sink.writeLine(Array(#"{"i":\#(i),"pad":"\#(i * 7919)"}"#.utf8)) }
        try sink.publish()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try readAll(path)) { e in
            XCTAssertTrue("\(e)".contains("truncated zstd stream"), "\(e)")
            XCTAssertEqual((e as? InputError)?.status, .dataError)
        }
    }

    func testMissingInputNamesTheFile() {
        XCTAssertThrowsError(try InputOpener.open("/nonexistent/x.jsonl")) { e in
            XCTAssertEqual("\(e)", "/nonexistent/x.jsonl: cannot open: No such file or directory")
        }
    }
}
