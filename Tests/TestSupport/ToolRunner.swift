import Foundation
import XCTest

/// Runs the built tools as a person would, capturing what they print.
public struct ToolRun {
    public var status: Int32
    public var stdout: Data
    public var stderr: String
    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var lines: [String] {
        out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

public enum Tools {
    /// The folder holding the executables: the test bundle sits beside them.
    public static let binDir: URL = {
        let bundle = Bundle(for: Marker.self).bundleURL
        for candidate in [
            bundle, bundle.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("mminf-filter").path) {
            return candidate
        }
        fatalError("cannot find the built tools near \(bundle.path); run `swift build` first")
    }()

    final class Marker {}
    /// Written by one reader thread, read after the group is done.
    final class Box: @unchecked Sendable { var data = Data() }

    public static func run(
        _ tool: String, _ args: [String], stdin: Data = Data(), cwd: URL? = nil, env: [String: String] = [:]
    ) throws -> ToolRun {
        Glibc.signal(SIGPIPE, SIG_IGN)  // a tool that ends before reading its input must not kill the test runner
        let p = Process()
        p.executableURL = binDir.appendingPathComponent(tool)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for k in ["MMINF_BASE_URL", "MMINF_MODEL", "MMINF_API_KEY", "OPENAI_API_KEY"] { environment[k] = nil }
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        if let cwd { p.currentDirectoryURL = cwd }
        let inPipe = Pipe()
        let outPipe = Pipe()
        let errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        // Feed stdin and drain both outputs concurrently so no pipe fills up.
        let group = DispatchGroup()
        let out = Box()
        let err = Box()
        DispatchQueue.global().async(group: group) { out.data = outPipe.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { err.data = errPipe.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) {
            try? inPipe.fileHandleForWriting.write(contentsOf: stdin)
            try? inPipe.fileHandleForWriting.close()
        }
        p.waitUntilExit()
        group.wait()
        return ToolRun(status: p.terminationStatus, stdout: out.data, stderr: String(decoding: err.data, as: UTF8.self))
    }

    public static func run(_ tool: String, _ args: [String], input: String, env: [String: String] = [:]) throws
        -> ToolRun
    {
        try run(tool, args, stdin: Data(input.utf8), env: env)
    }
}

/// A scratch folder per test case.
open class ToolTestCase: XCTestCase {
    public var dir: URL!

    open override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mminf-e2e-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    open override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    public func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A subfolder holding a copy of examples/ (the pipelines name their inputs from the repository root).
    public func folderWithExamples(_ name: String) throws -> URL {
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: packageRoot.appendingPathComponent("examples"), to: folder.appendingPathComponent("examples"))
        return folder
    }

    /// `n` JSONL records holding only an `id`, 0 to n-1.
    public func idRecords(_ n: Int) -> String {
        (0..<n).map { #"{"id": \#($0)}"# }.joined(separator: "\n") + "\n"
    }

    public func read(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: dir.appendingPathComponent(name)), as: UTF8.self)
    }

    public func zstd(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
        p.arguments = ["-q", "-f"] + args
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "zstd \(args)")
    }

    /// No crash report of any kind on stderr.
    public func assertNoCrash(_ r: ToolRun, file: StaticString = #filePath, line: UInt = #line) {
        for marker in ["Fatal error", "Stack dump", "Current stack trace", "Illegal instruction", "Segmentation"] {
            XCTAssertFalse(r.stderr.contains(marker), "stderr shows a crash: \(r.stderr)", file: file, line: line)
        }
        XCTAssertLessThan(r.status, 128, "killed by a signal", file: file, line: line)
    }
}

/// A tool running in the background, for tests that signal it or feed it slowly.
public final class RunningTool {
    public let process = Process()
    public let stdin = Pipe()
    public let stdout = Pipe()
    let errFile: URL

    /// `stdoutPath` nil: stdout is a pipe the test reads (or leaves full) through `stdout`.
    public init(_ tool: String, _ args: [String], stdoutPath: String? = nil, env: [String: String] = [:]) throws {
        Glibc.signal(SIGPIPE, SIG_IGN)  // feeding a tool that has ended must fail the test, not kill the test runner
        process.executableURL = Tools.binDir.appendingPathComponent(tool)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for k in ["MMINF_BASE_URL", "MMINF_MODEL", "MMINF_API_KEY", "OPENAI_API_KEY"] { environment[k] = nil }
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        process.standardInput = stdin
        if let stdoutPath {
            FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        } else {
            process.standardOutput = stdout
        }
        errFile = FileManager.default.temporaryDirectory.appendingPathComponent("tool-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errFile.path)
        try process.run()
    }

    public func feed(_ text: String) { try? stdin.fileHandleForWriting.write(contentsOf: Data(text.utf8)) }
    public func closeInput() { try? stdin.fileHandleForWriting.close() }
    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// The exit status, or nil if it is still running after `seconds`.
    public func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    public var stderr: String { (try? String(contentsOf: errFile, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: errFile)
    }
}

extension Tools {
    /// Runs a bash script (`set -euo pipefail`) as a user would type it: the built
    /// tools first on PATH, MMINF_BASE_URL set to `baseURL` (or unset), in `folder`.
    public static func shell(
        _ script: String, in folder: URL, baseURL: String? = nil, env extra: [String: String] = [:]
    )
        throws -> ToolRun
    {
        Glibc.signal(SIGPIPE, SIG_IGN)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "set -euo pipefail\n" + script]
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = binDir.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        for k in ["MMINF_BASE_URL", "MMINF_MODEL", "MMINF_API_KEY", "OPENAI_API_KEY"] { env[k] = nil }
        if let baseURL { env["MMINF_BASE_URL"] = baseURL }
        for (k, v) in extra { env[k] = v }
        p.environment = env
        p.currentDirectoryURL = folder
        p.standardInput = FileHandle.nullDevice
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let group = DispatchGroup()
        let o = Box()
        let e = Box()
        DispatchQueue.global().async(group: group) { o.data = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { e.data = err.fileHandleForReading.readDataToEndOfFile() }
        p.waitUntilExit()
        group.wait()
        return ToolRun(status: p.terminationStatus, stdout: o.data, stderr: String(decoding: e.data, as: UTF8.self))
    }
}

extension Tools {
    /// The records of an output file (zstd or not), with history's timing fields
    /// (latency_ms, attempts, created) left out: what two runs of one pipeline share.
    public static func recordsWithoutTiming(_ file: URL) throws -> [NSDictionary] {
        let r = try run("mminf-filter", ["-q", "true", file.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        func strip(_ v: Any) -> Any {
            if let d = v as? [String: Any] {
                return d.filter { !["latency_ms", "attempts", "created"].contains($0.key) }.mapValues(strip)
            }
            if let a = v as? [Any] { return a.map(strip) }
            return v
        }
        return try r.lines.map {
            NSDictionary(
                dictionary: strip(try JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:])
        }
    }
}

extension ToolRun {
    /// Each output line parsed as a JSON object (lines that are not are left out).
    public var records: [[String: Any]] {
        lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }
}

/// A scratch folder and one test double per test case. XCTest keeps every test
/// case object to the end of the run, so the double is let go of in tearDown.
open class DoubleTestCase: ToolTestCase {
    public var double: ChatDouble!

    open override func tearDown() {
        double = nil
        super.tearDown()
    }
}
