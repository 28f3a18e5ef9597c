import XCTest

@testable import RecordCore

/// Numbers compare by their exact decimal values, not by doubles.
final class ExactNumberTests: XCTestCase {
    func n(_ text: String) throws -> JSONNumber {
        guard case .number(let v) = try JSONValue.parse(text, keepNumberText: false) else {
            throw XCTSkip("not a number")
        }
        return v
    }

    func testIntegersBeyondDoublesCompareExactly() throws {
        XCTAssertNotEqual(try n("1234567890123456788"), try n("1234567890123456789"))
        XCTAssertEqual(JSONNumber.order(try n("1234567890123456788"), try n("1234567890123456789")), .orderedAscending)
        XCTAssertEqual(
            JSONNumber.order(try n("-1234567890123456788"), try n("-1234567890123456789")), .orderedDescending)
        XCTAssertEqual(try n("9007199254740993"), try n("9007199254740993"))
    }

    func testHugeAndTinyNumbersAreNotAllTheSame() throws {
        XCTAssertNotEqual(try n("1e400"), try n("1e999"))
        XCTAssertEqual(JSONNumber.order(try n("1e400"), try n("1e999")), .orderedAscending)
        XCTAssertNotEqual(try n("1e-400"), try n("0"))
        XCTAssertEqual(JSONNumber.order(try n("-1e-400"), try n("0")), .orderedAscending)
        XCTAssertNotEqual(try n("0.10000000000000001"), try n("0.1"))
    }

    func testSpellingsOfOneValueAreEqual() throws {
        for (a, b) in [("1", "1.0"), ("100", "1e2"), ("0.5", "5e-1"), ("0", "-0.0"), ("12.50", "1.25E1")] {
            XCTAssertEqual(try n(a), try n(b), "\(a) == \(b)")
            XCTAssertEqual(try n(a).exact?.canonical, try n(b).exact?.canonical, "\(a) ~ \(b)")
        }
        XCTAssertEqual(ExactDecimal("1.0")?.canonical, "0.1e1")
        XCTAssertNil(ExactDecimal("1e99999999999999999999"))
        XCTAssertNil(ExactDecimal("12a"))
    }

    func testUniqueKeysKeepBigIntegersApart() throws {
        let a = StableHash.uniqueKeyBytes(.number(try n("1234567890123456788")))
        let b = StableHash.uniqueKeyBytes(.number(try n("1234567890123456789")))
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(StableHash.uniqueKeyBytes(.number(try n("1"))), StableHash.uniqueKeyBytes(.number(try n("1.0"))))
    }
}

extension ExactNumberTests {
    func testNegationKeepsTheSpellingAndArithmeticIsExactAboutItself() throws {
        let big = try n("12345678901234567890")
        XCTAssertEqual(big.negated.text, "-12345678901234567890")
        XCTAssertEqual(JSONNumber.order(big.negated, try n("-12345678901234567890")), .orderedSame)
        let representable = try n("1234567890123456768")
        let sum = JSONNumber.computed(representable.value + 0)
        XCTAssertEqual(JSONNumber.order(representable, sum), .orderedSame, "n == n + 0 for a representable n")
        XCTAssertEqual(JSONNumber.order(JSONNumber.computed(0.1 * 1), try n("0.1")), .orderedSame)
    }
}
