import ArgumentParser
import Engine
import RecordCore
import XCTest

@testable import ModelCLI

final class ModelCLITests: XCTestCase {
    func withEnvironment(_ values: [String: String?], _ body: () throws -> Void) rethrows {
        var saved: [String: String?] = [:]
        for (k, v) in values {
            saved[k] = ProcessInfo.processInfo.environment[k]
            if let v { setenv(k, v, 1) } else { unsetenv(k) }
        }
        defer {
            for (k, v) in saved {
                if let v { setenv(k, v, 1) } else { unsetenv(k) }
            }
        }
        try body()
    }

    func testServersComeFromFlagsThenTheEnvironment() throws {
        try withEnvironment(["MMINF_BASE_URL": "http://a:1/v1/,http://b:2/v1"]) {
            XCTAssertEqual(try ServerOptions.parse([]).resolvedBaseURLs(), ["http://a:1/v1", "http://b:2/v1"])
            XCTAssertEqual(try ServerOptions.parse(["--base-url", "http://c/v1"]).resolvedBaseURLs(), ["http://c/v1"])
        }
        try withEnvironment(["MMINF_BASE_URL": nil]) {
            XCTAssertThrowsError(try ServerOptions.parse([]).resolvedBaseURLs()) { e in
                XCTAssertTrue("\(e)".contains("--base-url"), "\(e)")
            }
        }
    }

    func testTheKeyComesFromTheEnvironmentOnly() throws {
        try withEnvironment(["MY_KEY": "sk-test", "MMINF_API_KEY": nil, "OPENAI_API_KEY": nil]) {
            XCTAssertEqual(
                try ServerOptions.parse(["--api-key-env", "MY_KEY"]).authHeaders(), ["Authorization: Bearer sk-test"])
            XCTAssertEqual(try ServerOptions.parse([]).authHeaders(), [])
            XCTAssertThrowsError(try ServerOptions.parse(["--api-key-env", "NOT_SET_ANYWHERE"]).authHeaders())
        }
    }

    func testSamplingJSONErrorsNameTheOptionAndColumn() throws {
        XCTAssertThrowsError(try SamplingOptions.parse(["--logit-bias", "{\"1\": -100,}"]).sampling()) { e in
            XCTAssertTrue("\(e)".contains("--logit-bias: not JSON at column"), "\(e)")
        }
        XCTAssertThrowsError(try SamplingOptions.parse(["--extra", "[1]"]).sampling()) { e in
            XCTAssertTrue("\(e)".contains("--extra needs a JSON object"), "\(e)")
        }
        let s = try SamplingOptions.parse(["--temperature", "0.5", "--stop", "a", "--stop", "b"]).sampling()
        XCTAssertEqual(s.temperature, 0.5)
        XCTAssertEqual(s.stop, ["a", "b"])
    }

    func testEngineOptionsAreChecked() throws {
        XCTAssertThrowsError(try EngineOptionGroup.parse(["--concurrency", "0"]))
        XCTAssertThrowsError(try EngineOptionGroup.parse(["--timeout", "0"]))
        let o = try EngineOptionGroup.parse(["--concurrency", "8", "--unordered"]).engineOptions(step: "s", headers: [])
        XCTAssertEqual(o.concurrency, 8)
        XCTAssertTrue(o.unordered)
        XCTAssertEqual(o.step, "s")
    }
}
