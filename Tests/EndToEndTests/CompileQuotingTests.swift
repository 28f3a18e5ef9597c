import Foundation
import TestSupport
import XCTest

/// Quoting is the security boundary of compiled pipelines: hostile values in
/// prompts, stop strings, model names, field names and paths run no command,
/// become no option, and reach the request or the file system byte for byte.
final class CompileQuotingTests: ToolTestCase {
    /// Values meant literally. A `${` in them is written `$${` in the YAML (the
    /// documented way to say a literal `${`).
    static let hostile: [String] = [
        "$(touch canary)", "`touch canary`", "$(touch${IFS}canary)", "';touch canary;'", "\";touch canary;\"",
        "a; touch canary", "a && touch canary", "a || touch canary", "a | tee canary", "> canary", "< /etc/passwd",
        "a\ntouch canary", "a\r\ntouch canary", "\\\ntouch canary", "*", "?", "[a-z]*", "~", "~root", "-x",
        "--output=/tmp/x",
        "--", "-", "${IFS}", "${HOME:-x}", "$HOME", "$((1+1))", "$'\\x41'", "!!", "!$", "#not a comment", "{a,b}",
        "a=b", "%s %n %%", "it's", "\"quoted\"", "back\\slash\\", "\t tab", "中文提示：描述这张图片。", "emoji 🚲🌅👩‍👩‍👧",
        "\u{7F}\u{1}\u{1B}[31m", "\u{2028}line\u{2029}", "ends with space ", " starts with space", "$", "$$",
        String(repeating: "长的'\"$`\\ ", count: 8_000),  // 96 KB, under the 128 KB a single argument may hold
    ]

    /// A YAML double-quoted scalar holding exactly `s`: YAML allows no raw control characters, and
    /// folds its line breaks (U+0085, U+2028, U+2029 among them), so those are escaped.
    func yamlString(_ s: String) throws -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u == "\u{2028}" || u == "\u{2029}":
                out += String(format: "\\u%04X", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    func literal(_ s: String) -> String { s.replacingOccurrences(of: "${", with: "$${") }

    func testHostileValuesRunNothingAndArriveByteForByte() throws {
        XCTAssertGreaterThanOrEqual(Self.hostile.count, 40)
        let double = try ChatDouble()
        var models = ""
        var steps = ""
        // Template-free values also go into the prompt ({ } and \ are template syntax there).
        func promptSafe(_ v: String) -> Bool { !v.contains { "{}\\".contains($0) } }
        // Field names: no path syntax; paths: no folder separator.
        func fieldSafe(_ v: String) -> Bool {
            !v.isEmpty && !v.contains { ".[]".contains($0) } && v.utf8.count < 1000
        }
        func pathSafe(_ v: String) -> Bool { !v.contains("/") && v.utf8.count < 200 }
        for (i, v) in Self.hostile.enumerated() {
            models += "  m\(i): {base_url: \(try yamlString(double.baseURL)), model: \(try yamlString(literal(v)))}\n"
            var opts = "model: m\(i), no_media: true, stop: [\(try yamlString(literal(v)))], max_tokens: 5"
            opts += ", prompt: " + (try yamlString("Q\(i) " + (promptSafe(v) ? literal(v) : "x")))
            if fieldSafe(v) { opts += ", out: \(try yamlString(literal("f\(i)" + v)))" } else { opts += ", out: f\(i)" }
            if pathSafe(v) { opts += ", stats: \(try yamlString(literal("st\(i)" + v)))" }
            steps += "  - s\(i): {gen: {\(opts)}}\n"
        }
        try write("in.jsonl", "{\"id\": 1}\n")
        try write("h.yaml", "pipeline: h\ninput: in.jsonl\nmodels:\n" + models + "steps:\n" + steps)
        let compiled = try Tools.run("mminf-compile", ["h.yaml", "-o", "h.sh"], cwd: dir)
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        let check = try Tools.shell("shellcheck h.sh 2>&1", in: dir)
        XCTAssertEqual(check.status, 0, String(check.out.prefix(3000)))
        let run = try Tools.shell("./h.sh", in: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("canary")), "a value ran a command")

        let requests = try double.requests()
        XCTAssertEqual(requests.count, Self.hostile.count)
        // Steps run in order on one record, so request i is step i.
        let ordered = requests.sorted {
            let a = (($0.body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            let b = (($1.body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            return Int(a.dropFirst().prefix { $0.isNumber }) ?? 0 < Int(b.dropFirst().prefix { $0.isNumber }) ?? 0
        }
        let record = try XCTUnwrap(run.records.first)
        for (i, v) in Self.hostile.enumerated() {
            let body = ordered[i].body
            XCTAssertEqual(body["model"] as? String, v, "model name \(i)")
            XCTAssertEqual(body["stop"] as? [String], [v], "stop string \(i)")
            let prompt = ((body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            XCTAssertEqual(prompt, "Q\(i) " + (promptSafe(v) ? v : "x"), "prompt \(i)")
            if fieldSafe(v) { XCTAssertNotNil(record["f\(i)" + v], "field \(i): \(v.prefix(40))") }
            if pathSafe(v) {
                XCTAssertTrue(FileManager.default.fileExists(atPath: path("st\(i)" + v)), "stats path \(i): \(v)")
            }
        }

        // make passes a recipe to bash as one argument (128 KB at most): the 96 KB value is refused, clearly.
        let tooLong = try Tools.run("mminf-compile", ["--make", "h.yaml", "-o", "Makefile"], cwd: dir)
        XCTAssertEqual(tooLong.status, 64)
        XCTAssertTrue(tooLong.stderr.contains("more than the 128 KB make may pass to the shell"), tooLong.stderr)
        XCTAssertTrue(
            tooLong.stderr.contains(
                "h.yaml:\(2 * Self.hostile.count + 4):5: --make: step 's\(Self.hostile.count - 1)' is "),
            "names the file, line and step: \(tooLong.stderr)")
        // The others go through make's own `$` and line rules to the same requests.
        let short = Self.hostile.indices.filter { Self.hostile[$0].utf8.count < 1000 }
        let shortSteps = steps.split(separator: "\n").enumerated().filter { short.contains($0.offset) }
            .map { String($0.element) }.joined(separator: "\n")
        try write("m.yaml", "pipeline: h\ninput: in.jsonl\nmodels:\n" + models + "steps:\n" + shortSteps + "\n")
        XCTAssertEqual(try Tools.run("mminf-compile", ["--make", "m.yaml", "-o", "Makefile"], cwd: dir).status, 0)
        let made = try Tools.shell("rm -rf .mminf && make -s", in: dir)
        XCTAssertEqual(made.status, 0, made.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("canary")), "a value ran a command under make")
        let again = try double.requests().dropFirst(Self.hostile.count)
        XCTAssertEqual(again.count, short.count)
        func key(_ r: JSONObjectLike) -> String {
            let b = r.body
            let prompt = ((b["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            return "\(b["model"] as? String ?? "")\u{0}\((b["stop"] as? [String]) ?? [])\u{0}\(prompt)"
        }
        let (viaMake, viaSh) = (Set(again.map(key)), Set(short.map { key(ordered[$0]) }))
        XCTAssertEqual(
            viaMake, viaSh,
            "make sent what the sh target did not: \(viaMake.subtracting(viaSh).map { String($0.prefix(80)) }); "
                + "the sh target sent what make did not: \(viaSh.subtracting(viaMake).map { String($0.prefix(80)) })")
    }

    func testExpansionsAreTheOnlyOnes() throws {
        let double = try ChatDouble()
        try write("in.jsonl", "{\"id\": 1}\n")
        try write(
            "e.yaml",
            """
            pipeline: e
            input: in.jsonl
            env: {GREETING: "hello $(touch canary) ${HOME}"}
            models:
              m: {base_url: "${DOUBLE_URL}", model: "${MODEL_NAME:-fallback-model}"}
            steps:
              - a: {gen: {model: m, prompt: hi, no_media: true, max_tokens: 5, stop: ["${GREETING}", "${IFS}", "$${IFS}"]}}
            """)
        let compiled = try Tools.run("mminf-compile", ["e.yaml", "-o", "e.sh"], cwd: dir)
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        XCTAssertEqual(try Tools.shell("shellcheck e.sh", in: dir).status, 0)
        // With a MODEL_NAME that tries to become an option and a command.
        let run = try Tools.shell(
            "./e.sh", in: dir,
            env: ["DOUBLE_URL": double.baseURL, "MODEL_NAME": "--output=x $(touch canary)"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("canary")))
        let body = try XCTUnwrap(try double.requests().first?.body)
        XCTAssertEqual(body["model"] as? String, "--output=x $(touch canary)")
        // The env default is literal text; ${IFS} is bash's own; $${ is a literal ${.
        XCTAssertEqual(body["stop"] as? [String], ["hello $(touch canary) ${HOME}", " \t\n", "${IFS}"])
        // Unset, the model falls back to its default.
        _ = try double.requests()
        let again = try Tools.shell("rm -f .mminf/e.sqlite; ./e.sh", in: dir, env: ["DOUBLE_URL": double.baseURL])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try double.requests().last?.body["model"] as? String, "fallback-model")
    }
}
