import Foundation
import RecordCore

/// The long options of one mminf tool, read from the tool itself
/// (`--experimental-dump-help`, swift-argument-parser's description of its
/// arguments), so the compiler never knows an option the tool lacks or
/// misses one it gained.
public struct ToolOptionTable {
    public struct Option {
        public let name: String
        public let isFlag: Bool
        public let isRepeating: Bool
        public let valueName: String?
        /// The value the tool uses when the option is not given, as its help shows it.
        public let defaultValue: String?
        public init(name: String, isFlag: Bool, isRepeating: Bool, valueName: String?, defaultValue: String? = nil) {
            self.name = name
            self.isFlag = isFlag
            self.isRepeating = isRepeating
            self.valueName = valueName
            self.defaultValue = defaultValue
        }
    }
    /// gen, score, filter or split.
    public let tool: String
    public let options: [String: Option]

    /// Options a pipeline step may not set: the compiler wires inputs and outputs,
    /// and these print or check instead of processing records.
    public static let reserved: Set<String> = [
        "output", "help", "version", "list-presets", "show-preset", "list-rubrics", "show-rubric", "check",
        "experimental-dump-help",
    ]

    public static let tools = ["gen", "score", "filter", "split"]

    public init(tool: String, options: [Option]) {
        self.tool = tool
        self.options = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Parses the JSON that `mminf-TOOL --experimental-dump-help` prints.
    public init(tool: String, dumpHelp: Data) throws {
        struct Dump: Decodable {
            struct Command: Decodable { let arguments: [Argument]? }
            struct Argument: Decodable {
                struct Name: Decodable {
                    let kind: String
                    let name: String
                }
                let kind: String
                let names: [Name]?
                let isRepeating: Bool?
                let valueName: String?
                let defaultValue: String?
            }
            let command: Command
        }
        let dump: Dump
        do { dump = try JSONDecoder().decode(Dump.self, from: dumpHelp) } catch {
            throw ToolError("mminf-\(tool) --experimental-dump-help: unreadable (\(error))", status: .unavailable)
        }
        var options: [Option] = []
        for a in dump.command.arguments ?? [] where a.kind != "positional" {
            guard let long = a.names?.first(where: { $0.kind == "long" })?.name else { continue }
            options.append(
                Option(
                    name: long, isFlag: a.kind == "flag", isRepeating: a.isRepeating ?? false, valueName: a.valueName,
                    defaultValue: a.defaultValue))
        }
        self.init(tool: tool, options: options)
    }

    /// Asks the installed tool: `mminf-TOOL` beside this executable, else on PATH.
    public static func load(tool: String, besides executable: String?) throws -> ToolOptionTable {
        let name = "mminf-\(tool)"
        var candidates: [String] = []
        if let executable { candidates.append((executable as NSString).deletingLastPathComponent + "/" + name) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(dir)/\(name)")
        }
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ToolError(
                "\(name) is not beside mminf-compile nor on PATH; the compiler reads each tool's options from the tool itself",
                status: .unavailable)
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["--experimental-dump-help"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ToolError(
                "\(path) --experimental-dump-help failed (exit \(p.terminationStatus))", status: .unavailable)
        }
        return try ToolOptionTable(tool: tool, dumpHelp: data)
    }

    /// The option names a step may set, sorted.
    public var settable: [String] { options.keys.filter { !Self.reserved.contains($0) }.sorted() }
}
