import XCTest

@testable import RecordCore

final class JSONTests: XCTestCase {
    func parse(_ s: String) throws -> JSONValue { try JSONValue.parse(s) }

    func syntaxError(_ s: String) -> JSONSyntaxError? {
        do {
            _ = try parse(s)
            return nil
        } catch let e as JSONSyntaxError { return e } catch { return nil }
    }

    func testParsesAndWritesBackCompactly() throws {
        let text = #"{"a":1.50,"b":[true,false,null],"c":{"d":"é 中文 \"q\" \\ \n"},"e":-0.0,"f":1e-7}"#
        let v = try parse(text)
        XCTAssertEqual(JSONWriter.string(v), text, "numbers keep their text, non-ASCII stays UTF-8")
        XCTAssertEqual(v.value(at: try FieldPath(parsing: "c.d"))?.stringValue, "é 中文 \"q\" \\ \n")
        XCTAssertEqual(v.value(at: try FieldPath(parsing: "b[2]")), .null)
    }

    func testEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try parse(#""\u00e9\ud83d\ude00\t\/""#).stringValue, "é😀\t/")
        XCTAssertEqual(syntaxError(#""\ud83d""#)?.message.contains("unpaired surrogate"), true)
        XCTAssertEqual(syntaxError(#""\x""#)?.message, "invalid escape '\\x' in a string")
        var out: [UInt8] = []
        JSONWriter.writeString("a\u{01}b\u{7f}é", into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "\"a\\u0001b\u{7f}é\"")
    }

    func testSyntaxErrorsCarryOffsets() {
        XCTAssertEqual(syntaxError(#"{"a":1,}"#)?.offset, 7)
        XCTAssertEqual(syntaxError(#"{"a" 1}"#)?.message, "expected ':' after an object key, found '1'")
        XCTAssertEqual(syntaxError(#"{"a":01}"#)?.message, "invalid number: leading zero")
        XCTAssertEqual(syntaxError(#"{"a":tru}"#)?.message, "invalid literal; expected true")
        XCTAssertEqual(syntaxError(#"{"a":"x}"#)?.message, "unterminated string (no closing '\"')")
        XCTAssertEqual(
            syntaxError(#"{"a":'x'}"#)?.message,
            "unexpected ''' where a value was expected (strings need double quotes)")
        XCTAssertNotNil(syntaxError("{\"a\":\"tab\there\"}"), "raw control characters are not allowed in strings")
        XCTAssertEqual(syntaxError(#"{"a":1} x"#)?.message, "unexpected 'x' after the end of the JSON value")
    }

    func testNestingLimitInsteadOfStackOverflow() {
        let deep = String(repeating: "[", count: 100_000)
        XCTAssertEqual(syntaxError(deep)?.message, "nesting deeper than 512 levels")
    }

    func validate(_ bytes: [UInt8]) -> Error? {
        bytes.withUnsafeBufferPointer { b in
            do {
                try FieldExtractor.validateObject(b)
                return nil
            } catch { return error }
        }
    }

    func testUTF8Validation() {
        let ok = Array(#"{"k":"plain é 中 😀 and a long run of ascii text to cross sixteen byte blocks é"}"#.utf8)
        XCTAssertNil(validate(ok))
        let cases: [(String, [UInt8])] = [
            ("lone continuation", [0x80]),
            ("overlong slash", [0xC0, 0xAF]),
            ("overlong 3-byte", [0xE0, 0x80, 0xAF]),
            ("surrogate", [0xED, 0xA0, 0x80]),
            ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
            ("truncated", [0xE4, 0xB8]),
            ("invalid byte", [0xFF]),
        ]
        for (name, bad) in cases {
            for padding in [0, 20] {  // inside the 16-byte fast path and in the scalar tail
                let bytes =
                    Array("{\"k\":\"\(String(repeating: "a", count: padding))".utf8) + bad + Array("xyz\"}".utf8)
                let e = validate(bytes)
                XCTAssertTrue(e is UTF8Error, "\(name) with padding \(padding) gave \(String(describing: e))")
                if let u = e as? UTF8Error { XCTAssertEqual(u.offset, 6 + padding, name) }
            }
            // After valid non-ASCII text, in an earlier string and in the same one: the
            // line is checked as a whole there, and the careful walk still names the byte.
            let before = Array(#"{"a":"中文 😀","k":"é中"#.utf8)
            let e = validate(before + bad + Array("xyz\"}".utf8))
            XCTAssertTrue(e is UTF8Error, "\(name) after CJK gave \(String(describing: e))")
            if let u = e as? UTF8Error { XCTAssertEqual(u.offset, before.count, name) }
        }
    }

    func testFieldExtractorReadsOnlyRequestedFieldsButValidatesAll() throws {
        let paths = try ["scores.a", "scores", "list[1].x", "we\"ird", "missing.z"].map { try FieldPath(parsing: $0) }
        let x = FieldExtractor(paths: paths)
        var values = [JSONValue?](repeating: nil, count: paths.count)
        let line = Array(
            #"{"id":1,"scores":{"a":3,"b":5},"list":[{"x":1},{"x":"two"}],"we\"ird":true,"tail":[1,2,{"q":null}]}"#.utf8
        )
        try line.withUnsafeBufferPointer { try x.extract($0, into: &values) }
        XCTAssertEqual(values[0], .int(3))
        XCTAssertEqual(values[1]?.objectValue?.keys, ["a", "b"])
        XCTAssertEqual(values[2], .string("two"))
        XCTAssertEqual(values[3], .bool(true))
        XCTAssertNil(values[4])
        let broken = Array(#"{"scores":{"a":3},"tail":[1,2,}"#.utf8)
        XCTAssertThrowsError(try broken.withUnsafeBufferPointer { try x.extract($0, into: &values) }) { e in
            XCTAssertEqual((e as? JSONSyntaxError)?.offset, 30, "an error after the wanted fields is still found")
        }
        let array = Array("[1]".utf8)
        XCTAssertThrowsError(try array.withUnsafeBufferPointer { try x.extract($0, into: &values) }) { e in
            XCTAssertEqual((e as? JSONSyntaxError)?.message, "a record must be a JSON object ({...}), found '['")
        }
    }

    func testFastPathAgreesWithTheFullParse() throws {
        // Lone surrogates are refused by both.
        XCTAssertTrue(validate(Array(#"{"a":1,"b":"\ud800"}"#.utf8)) is JSONSyntaxError)
        XCTAssertTrue(validate(Array(#"{"b":"\udc00x"}"#.utf8)) is JSONSyntaxError)
        XCTAssertNil(validate(Array(#"{"b":"\ud83d\ude00"}"#.utf8)))
        // A key given twice: the first counts, in the scanner as in the parsed object.
        let paths = try ["a", "s.x", "s.y"].map { try FieldPath(parsing: $0) }
        let x = FieldExtractor(paths: paths)
        var values = [JSONValue?](repeating: nil, count: 3)
        let line = Array(#"{"a":1,"a":5,"s":{"x":1},"s":{"y":2}}"#.utf8)
        try line.withUnsafeBufferPointer { try x.extract($0, into: &values) }
        let full = try parse(String(decoding: line, as: UTF8.self))
        XCTAssertEqual(values[0], .int(1))
        XCTAssertEqual(values[0], full.value(at: paths[0]))
        XCTAssertEqual(values[1], full.value(at: paths[1]))
        XCTAssertNil(values[2])
        XCTAssertNil(full.value(at: paths[2]))
        // --unique keys: the type counts, the spelling of numbers does not.
        XCTAssertNotEqual(StableHash.uniqueKeyBytes(.string("1")), StableHash.uniqueKeyBytes(.int(1)))
        XCTAssertNotEqual(StableHash.uniqueKeyBytes(.string("null")), StableHash.uniqueKeyBytes(.null))
        XCTAssertEqual(
            StableHash.uniqueKeyBytes(try parse("[1.0,{\"k\":2.50}]")),
            StableHash.uniqueKeyBytes(try parse("[1,{\"k\":2.5}]")))
    }

    func testFieldPaths() throws {
        XCTAssertEqual(
            try FieldPath(parsing: #"a.b[2]["c.d"]"#).components, [.key("a"), .key("b"), .index(2), .key("c.d")])
        XCTAssertThrowsError(try FieldPath(parsing: "a..b")) { XCTAssertEqual(($0 as? FieldPathError)?.column, 3) }
        XCTAssertThrowsError(try FieldPath(parsing: "a[x]"))
        var v = try parse(#"{"a":{"b":1}}"#)
        try v.set(.string("x"), at: try FieldPath(parsing: "a.c.d"))
        XCTAssertEqual(JSONWriter.string(v), #"{"a":{"b":1,"c":{"d":"x"}}}"#)
        v.remove(at: try FieldPath(parsing: "a.b"))
        XCTAssertEqual(JSONWriter.string(v), #"{"a":{"c":{"d":"x"}}}"#)
        XCTAssertThrowsError(try v.set(.null, at: try FieldPath(parsing: "a.c.d.e")))
    }

    func testStableHashDoesNotChange() {
        // Shards must land in the same files on every machine and release.
        // FNV-1a 64 then SplitMix64's finalizer, computed independently in Python.
        XCTAssertEqual(StableHash.hash64(Array("oasis-0000001".utf8)), 0xCF3E_81FB_DA96_6504)
        XCTAssertEqual(StableHash.keyBytes(.int(3)), StableHash.keyBytes(try! parse("3.0")))
        var a = SeededRandom(seed: 7)
        var b = SeededRandom(seed: 7)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
    }
}
