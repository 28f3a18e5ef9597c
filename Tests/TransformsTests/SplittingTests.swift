import XCTest

@testable import RecordCore
@testable import Transforms

final class SplittingTests: XCTestCase {
    func testSplitModes() throws {
        let questions =
            "Here are five questions:\n1. What is on the table?\n2) Why is the sky red?\n\n- How many people?\n* Q4: odd one\n(5) Where is it?"
        XCTAssertEqual(
            try TextSplitter(mode: .items).split(questions),
            ["What is on the table?", "Why is the sky red?", "How many people?", "Q4: odd one", "Where is it?"])
        XCTAssertEqual(try TextSplitter(mode: .lines).split(questions).count, 6, "the preamble is a line too")
        XCTAssertEqual(try TextSplitter(mode: .lines).split("a\n\n  b  \r\n1.5 km away"), ["a", "b", "1.5 km away"])
        XCTAssertEqual(
            try TextSplitter(mode: .items).split("1. first\n   continues here\n2. second"),
            ["first continues here", "second"])
        XCTAssertEqual(try TextSplitter(mode: .items).split("no markers\nat all"), ["no markers", "at all"])
        XCTAssertEqual(
            try TextSplitter(mode: .lines).split("3:30 is when we meet\n1.A is a grade\nQ2: fine?"),
            ["3:30 is when we meet", "1.A is a grade", "fine?"])
        XCTAssertEqual(
            try TextSplitter(mode: .paragraphs).split("p one\nstill one\n\n\np two\n"), ["p one\nstill one", "p two"])
        XCTAssertEqual(
            try TextSplitter(mode: .regex, regex: try Regex(#"<q>(.*?)</q>"#)).split("<q>a</q> x <q> b </q><q></q>"),
            ["a", "b"])
    }

    func testExplodeAndJoinAreInverse() throws {
        let parent = try JSONValue.parse(#"{"id":"c1","caption":"x","paragraphs":"First.\nSecond.\nThird."}"#)
        let exploder = RecordExploder(
            field: try FieldPath(parsing: "paragraphs"), into: try FieldPath(parsing: "paragraph"),
            partField: try FieldPath(parsing: "part"), splitter: TextSplitter(mode: .lines), maxParts: 7)
        var kids: [JSONValue] = []
        guard case .exploded = try exploder.explode(parent, emit: { kids.append($0) }) else {
            return XCTFail("no children")
        }
        XCTAssertEqual(kids.count, 3)
        XCTAssertEqual(
            JSONWriter.string(kids[1]),
            #"{"id":"c1","caption":"x","paragraphs":"First.\nSecond.\nThird.","paragraph":"Second.","part":{"index":1,"count":3}}"#
        )

        let joiner = RecordJoiner(
            key: try FieldPath(parsing: "id"), collect: [try FieldPath(parsing: "paragraph")],
            partField: try FieldPath(parsing: "part"), keepIncomplete: false)
        for (i, k) in kids.enumerated() { XCTAssertNil(try joiner.add(k, source: "t", line: i + 1)) }
        let g = try XCTUnwrap(try joiner.finish())
        XCTAssertNil(g.incomplete)
        XCTAssertEqual(
            JSONWriter.string(g.record),
            #"{"id":"c1","caption":"x","paragraphs":"First.\nSecond.\nThird.","paragraph":["First.","Second.","Third."]}"#
        )

        // One part lost on the way (a failed judge): the group says so.
        _ = try joiner.add(kids[0], source: "t", line: 1)
        _ = try joiner.add(kids[2], source: "t", line: 2)
        XCTAssertEqual(try joiner.finish()?.incomplete, "join: incomplete group, 2 of 3 parts")

        let tooMany = RecordExploder(
            field: try FieldPath(parsing: "paragraphs"), into: try FieldPath(parsing: "p"), partField: nil,
            splitter: TextSplitter(mode: .lines), maxParts: 2)
        guard
            case .drop(let reason) = try tooMany.explode(parent, emit: { _ in XCTFail("no child of a dropped record") })
        else { return XCTFail("not dropped") }
        XCTAssertEqual(reason, "split: 3 parts > --max-parts 2")
    }

    func testAGroupThatCannotBeJoinedDoesNotSpoilTheNext() throws {
        let joiner = RecordJoiner(
            key: try FieldPath(parsing: "id"), collect: [try FieldPath(parsing: "a.b")], partField: nil,
            keepIncomplete: false)
        XCTAssertNil(try joiner.add(try JSONValue.parse(#"{"id":1,"a":"text"}"#), source: "t", line: 1))
        let bad = try XCTUnwrap(try joiner.add(try JSONValue.parse(#"{"id":2,"a":{"b":1}}"#), source: "t", line: 2))
        XCTAssertEqual(bad.line, 1)
        XCTAssertTrue(bad.failure?.hasPrefix("join: cannot collect a.b") == true, "\(String(describing: bad.failure))")
        let good = try XCTUnwrap(joiner.finish())
        XCTAssertNil(good.failure)
        XCTAssertEqual(JSONWriter.string(good.record), #"{"id":2,"a":{"b":[1]}}"#)
        XCTAssertNil(joiner.finish())
    }

    func testReservoirKeepsExactlyNInOrderAndIsSeeded() {
        func run(seed: UInt64) -> [Int] {
            let s = ReservoirSample(size: 10, seed: seed)
            var bytes: [UInt8] = [0x7B, 0x7D]
            bytes.withUnsafeMutableBufferPointer { b in
                for i in 0..<1000 { _ = s.offer(InputLine(bytes: UnsafeBufferPointer(b), source: "t", number: i + 1)) }
            }
            return s.inOrder().map(\.index)
        }
        let a = run(seed: 1)
        XCTAssertEqual(a.count, 10)
        XCTAssertEqual(a, a.sorted())
        XCTAssertEqual(a, run(seed: 1))
        XCTAssertNotEqual(a, run(seed: 2))
        XCTAssertGreaterThan(a.last!, 100, "later records get their chance")
    }
}

extension SplittingTests {
    /// `--by raw-lines` counts as the reference's `text.split("\n")` does.
    func testRawLinesCountLikeThePythonSplit() throws {
        let raw = TextSplitter(mode: .rawLines)
        let cases: [(String, [String])] = [
            ("a\nb", ["a", "b"]), ("a\n\nb", ["a", "", "b"]), ("a\n", ["a", ""]), ("", [""]), ("\n", ["", ""]),
            ("a\r\nb", ["a\r", "b"]), (" 1. Q?\n2. R?", [" 1. Q?", "2. R?"]),
        ]
        for (text, parts) in cases { XCTAssertEqual(try raw.split(text), parts, text.debugDescription) }
        // Seven lines pass --max-parts 7; the same seven with a trailing newline are eight.
        let seven = (1...7).map { "Q\($0)?" }.joined(separator: "\n")
        XCTAssertEqual(try raw.count(seven), 7)
        XCTAssertEqual(try raw.count(seven + "\n"), 8)
        XCTAssertEqual(try TextSplitter(mode: .lines).count(seven + "\n"), 7, "the readable rule ignores it")
    }
}

extension SplittingTests {
    /// The documented extraction regex keeps a multi-line instruction whole.
    func testTheExtractionRegexKeepsEveryLine() throws {
        let answer = "Instruction: Compare the two signs.\nThen say which is older.\n  "
        XCTAssertEqual(
            try Regex(#"^Instruction:\s*([\s\S]+?)\s*$"#).firstCapture(answer),
            "Compare the two signs.\nThen say which is older.")
        XCTAssertEqual(
            try Regex(#"^Instruction:\s*(.+)"#).firstCapture(answer), "Compare the two signs.", "why not (.+)")
        XCTAssertNil(try Regex(#"^Instruction:\s*([\s\S]+?)\s*$"#).firstCapture("NO_INST"))
    }
}
