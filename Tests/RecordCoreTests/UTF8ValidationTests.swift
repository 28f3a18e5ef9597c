import XCTest

@testable import RecordCore

/// The scanner's UTF-8 checks against the standard library's, on strings built
/// from valid and invalid pieces at every position (the fast paths step over
/// 6 and 16 bytes at a time, so pieces land on every alignment).
final class UTF8ValidationTests: XCTestCase {
    func testTheScannerAgreesWithTheStandardLibrary() throws {
        let good: [[UInt8]] = [
            [0x61], [0x20], [0xC3, 0xA9], [0xE4, 0xB8, 0xAD], [0xF0, 0x9F, 0x98, 0x82], [0xE0, 0xA4, 0x85],
            [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF1, 0x80, 0x80, 0x80],
        ]
        let bad: [[UInt8]] = [
            [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF0, 0x80, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
            [0xFF], [0x80], [0xE4, 0xB8], [0xF0, 0x9F, 0x98], [0xC3], [0xF4, 0x90, 0x80, 0x80],
            [0xE4, 0xB8, 0xAD, 0xE4],
        ]
        var rng = SeededRandom(seed: 7)
        var checked = 0
        for _ in 0..<20_000 {
            var text: [UInt8] = []
            for _ in 0..<Int(rng.next() % 41) { text += good[Int(rng.next() % UInt64(good.count))] }
            if rng.next() % 10 < 4 {
                let at = text.isEmpty ? 0 : Int(rng.next() % UInt64(text.count + 1))
                text.insert(contentsOf: bad[Int(rng.next() % UInt64(bad.count))], at: at)
            }
            let line = Array(#"{"s":""#.utf8) + text + Array(#""}"#.utf8)
            let expected = String(validating: text, as: UTF8.self) != nil
            let accepted = (try? line.withUnsafeBufferPointer { try FieldExtractor.validateObject($0) }) != nil
            XCTAssertEqual(accepted, expected, "bytes \(text.map { String($0, radix: 16) })")
            checked += 1
        }
        XCTAssertEqual(checked, 20_000)
    }
}
