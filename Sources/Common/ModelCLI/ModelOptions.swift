import ArgumentParser
import Engine
import Foundation
import Prompts
import RecordCore
import Requests
import ToolCLI

/// Where the model is: shared by every tool that calls one.
public struct ServerOptions: ParsableArguments {
    public init() {}

    @Option(
        name: .customLong("base-url"),
        help: ArgumentHelp(
            "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (repeatable: requests go to the one with the fewest in flight). Default: $MMINF_BASE_URL.",
            valueName: "URL"))
    public var baseURLs: [String] = []

    @Option(help: ArgumentHelp("Model name. Default: $MMINF_MODEL, else the server's only model.", valueName: "NAME"))
    public var model: String?

    @Option(
        help: ArgumentHelp(
            "Environment variable holding the API key (default: MMINF_API_KEY, then OPENAI_API_KEY). Keys are never taken from the command line.",
            valueName: "NAME"))
    public var apiKeyEnv: String?

    @Flag(help: "Reach the server(s), list their models, confirm --model, and exit.")
    public var check = false

    public func resolvedBaseURLs() throws -> [String] {
        var urls = baseURLs
        if urls.isEmpty, let env = ProcessInfo.processInfo.environment["MMINF_BASE_URL"], !env.isEmpty {
            urls = env.split(separator: ",").map(String.init)
        }
        guard !urls.isEmpty else {
            throw ToolError.usage(
                "no server: give --base-url URL or set MMINF_BASE_URL (e.g. http://127.0.0.1:8000/v1)")
        }
        for url in urls where !(url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://")) {
            throw ToolError.usage("--base-url \(url): give an http:// or https:// URL, e.g. http://127.0.0.1:8000/v1")
        }
        return urls.map(ServerPool.normalize)
    }

    /// `--check`: report on the servers and end the run (exit 0 when all is well).
    public func checkIfAsked(_ urls: [String], headers: [String]) throws {
        guard check else { return }
        let (report, ok) = ModelServer.check(baseURLs: urls, model: namedModel, headers: headers)
        print(report)
        throw ExitCode(ok ? 0 : 1)
    }

    public var namedModel: String? {
        if let model, !model.isEmpty { return model }
        let env = ProcessInfo.processInfo.environment["MMINF_MODEL"]
        return env?.isEmpty == false ? env : nil
    }

    /// The Authorization header, from the environment only.
    public func authHeaders() throws -> [String] {
        let env = ProcessInfo.processInfo.environment
        if let name = apiKeyEnv {
            guard let key = env[name], !key.isEmpty else {
                throw ToolError.usage("--api-key-env \(name): that environment variable is not set")
            }
            Secrets.register(key)
            return ["Authorization: Bearer \(key)"]
        }
        for name in ["MMINF_API_KEY", "OPENAI_API_KEY"] {
            if let key = env[name], !key.isEmpty {
                Secrets.register(key)
                return ["Authorization: Bearer \(key)"]
            }
        }
        return []
    }
}

/// Sampling settings, named as in the OpenAI and vLLM APIs.
public struct SamplingOptions: ParsableArguments {
    public init() {}

    @Option(help: "Sampling temperature.") public var temperature: Double?
    @Option(help: "Nucleus sampling: keep the smallest set of tokens with this much probability.") public var topP:
        Double?
    @Option(help: "Sample from the K most likely tokens (vLLM, llama.cpp).") public var topK: Int?
    @Option(help: "Drop tokens below this fraction of the top token's probability (vLLM, llama.cpp).") public var minP:
        Double?
    @Option(help: "Most tokens to generate.") public var maxTokens: Int?
    @Option(help: "Fewest tokens to generate before an end is allowed (vLLM).") public var minTokens: Int?
    @Option(help: "Repetition penalty (vLLM, llama.cpp).") public var repetitionPenalty: Double?
    @Option(help: "Frequency penalty.") public var frequencyPenalty: Double?
    @Option(help: "Presence penalty.") public var presencePenalty: Double?
    @Option(help: "Seed; sample i of -n uses seed + i.") public var seed: Int?
    @Option(help: ArgumentHelp("Stop string (repeatable).", valueName: "TEXT")) public var stop: [String] = []
    @Option(help: ArgumentHelp("Token biases as JSON, e.g. '{\"50256\": -100}'.", valueName: "JSON")) public
        var logitBias: String?
    @Option(
        help: ArgumentHelp(
            "JSON object merged into the request body last, for server-specific fields.", valueName: "JSON")) public
        var extra: String?

    public func validate() throws {
        let numbers: [(String, Double?)] = [
            ("--temperature", temperature), ("--top-p", topP), ("--min-p", minP),
            ("--repetition-penalty", repetitionPenalty), ("--frequency-penalty", frequencyPenalty),
            ("--presence-penalty", presencePenalty),
        ]
        for case (let name, let value?) in numbers where !value.isFinite {
            throw ValidationError("\(name) must be a number, got \(value)")
        }
        if let temperature, temperature < 0 { throw ValidationError("--temperature must be 0 or more") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if let minTokens, minTokens < 0 { throw ValidationError("--min-tokens must be 0 or more") }
        if let minTokens, let maxTokens, minTokens > maxTokens {
            throw ValidationError("--min-tokens \(minTokens) is more than --max-tokens \(maxTokens)")
        }
    }

    public func sampling() throws -> Sampling {
        var s = Sampling()
        s.temperature = temperature
        s.topP = topP
        s.topK = topK
        s.minP = minP
        s.maxTokens = maxTokens
        s.minTokens = minTokens
        s.repetitionPenalty = repetitionPenalty
        s.frequencyPenalty = frequencyPenalty
        s.presencePenalty = presencePenalty
        s.seed = seed
        s.stop = stop
        if let logitBias { s.logitBias = try SamplingOptions.json(logitBias, option: "--logit-bias", object: true) }
        if let extra { s.extra = try SamplingOptions.json(extra, option: "--extra", object: true).objectValue }
        return s
    }

    static func json(_ text: String, option: String, object: Bool) throws -> JSONValue {
        let v: JSONValue
        do { v = try JSONValue.parse(text) } catch let e as JSONSyntaxError {
            throw ToolError.usage("\(option): not JSON at column \(e.offset + 1): \(e.message)")
        }
        if object && v.objectValue == nil { throw ToolError.usage("\(option) needs a JSON object ({...})") }
        return v
    }
}

/// Which media go with requests, and from where.
public struct MediaOptions: ParsableArguments {
    public init() {}

    @Flag(help: "Do not send the record's media (for text-only models).")
    public var noMedia = false

    @Option(
        help: ArgumentHelp(
            "Folder that relative media paths are resolved against (default: the current folder).", valueName: "DIR"))
    public var mediaRoot: String?

    @Option(help: ArgumentHelp("Another field holding image paths or URLs (repeatable).", valueName: "FIELD"))
    public var mediaField: [String] = []

    @Option(help: ArgumentHelp("Largest media file sent; a larger one fails its record.", valueName: "BYTES"))
    public var maxMediaBytes = 64 << 20

    /// The loader, or nil with --no-media.
    public func loader() throws -> MediaLoader? {
        if let mediaRoot, !noMedia {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: mediaRoot, isDirectory: &isFolder), isFolder.boolValue else {
                throw ToolError.usage("--media-root \(mediaRoot): no such folder")
            }
        }
        return noMedia ? nil : MediaLoader(root: mediaRoot, maxBytes: maxMediaBytes, extraImageFields: mediaField)
    }
}

/// How requests are sent, retried, cached and reported.
public struct EngineOptionGroup: ParsableArguments {
    public init() {}

    @Option(help: "Requests in flight at once (enough to keep a vLLM batch full).") public var concurrency = 64
    @Option(help: "Retries of a request after connection errors, timeouts, 408/429/5xx.") public var retries = 5
    @Option(help: ArgumentHelp("Seconds before one request times out.", valueName: "S")) public var timeout = 600.0
    @Option(help: ArgumentHelp("Seconds to wait for a connection.", valueName: "S")) public var connectTimeout = 10.0
    @Option(help: ArgumentHelp("At most N requests started per second.", valueName: "N")) public var rps: Double?
    @Option(help: ArgumentHelp("At most N tokens (prompt + completion) per minute.", valueName: "N")) public var tpm:
        Double?
    @Option(
        help: ArgumentHelp(
            "Longest wait a server's Retry-After may ask for; past it the request is retried after S seconds.",
            valueName: "S"))
    public var maxRetryWait = 120.0
    @Option(
        help: ArgumentHelp("Largest answer read (bytes); a larger one fails its record.", valueName: "BYTES"))
    public var maxResponseBytes = 64 << 20
    @Flag(help: "Write records as answers arrive instead of in input order.") public var unordered = false
    @Option(
        help: ArgumentHelp(
            "Records that may wait for an earlier slow one before input pauses (default 8 x concurrency, at least 64).",
            valueName: "N")) public var window: Int?
    @Option(
        help: ArgumentHelp("SQLite response cache; rerunning with it replays finished requests.", valueName: "FILE"))
    public var cache: String?
    @Flag(help: "Replay what --cache holds and store nothing (a cache you may not write).")
    public var cacheReadOnly = false
    @Option(
        help: ArgumentHelp(
            "Where records that fail go, with the reason (default STEP.failed.jsonl).", valueName: "FILE")) public
        var failures: String?
    @Option(
        help: ArgumentHelp(
            "Failed records (a count, or a percentage of those read) that still end the run with status 0; more fail it.",
            valueName: "N|P%")) public var maxFailures = "0"
    @Option(help: ArgumentHelp("Write the final figures as JSON to FILE.", valueName: "FILE")) public var stats: String?
    @Option(help: ArgumentHelp("Seconds between progress lines on stderr (0: none).", valueName: "S")) public
        var progress = 10.0
    @Flag(help: "Do not record prompts and answers under history.<step>.") public var noHistory = false

    public func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard retries >= 0 else { throw ValidationError("--retries must be 0 or more") }
        // Between a millisecond and a week: libcurl counts milliseconds, and 0 would mean "no limit".
        guard timeout >= 0.001, timeout <= 604_800 else {
            throw ValidationError("--timeout must be from 0.001 to 604800 seconds, got \(timeout)")
        }
        guard connectTimeout >= 0.001, connectTimeout <= 604_800 else {
            throw ValidationError("--connect-timeout must be from 0.001 to 604800 seconds, got \(connectTimeout)")
        }
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
        // Limits so small that a run would wait for hours are mistakes, not settings.
        if let rps, !(rps.isFinite && rps >= 0.001) {
            throw ValidationError("--rps must be at least 0.001 (one request in 1000 s), got \(rps)")
        }
        if let tpm, !(tpm.isFinite && tpm >= 1) { throw ValidationError("--tpm must be at least 1, got \(tpm)") }
        guard progress >= 0, progress.isFinite else { throw ValidationError("--progress must be 0 or more seconds") }
        guard maxRetryWait >= 0, maxRetryWait <= 604_800 else {
            throw ValidationError("--max-retry-wait must be 0 or more seconds")
        }
        guard maxResponseBytes >= 1024 else { throw ValidationError("--max-response-bytes must be at least 1024") }
        _ = try failureBudget()
        if cacheReadOnly && cache == nil { throw ValidationError("--cache-read-only goes with --cache FILE") }
    }

    /// The files a model step writes besides its output, for RecordTool to claim and check at start.
    public func sideFiles(step: String) -> [(path: String, option: String)] {
        [(failures ?? "\(step).failed.jsonl", "--failures")] + (stats.map { [($0, "--stats")] } ?? [])
    }

    public func failureBudget() throws -> FailureBudget {
        do { return try FailureBudget(parsing: maxFailures) } catch let e as ToolError {
            throw ValidationError(e.message)
        }
    }

    /// The response cache, opened and proven writable (or read-only) before any request.
    public func openCache() throws -> ResponseCache? {
        try cache.map { try ResponseCache(path: $0, readOnly: cacheReadOnly) }
    }

    public func engineOptions(step: String, headers: [String]) -> EngineOptions {
        var o = EngineOptions()
        o.maxFailures = (try? failureBudget()) ?? .none  // validate() has checked it
        o.concurrency = concurrency
        o.retries = retries
        o.timeout = timeout
        o.connectTimeout = connectTimeout
        o.maxRetryWait = maxRetryWait
        o.maxResponseBytes = maxResponseBytes
        o.rps = rps
        o.tpm = tpm
        o.unordered = unordered
        o.window = window
        o.progressEvery = progress
        o.step = step
        o.failuresPath = failures
        o.statsPath = stats
        o.headers = headers
        return o
    }
}
