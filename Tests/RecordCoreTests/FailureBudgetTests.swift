import RecordCore
import XCTest

final class FailureBudgetTests: XCTestCase {
    func testCountsAndExactPercentages() throws {
        XCTAssertTrue(
            try FailureBudget(parsing: "2.3%").allows(failed: 2300, of: 100_000), "not 2,299 as a double says")
        XCTAssertFalse(try FailureBudget(parsing: "2.3%").allows(failed: 2301, of: 100_000))
        XCTAssertTrue(try FailureBudget(parsing: "1%").allows(failed: 0, of: 0))
        XCTAssertFalse(try FailureBudget(parsing: "1%").allows(failed: 1, of: 99))
        XCTAssertTrue(try FailureBudget(parsing: "10").allows(failed: 10, of: 11))
        XCTAssertFalse(try FailureBudget(parsing: "0").allows(failed: 1, of: 1_000_000))
        for bad in ["-1", "101%", "x", "1.5", "%", ""] {
            XCTAssertThrowsError(try FailureBudget(parsing: bad), bad)
        }
    }
}
