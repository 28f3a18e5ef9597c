import XCTest

@testable import Engine

final class ProgressTests: XCTestCase {
    func testTheShareIsOfRecordsFinishedNotBytesReadAhead() {
        // The reader has the whole (small) file, nothing is done yet: 0%, not 100%.
        XCTAssertEqual(ProgressLine.finishedShare(done: 0, read: 200, readFraction: 1), 0)
        XCTAssertEqual(ProgressLine.finishedShare(done: 50, read: 200, readFraction: 1), 0.25)
        // A quarter of a big file read (400 records), 100 finished: about 1/16 of the estimated 1,600.
        XCTAssertEqual(
            ProgressLine.finishedShare(done: 100, read: 400, readFraction: 0.25) ?? 0, 0.0625, accuracy: 1e-9)
        XCTAssertNil(ProgressLine.finishedShare(done: 3, read: 5, readFraction: nil), "a pipe: no share, no ETA")
        XCTAssertEqual(ProgressLine.finishedShare(done: 10, read: 10, readFraction: 0.5), 0.5)
    }
}
