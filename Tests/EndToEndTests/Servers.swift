import Foundation
import XCTest

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The local chat-completions test double (Tests/double/chat_double.py), for
/// faults a real server will not produce on demand.
final class ChatDouble {
    let process = Process()
    let port: Int
    let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("double-\(UUID().uuidString).log")
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    init(faults: String = "{}") throws {
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

    deinit {
        process.terminate()
        process.waitUntilExit()
    }

    /// The chat-completion requests the double saw, from its log file.
    func requests() throws -> [JSONObjectLike] {
        try allRequests().filter { $0.path == "/v1/chat/completions" }
    }

    func allRequests() throws -> [JSONObjectLike] {
        usleep(50_000)  // the log line is written just after the answer
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }.map(JSONObjectLike.init)
    }
}

/// A logged request, read loosely.
struct JSONObjectLike {
    let dict: [String: Any]
    init(_ d: [String: Any]) { dict = d }
    var body: [String: Any] { dict["body"] as? [String: Any] ?? [:] }
    var headers: [String: Any] { dict["headers"] as? [String: Any] ?? [:] }
    var path: String { dict["path"] as? String ?? "" }
    var action: String { dict["action"] as? String ?? "" }
}

/// The real llama.cpp server with SmolLM2-135M-Instruct, built once into the
/// cache by scripts/llama-server.sh; one per test class run.
final class LlamaServer {
    static let shared: Result<LlamaServer, Error> = Result { try LlamaServer() }
    let url: String
    var baseURL: String { url + "/v1" }
    let port: String

    private init() throws {
        // scripts/test.sh starts one server for the whole run and stops it afterwards.
        if let given = ProcessInfo.processInfo.environment["MMINF_TEST_LLAMA_URL"], !given.isEmpty {
            url = given
            port = String(given.split(separator: ":").last ?? "")
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [packageRoot.appendingPathComponent("scripts/llama-server.sh").path, "start"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(
                domain: "mminf", code: 1,
                userInfo: [
                    NSLocalizedDescriptionKey:
                        "scripts/llama-server.sh start failed (run scripts/llama-server.sh build)"
                ])
        }
        url = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        port = String(url.split(separator: ":").last ?? "")
        atexit {
            if case .success(let s) = LlamaServer.shared {
                let stop = Process()
                stop.executableURL = URL(fileURLWithPath: "/bin/bash")
                stop.arguments = [packageRoot.appendingPathComponent("scripts/llama-server.sh").path, "stop", s.port]
                stop.standardError = FileHandle.nullDevice
                try? stop.run()
                stop.waitUntilExit()
            }
        }
    }
}
