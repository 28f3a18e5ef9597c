import XCTest

@testable import RecordCore

final class ReorderWindowTests: XCTestCase {
    func testReorderWindowKeepsOrderAndBoundsAdmission() {
        let w = ReorderWindow(capacity: 3)
        XCTAssertEqual([w.admit(), w.admit(), w.admit()], [0, 1, 2])
        XCTAssertNil(w.admit(), "full: the oldest is still out")
        var written: [[UInt8]] = []
        w.complete(2, [[2]])
        w.complete(1, [[1], [1]])
        w.drain { written.append($0) }
        XCTAssertEqual(written, [], "nothing before 0 is done")
        w.complete(0, [])
        w.drain { written.append($0) }
        XCTAssertEqual(written, [[1], [1], [2]])
        XCTAssertEqual(w.admit(), 3)
    }

}
