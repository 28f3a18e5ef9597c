import ArgumentParser
import Foundation
import RecordCore

extension BadLinePolicy: ExpressibleByArgument {}

/// Input, output and reporting options every record tool shares.
public struct IOOptions: ParsableArguments {
    public init() {}
    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Write records to FILE instead of stdout; a name ending in .zst is zstd-compressed.", valueName: "FILE"))
    public var output: String?

    @Flag(help: "Compress the output with zstd whatever its name.")
    public var zstd = false

    @Option(help: ArgumentHelp("zstd compression level (1-19).", valueName: "N"))
    public var level: Int = 3

    @Option(
        help: ArgumentHelp("Write every dropped record and bad line to FILE, each with the reason.", valueName: "FILE"))
    public var rejected: String?

    @Option(
        help: ArgumentHelp(
            "On a line that is not a JSON object: stop (default) or skip it to the reject stream.",
            valueName: "stop|skip"))
    public var badLines: BadLinePolicy = .stop

    @Flag(name: .shortAndLong, help: "Do not print the summary line on stderr.")
    public var quiet = false

    public func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be 1 to 19, got \(level)") }
    }
}

/// `--stats FILE` for the tools that call no model (mminf-gen and mminf-score have
/// their own, with the request figures).
public struct StatsOption: ParsableArguments {
    public init() {}
    @Option(help: ArgumentHelp("Write the final figures as JSON to FILE.", valueName: "FILE"))
    public var stats: String?
}

extension IOOptions {
    /// The plain settings the record core works with.
    public var settings: RecordToolSettings {
        var s = RecordToolSettings()
        s.output = output
        s.zstd = zstd
        s.level = level
        s.rejected = rejected
        s.badLines = badLines
        s.quiet = quiet
        return s
    }
}

extension RecordTool {
    public convenience init(
        name: String, files: [String], io: IOOptions, alsoWrites: [(path: String, option: String)] = [],
        stats: String? = nil
    ) throws {
        var settings = io.settings
        settings.alsoWrites = alsoWrites
        settings.stats = stats
        try self.init(name: name, files: files, io: settings)
    }
}
