import Pipeline
import RecordCore
import XCTest

/// The pipeline file reader: nodes keep their place, and every way a file can
/// be broken is one error naming file:line:column.
final class YAMLDocumentTests: XCTestCase {
    func parse(_ text: String) throws -> YAMLNode { try YAMLDocument.parse(Array(text.utf8), file: "p.yaml") }

    func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> PipelineError? {
        error(Array(text.utf8), file: file, line: line)
    }

    func error(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> PipelineError? {
        do {
            _ = try YAMLDocument.parse(bytes, file: "p.yaml")
            XCTFail("parsed without an error", file: file, line: line)
            return nil
        } catch let e as PipelineError {
            XCTAssertEqual(e.status, .dataError, file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "one line: \(e)", file: file, line: line)
            return e
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return nil
        }
    }

    func testNodesKeepTheirLineAndColumn() throws {
        let root = try parse("pipeline: x\nsteps:\n  - keep: {filter: {where: 'a > 1'}}\n")
        guard case .mapping(let top) = root.kind else { return XCTFail("not a mapping") }
        XCTAssertEqual(top.map { $0.key.scalar }, ["pipeline", "steps"])
        guard case .sequence(let steps) = top[1].value.kind, case .mapping(let step) = steps[0].kind,
            case .mapping(let tool) = step[0].value.kind, case .mapping(let opts) = tool[0].value.kind
        else { return XCTFail("shape") }
        XCTAssertEqual(opts[0].value.scalar, "a > 1")
        XCTAssertEqual(opts[0].value.mark, SourceMark(line: 3, column: 28))
        XCTAssertEqual(opts[0].key.mark, SourceMark(line: 3, column: 21))
    }

    func testScalarsKnowWhetherTheyWereQuoted() throws {
        guard case .mapping(let m) = try parse("a: true\nb: 'true'\nc: ~\nd:\ne: ''\n").kind else { return XCTFail() }
        XCTAssertEqual(m[0].value.bool, true)
        XCTAssertNil(m[1].value.bool, "a quoted 'true' is text")
        XCTAssertTrue(m[2].value.isNull)
        XCTAssertTrue(m[3].value.isNull)
        XCTAssertFalse(m[4].value.isNull, "'' is an empty text")
    }

    func testSyntaxErrorNamesLineAndColumn() {
        let e = error("pipeline: x\nsteps: [a, b\ninput: y\n")
        XCTAssertTrue(e?.description.hasPrefix("p.yaml:3:") ?? false, "\(String(describing: e))")
        XCTAssertTrue(e?.description.contains("YAML:") ?? false)
    }

    func testTabIndentSaysToUseSpaces() {
        let e = error("steps:\n\t- a: b\n")
        XCTAssertTrue(e?.description.hasPrefix("p.yaml:2:1:") ?? false, "\(String(describing: e))")
        XCTAssertTrue(
            e?.description.contains("YAML indents with spaces, not tabs") ?? false, "\(String(describing: e))")
    }

    func testDuplicateKeyPointsAtTheSecond() {
        let e = error("pipeline: a\ninput: x\npipeline: b\n")
        XCTAssertEqual(e?.description, "p.yaml:3:1: duplicate key 'pipeline' (first at line 1); keep one")
    }

    func testAliasBombIsBounded() {
        // Ten levels of nine-fold aliases would be 9^10 nodes.
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1...10 {
            let p = "*a\(i - 1)"
            text += "a\(i): &a\(i) [\(Array(repeating: p, count: 9).joined(separator: ", "))]\n"
        }
        let started = Date()
        let e = error(text)
        XCTAssertTrue(e?.description.contains("alias bomb") ?? false, "\(String(describing: e))")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "refused without expanding")
        // A few honest aliases are fine.
        XCTAssertNoThrow(try parse("m: &m {temperature: 0}\nn: *m\n"))
    }

    func testUndefinedAlias() {
        XCTAssertTrue(error("a: *nothing\n")?.description.contains("p.yaml:1:4:") ?? false)
    }

    func testNotUTF8NamesTheByte() {
        let e = error(Array("pipeline: x\ninput: caf".utf8) + [0xE9] + Array(".jsonl\n".utf8))
        XCTAssertEqual(e?.description, "p.yaml:2:11: the file is not UTF-8 text; save it as UTF-8")
    }

    func testNULIsRefused() {
        let e = error("prompt: \"a\\0b\"\n")
        XCTAssertTrue(e?.description.hasPrefix("p.yaml:1:9: a NUL character") ?? false, "\(String(describing: e))")
        XCTAssertNotNil(error([0x61, 0x3A, 0x20, 0x00, 0x0A]), "a raw NUL byte too")
    }

    func testOneDocumentAndNotEmpty() {
        XCTAssertTrue(error("a: 1\n---\nb: 2\n")?.description.contains("a second YAML document") ?? false)
        XCTAssertTrue(error("")?.description.contains("the file is empty") ?? false)
        XCTAssertTrue(error("# only a comment\n")?.description.contains("the file is empty") ?? false)
    }

    func testLargeFileIsRefusedBeforeParsing() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(getpid()).yaml").path
        defer { unlink(path) }
        try Data(repeating: 0x23, count: 10 << 20).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try YAMLDocument.read(path: path)) { e in
            XCTAssertEqual(
                "\(e)",
                "\(path):1:1: the file is larger than 1 MB; a pipeline file describes steps, it does not hold data")
        }
        XCTAssertThrowsError(try YAMLDocument.read(path: path + ".missing")) { e in
            XCTAssertEqual((e as? PipelineError)?.status, .noInput)
        }
    }
}

extension YAMLDocumentTests {
    func testCharactersYAMLForbidsAreFoundByPlace() {
        let e = error(Array("a: 1\nb: x".utf8) + [0x7F] + Array("\n".utf8))
        XCTAssertTrue(
            e?.description.hasPrefix("p.yaml:2:5: YAML: control characters are not allowed") ?? false,
            "\(String(describing: e))")
    }
}

extension YAMLDocumentTests {
    func testDeepNestingAndFoldersAreRefused() throws {
        let e = error(String(repeating: "[", count: 5000))
        XCTAssertTrue(e?.description.contains("nested more than 64 levels deep") ?? false, "\(String(describing: e))")
        XCTAssertThrowsError(try YAMLDocument.read(path: FileManager.default.temporaryDirectory.path)) { e in
            XCTAssertEqual((e as? PipelineError)?.status, .noInput)
            XCTAssertTrue("\(e)".contains("is a folder"), "\(e)")
        }
    }
}
