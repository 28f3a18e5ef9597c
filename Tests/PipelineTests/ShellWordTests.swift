import Foundation
import Pipeline
import XCTest

/// Whatever a value holds, bash reads its word back as exactly that value.
final class ShellWordTests: XCTestCase {
    /// What bash prints for each word, `printf '%s\0'`-separated.
    func bashReads(_ words: [String], env: [String: String] = [:]) throws -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "set -euo pipefail\nprintf '%s\\0' " + words.joined(separator: " ")]
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        p.currentDirectoryURL = FileManager.default.temporaryDirectory
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self).split(separator: "\0", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    static let hostile: [String] = [
        "plain", "two words", "it's", "\"double\"", "$(touch canary)", "`touch canary`", "${IFS}", "$HOME", "a;b",
        "a && b", "a|b", "*", "?", "[ab]", "~", "~/x", "-x", "--output=/tmp/x", "a\nb", "\t", "\r\n", "back\\slash",
        "trail\\", "'", "''", "\\'", "!", "!!", "#comment", "{a,b}", "a=b", "%s%n", "中文和emoji 🚲🌅", "\u{7F}",
        "\u{1}\u{1F}", "$'x'", "\\x41", "\\n", ")(", "<>", "&", "\u{2028}", String(repeating: "é'\"$", count: 2000),
        // A sign joined to a combining mark is one Character but still the sign to bash.
        "a'\u{301}; touch canary; echo '\u{301}", "$\u{301}(touch canary)", "`\u{301}touch canary`",
        "\u{600}`id`\u{301}",
    ]

    func testLiteralsComeBackByteForByte() throws {
        let words = Self.hostile.map { ShellWord(literal: $0).shell }
        XCTAssertEqual(try bashReads(words), Self.hostile)
        // Joined to an option, as the compiler writes them.
        XCTAssertEqual(
            try bashReads(Self.hostile.map { ShellWord(literal: $0).shell(after: "--prompt=") }),
            Self.hostile.map { "--prompt=" + $0 })
    }

    func testExpansionsAndTheirDefaults() throws {
        let mark = SourceMark(line: 1, column: 1)
        func word(_ s: String) throws -> String { try ShellWord.parse(s, file: "p.yaml", at: mark).shell }
        let words = try ["${A}", "x${A}y", "${B:-http://h:1/v1}", "${A:-unused}", "$${A}", "$A", "${A}${A}", "$$x"].map(
            word)
        XCTAssertEqual(
            try bashReads(words, env: ["A": "a b * $(id)"]),
            [
                "a b * $(id)", "xa b * $(id)y", "http://h:1/v1", "a b * $(id)", "${A}", "$A", "a b * $(id)a b * $(id)",
                "$$x",
            ])
        XCTAssertEqual(try word("plain/path.jsonl"), "plain/path.jsonl", "plain text stays readable")
        // A default is checked sign by sign, combining marks or not.
        XCTAssertThrowsError(try word("${M:-\u{600}`touch canary`\u{301}}")) { e in
            XCTAssertTrue("\(e)".contains("the default of ${M} holds '`'"), "\(e)")
        }
    }
}
