import Foundation
import XCTest

/// The package root, found from this file's path.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The local chat-completions test double (Tests/double/chat_double.py), for
/// faults a real server will not produce on demand.
public final class ChatDouble {
    public let process = Process()
    public let port: Int
    public let logFile = FileManager.default.temporaryDirectory.appendingPathComponent(
        "double-\(UUID().uuidString).log")
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public init(faults: String = "{}") throws {
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("double-\(UUID().uuidString).port")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", packageRoot.appendingPathComponent("Tests/double/chat_double.py").path,
            "--port", "0", "--port-file", portFile.path, "--faults", faults, "--log", logFile.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while Date() < deadline {
            if let s = try? String(contentsOf: portFile, encoding: .utf8),
                let p = Int(s.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                found = p
                break
            }
            usleep(50_000)
        }
        guard let found else {
            process.terminate()
            throw XCTSkip("the test double did not start")
        }
        port = found
    }

    /// A double whose answers follow `script` ([[REGEX, ANSWER], ...]: see the double's --help).
    public convenience init(script: [[String]]) throws {
        let faults = try JSONSerialization.data(withJSONObject: ["script": script])
        try self.init(faults: String(decoding: faults, as: UTF8.self))
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }

    /// The chat-completion requests the double saw, from its log file.
    public func requests() throws -> [JSONObjectLike] {
        try allRequests().filter { $0.path == "/v1/chat/completions" }
    }

    public func allRequests() throws -> [JSONObjectLike] {
        usleep(50_000)  // the log line is written just after the answer
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }.map(JSONObjectLike.init)
    }
}

/// A logged request, read loosely.
public struct JSONObjectLike {
    public let dict: [String: Any]
    public init(_ d: [String: Any]) { dict = d }
    public var body: [String: Any] { dict["body"] as? [String: Any] ?? [:] }
    public var headers: [String: Any] { dict["headers"] as? [String: Any] ?? [:] }
    public var path: String { dict["path"] as? String ?? "" }
    public var action: String { dict["action"] as? String ?? "" }
}

/// The real llama.cpp server with SmolLM2-135M-Instruct, built once into the
/// cache by scripts/llama-server.sh; one per test class run.
public final class LlamaServer {
    public static let shared: Result<LlamaServer, Error> = Result { try LlamaServer() }
    public let url: String
    public var baseURL: String { url + "/v1" }
    public let port: String

    private init() throws {
        // scripts/test.sh (and so CI) starts one server for the whole run and names it here;
        // without it these tests skip, saying why, rather than fail on a machine with no model.
        guard let given = ProcessInfo.processInfo.environment["MMINF_TEST_LLAMA_URL"], !given.isEmpty else {
            throw XCTSkip(
                "MMINF_TEST_LLAMA_URL is not set: run scripts/test.sh, or start a server with "
                    + "`scripts/llama-server.sh start` and export its URL")
        }
        url = given
        port = String(given.split(separator: ":").last ?? "")
    }
}

/// The HTTP status a GET of `url` answers (0 when nothing answers), asked with curl
/// so that the end-to-end tests need no library of mminf.
public func httpStatus(_ url: String) -> Int {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return 0 }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Int(String(decoding: data, as: UTF8.self)) ?? 0
}
