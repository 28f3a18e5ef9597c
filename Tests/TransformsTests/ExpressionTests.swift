import XCTest

@testable import RecordCore
@testable import Transforms

final class ExpressionTests: XCTestCase {
    let record = try! JSONValue.parse(
        #"""
        {"id":"r1","instruction":"What colour is the car?","extracted":"NO_INST","n":null,
         "scores":{"solvability":4,"hallucination":5,"clarity":3,"nonsense":5,"verify":true},
         "checks":["Correct","Correct","Incorrect"],"flags":[true,true],"tags":["a","b"],
         "parts":[{"ok":true,"len":3},{"ok":false,"len":9}],"text":"  Mixed Case  "}
        """#)

    func eval(_ s: String) throws -> JSONValue { try Expression(s).evaluate(record: record) }

    func testOperatorsAndFunctions() throws {
        let cases: [(String, JSONValue)] = [
            ("scores.solvability >= 3 && scores.hallucination == 5", .bool(true)),
            ("scores.solvability + scores.clarity >= 7", .bool(true)),
            ("scores.solvability + scores.clarity > 7", .bool(false)),
            ("scores.clarity * 2 - 1", .int(5)),
            ("scores.clarity / 2", .double(1.5)),
            ("scores.clarity % 2", .int(1)),
            ("scores.clarity / 0", .null),
            ("-scores.clarity", .int(-3)),
            ("!(extracted ~ /^NO_INST/)", .bool(false)),
            ("instruction ~ /colou?r/i", .bool(true)),
            ("instruction !~ /dog/", .bool(true)),
            ("id == 'r1' || false", .bool(true)),
            ("id != \"r1\"", .bool(false)),
            ("n == null", .bool(true)),
            ("n >= 3", .bool(false)),
            ("n + 1", .null),
            ("n ?? 7", .int(7)),
            ("absent ?? 'default'", .string("default")),
            ("len(instruction)", .int(23)),
            ("len(tags)", .int(2)),
            ("lower(instruction) ~ /^what/", .bool(true)),
            ("upper(id)", .string("R1")),
            ("trim(text)", .string("Mixed Case")),
            ("contains(instruction, 'car')", .bool(true)),
            ("contains(tags, 'c')", .bool(false)),
            ("startswith(instruction, 'What')", .bool(true)),
            ("endswith(instruction, '?')", .bool(true)),
            ("exists(scores.verify) && !exists(scores.match)", .bool(true)),
            ("scores.verify", .bool(true)),
            ("all(flags)", .bool(true)),
            ("all(checks, @ == 'Correct')", .bool(false)),
            ("any(checks, @ == 'Incorrect')", .bool(true)),
            ("count(checks, @ == 'Correct')", .int(2)),
            ("all(parts, @.len > 2)", .bool(true)),
            ("any(parts, @.ok && @.len > 5)", .bool(false)),
            ("number('42') + 1", .int(43)),
            ("string(scores.clarity) + '/5'", .string("3/5")),
            ("tags[1] == 'b'", .bool(true)),
            ("scores[\"clarity\"] == 3", .bool(true)),
            ("1 + 2 * 3", .int(7)),
            ("(1 + 2) * 3", .int(9)),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try eval(text), expected, text)
        }
    }

    func parseError(_ s: String) -> ExpressionError? {
        do {
            _ = try Expression(s)
            return nil
        } catch { return error as? ExpressionError }
    }

    func testParseErrorsPointAtTheColumn() {
        let cases: [(String, Int, String)] = [
            ("scores.a >= ", 13, "the expression ends where a value was expected"),
            ("a = 1", 3, "use '==' to compare"),
            ("a & b", 3, "use '&&'"),
            ("len(a, b)", 1, "len() takes 1 argument, got 2"),
            ("size(a)", 1, "unknown function 'size'"),
            ("a ~ 'x'", 5, "expected a regex like /pattern/ after '~'"),
            ("a ~ /(unclosed/", 15, "bad regex"),
            ("a b", 3, "unexpected 'b'; expected an operator"),
            ("@ == 1", 1, "'@' stands for an array element"),
            ("'open", 1, "string is never closed"),
            ("(a", 3, "expected ')' to close '('"),
        ]
        for (text, column, message) in cases {
            guard let e = parseError(text) else {
                XCTFail("no error for \(text)")
                continue
            }
            XCTAssertEqual(e.column, column, text)
            XCTAssertTrue(e.message.hasPrefix(message), "\(text): \(e.message)")
            let lines = e.description.split(separator: "\n", omittingEmptySubsequences: false)
            XCTAssertEqual(lines.count, 3)
            XCTAssertEqual(lines[2].count, 2 + column, "caret under column \(column) of \(text)")
            XCTAssertTrue(lines[2].hasSuffix("^"))
        }
    }

    func testRecordErrorsNameTheField() {
        XCTAssertThrowsError(try eval("scores.solvabilty >= 3")) { e in
            XCTAssertTrue("\(e)".contains("field 'scores.solvabilty' is not in this record"), "\(e)")
        }
        XCTAssertThrowsError(try eval("instruction > 3")) { e in
            XCTAssertTrue("\(e)".contains("cannot compare a string"), "\(e)")
        }
        XCTAssertNoThrow(try eval("exists(x) && x > 1"), "&& short-circuits past a missing field")
    }

    func testPathsAreCollectedOnce() throws {
        let e = try Expression("scores.a >= 3 && scores.b == 5 && scores.a + scores.b >= 7")
        XCTAssertEqual(e.paths.map(\.description), ["scores.a", "scores.b"])
    }

    func testTemplates() throws {
        let t = try Template("<image>\\n{instruction} ({scores.clarity}) {{lit}}", escapes: true)
        XCTAssertEqual(try t.render(record), "<image>\nWhat colour is the car? (3) {lit}")
        XCTAssertEqual(t.fields.map(\.description), ["instruction", "scores.clarity"])
        XCTAssertThrowsError(try t.render(.object(JSONObject()))) { e in
            XCTAssertTrue("\(e)".contains("field 'instruction' is not in this record"))
        }
        XCTAssertThrowsError(try Template("a {b")) { XCTAssertEqual(($0 as? Template.ParseError)?.column, 3) }
        XCTAssertThrowsError(try Template("a } b")) { XCTAssertEqual(($0 as? Template.ParseError)?.column, 3) }
        XCTAssertThrowsError(try Template("first line\nsecond {oops")) { e in
            XCTAssertEqual(
                "\(e)",
                "bad template at line 2, column 8: '{' is never closed; write {{ for a literal brace\n  second {oops\n         ^"
            )
        }
    }

    func testRegexCaptures() throws {
        let r = try Regex(#"^Instruction:\s*(.+)"#)
        XCTAssertEqual(try r.firstCapture("Instruction:  Describe the sign."), "Describe the sign.")
        XCTAssertNil(try r.firstCapture("NO_INST"))
        XCTAssertEqual(try Regex(#"</think>\s*([\s\S]+)"#).firstCapture("<think>hm</think>\nA\nB"), "A\nB")
        XCTAssertEqual(try Regex(#"\d+"#).allCaptures("a1 b22 é333"), ["1", "22", "333"])
        XCTAssertThrowsError(try Regex("a(b")) { XCTAssertEqual(($0 as? Regex.CompileError)?.offset, 3) }
    }
}
