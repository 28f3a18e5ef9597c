import CUTF8
import XCTest

@testable import RecordCore

/// The scanner's UTF-8 checks against the standard library's, on strings built
/// from valid and invalid pieces at every position (the fast paths step over
/// 16 and 32 bytes at a time, so pieces land on every alignment).
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

/// The vectorised validator (C, AVX2 and SSSE3) against its plain C variant and
/// the standard library: every pair of bytes, every three-byte sequence over
/// the byte values where UTF-8's rules change, four-byte sequences, placed
/// across the 16- and 32-byte block edges and at the very end of the input.
final class VectorisedUTF8Tests: XCTestCase {
    /// Where validity can change: ASCII (one byte per high nibble the tables tell
    /// apart), the ends of the continuation ranges,
    /// every lead that has its own second-byte range, and bytes never allowed.
    static let edges: [UInt8] = [
        0x00, 0x10, 0x30, 0x41, 0x50, 0x61, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
        0xE1, 0xEC, 0xED,
        0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFE, 0xFF,
    ]
    /// Offsets in a 64-byte buffer: block starts, straddling 16 and 32, and the end.
    static let places = [0, 14, 15, 29, 30, 31]

    func answers(_ bytes: [UInt8]) -> [Bool] {
        bytes.withUnsafeBufferPointer { b in
            (0...2).map { mminf_utf8_valid_at_level(b.baseAddress, b.count, Int32($0)) != 0 }
        }
    }

    func check(_ piece: [UInt8], _ places: [Int] = places, file: StaticString = #filePath, line: UInt = #line) -> Int {
        var count = 0
        for at in places + [64 - piece.count] {
            var buffer = [UInt8](repeating: 0x61, count: 64)
            buffer.replaceSubrange(at..<(at + piece.count), with: piece)
            let expected = String(validating: buffer, as: UTF8.self) != nil
            let got = answers(buffer)
            if got != [expected, expected, expected] {
                XCTFail(
                    "\(piece.map { String($0, radix: 16) }) at \(at): \(got), expected \(expected)", file: file,
                    line: line)
                return count
            }
            count += 1
        }
        return count
    }

    func testThisMachineRunsTheWidestVariantItHas() throws {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        #if arch(x86_64)
            // Without AVX2 the tests below compare fewer variants: say so rather than pass quietly.
            guard cpu.contains(" avx2") else {
                throw XCTSkip("this CPU has no AVX2: the AVX2 variant is not tested here")
            }
            XCTAssertEqual(mminf_utf8_simd_level(), 2)
        #else
            XCTAssertEqual(mminf_utf8_simd_level(), 0)
        #endif
    }

    func testEveryPairOfBytes() {
        var valid = 0
        for a in 0...255 {
            for b in 0...255 {
                let piece = [UInt8(a), UInt8(b)]
                XCTAssertEqual(check(piece, [0, 15, 31]), 4)
                if String(validating: piece, as: UTF8.self) != nil { valid += 1 }
            }
        }
        // 128·128 ASCII pairs, 30·64 two-byte characters (C2..DF then 80..BF).
        XCTAssertEqual(valid, 128 * 128 + 30 * 64)
    }

    func testThreeBytesOverEveryLeadAndSecondByte() {
        var checked = 0
        for a in 0x80...0xFF {
            for b in 0...255 {
                for c in Self.edges { checked += check([UInt8(a), UInt8(b), c], [30]) }
            }
        }
        XCTAssertEqual(checked, 128 * 256 * Self.edges.count * 2)
    }

    func testFourBytes() {
        var checked = 0
        for a: UInt8 in [0xE0, 0xED, 0xEF, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xC2, 0x80] {
            for b in Self.edges {
                for c in Self.edges {
                    for d in Self.edges { checked += check([a, b, c, d], [13, 29, 30]) }
                }
            }
        }
        XCTAssertEqual(checked, 11 * Self.edges.count * Self.edges.count * Self.edges.count * 4)
    }

    /// Every lead and second byte followed by continuation bytes, so that a table bit
    /// wrongly set for one lead (F2 90 80 80 refused, say) shows on valid text too.
    func testEveryLeadAndSecondByteBeforeContinuations() {
        var checked = 0
        for a in 0x80...0xFF {
            for b in 0...255 {
                for tail: [UInt8] in [[0x80, 0x80], [0xBF, 0xBF], [0x8F, 0x41], [0x90, 0xA0]] {
                    checked += check([UInt8(a), UInt8(b)] + tail, [29])
                }
            }
        }
        XCTAssertEqual(checked, 128 * 256 * 4 * 2)
    }

    /// Every byte after each length of whole character: the pair (continuation byte,
    /// next byte) is otherwise only seen where the text is already invalid.
    func testEveryByteAfterAWholeCharacter() {
        var checked = 0
        for character: [UInt8] in [[0x41], [0xC3, 0xA9], [0xE4, 0xB8, 0xAD], [0xF0, 0x9F, 0x98, 0x82]] {
            for next in 0...255 { checked += check(character + [UInt8(next)], [0, 12, 28, 30]) }
        }
        XCTAssertEqual(checked, 4 * 256 * 5)
    }

    func testLengthsAroundTheBlockSizes() {
        // Every length up to 100 of Chinese and emoji text, whole and cut one byte short.
        let text = Array(String(repeating: "中文😀é a", count: 12).utf8)
        for n in 0...100 {
            let piece = Array(text.prefix(n))
            let expected = String(validating: piece, as: UTF8.self) != nil
            XCTAssertEqual(answers(piece), [expected, expected, expected], "first \(n) bytes")
        }
        XCTAssertEqual(answers([]), [true, true, true])
    }
}
