import Foundation

/// Settings of the request loop (docs/gen.md, "Engine").
public struct EngineOptions {
    public var concurrency = 64
    public var retries = 5
    public var timeout = 600.0
    public var connectTimeout = 10.0
    public var rps: Double?
    public var tpm: Double?
    public var unordered = false
    /// Records between the oldest unwritten one and the newest admitted.
    public var window: Int?
    public var progressEvery = 10.0
    public var step = "gen"
    public var failuresPath: String?
    public var statsPath: String?
    public var headers: [String] = []
    public var backoffBase = 0.5
    public var backoffCap = 30.0
    public init() {}
}

/// One request a record needs.
public struct PlannedCall {
    public var path: String
    public var body: [UInt8]
    /// nil: never cached.
    public var cacheKey: String?
    /// The path is below the server's root (`/completion`), not below `/v1`.
    public var fromRoot = false

    public init(path: String, body: [UInt8], cacheKey: String?, fromRoot: Bool = false) {
        self.path = path
        self.body = body
        self.cacheKey = cacheKey
        self.fromRoot = fromRoot
    }
}

/// A call's answer and the facts of the call that produced it. Replayed from
/// the cache, the facts are the original call's, so a resumed run writes the
/// same records as an uninterrupted one.
public struct CallResult {
    public var answer: ChatAnswer?
    /// Why there is no answer (the reply was JSON but said nothing usable).
    public var problem: String?
    public var latencyMs: Int
    public var attempts: Int
    public var created: Double
    public var cached: Bool

    /// The answer, or the record fails with what was wrong with the reply.
    public func readAnswer() throws -> ChatAnswer {
        guard let answer else { throw RecordError.message(problem ?? "the server's answer could not be read") }
        return answer
    }

    /// `{"reply": <the server's body as received>, "latency_ms": …, "attempts": …, "created": …}`
    static func cacheEntry(body: [UInt8], latencyMs: Int, attempts: Int, created: Double) -> [UInt8] {
        var out: [UInt8] = Array(#"{"reply":"#.utf8)
        out.append(contentsOf: body)
        out.append(contentsOf: #","latency_ms":\#(latencyMs),"attempts":\#(attempts),"created":"#.utf8)
        out.append(contentsOf: JSONWriter.format(created).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }

    init(answer: ChatAnswer?, problem: String?, latencyMs: Int, attempts: Int, created: Double, cached: Bool) {
        self.answer = answer
        self.problem = problem
        self.latencyMs = latencyMs
        self.attempts = attempts
        self.created = created
        self.cached = cached
    }

    init?(cacheEntry bytes: [UInt8]) {
        guard let v = try? JSONValue.parse(bytes: bytes), let o = v.objectValue, let reply = o["reply"] else {
            return nil
        }
        do {
            answer = try ChatAnswer(reply)
            problem = nil
        } catch {
            answer = nil
            problem = "\(error)"
        }
        latencyMs = Int(o["latency_ms"]?.doubleValue ?? 0)
        attempts = Int(o["attempts"]?.doubleValue ?? 1)
        created = o["created"]?.doubleValue ?? 0
        cached = true
    }
}

/// Set by SIGINT/SIGTERM; the loop checks it between polls.
nonisolated(unsafe) var receivedSignal: Int32 = 0

/// The request loop every model-calling tool shares: reads records lazily,
/// keeps `concurrency` requests in flight over libcurl's multi interface,
/// retries what can be retried, replays the cache, and writes results in
/// input order through a bounded window.
public final class InferenceEngine {
    let tool: RecordTool
    let servers: ServerPool
    let cache: ResponseCache?
    let options: EngineOptions
    let multi: HTTPMulti
    var failures: RejectStream?
    var rng = SystemRandomNumberGenerator()

    final class Item {
        let seq: Int
        let source: String
        let line: Int
        let raw: [UInt8]
        let record: JSONValue
        var results: [CallResult?]
        var remaining: Int
        var failure: (reason: String, status: Int, attempts: Int)?
        init(seq: Int, source: String, line: Int, raw: [UInt8], record: JSONValue, calls: Int) {
            self.seq = seq
            self.source = source
            self.line = line
            self.raw = raw
            self.record = record
            results = Array(repeating: nil, count: calls)
            remaining = calls
        }
    }

    final class Call {
        let item: Item
        let index: Int
        let planned: PlannedCall
        var attempts = 0
        var server = 0
        var lastError = ""
        var lastStatus = 0
        var firstSent: Date?
        init(item: Item, index: Int, planned: PlannedCall) {
            self.item = item
            self.index = index
            self.planned = planned
        }
    }

    var ready: [Call] = []
    var readyHead = 0
    var waiting: [(due: Date, call: Call)] = []
    var openItems = 0
    var window: ReorderWindow
    var rateTokens: Double
    var lastRefill = Date()
    var tokenLog: [(Date, Int)] = []
    var lastProgress = Date()
    let started = Date()
    var inputDone = false
    var inputStalled = false
    var wroteSinceFlush = false
    var lastFlush = Date()
    var stopError: Error?

    public init(tool: RecordTool, servers: ServerPool, cache: ResponseCache?, options: EngineOptions) {
        self.tool = tool
        self.servers = servers
        self.cache = cache
        self.options = options
        self.multi = HTTPMulti(maxConnections: options.concurrency)
        self.window = ReorderWindow(
            capacity: options.unordered ? Int.max / 2 : (options.window ?? max(64, options.concurrency * 8)))
        self.rateTokens = options.rps ?? 0
        tool.summary.callsModel = true
    }

    /// Runs every record: `plan` says which calls a record needs, `finish`
    /// turns their answers into output records.
    public func run(
        plan: (JSONValue) throws -> [PlannedCall],
        finish: (JSONValue, [CallResult]) throws -> [JSONValue]
    ) throws {
        InferenceEngine.installSignalHandlers()
        defer { try? failures?.close() }
        while true {
            if receivedSignal != 0 { try interrupt() }
            try admit(plan: plan, finish: finish)
            dispatch()
            let done = multi.poll(timeoutMs: pollTimeout())
            for t in done { try handle(t, finish: finish) }
            promoteDueRetries()
            progress(final: false)
            try flushWhenIdle()
            if inputDone && openItems == 0 && multi.inFlight == 0 { break }
        }
        try window.drain { try write($0) }
        progress(final: true)
        try writeStats()
        if let stopError { throw stopError }
        if tool.summary.failed > 0 {
            let f = failuresPath
            throw ToolError(
                "\(tool.summary.failed) record\(tool.summary.failed == 1 ? "" : "s") failed; they are in \(f) with the reasons (rerun them with the same --cache to keep what succeeded)",
                status: .recordsFailed)
        }
    }

    var failuresPath: String { options.failuresPath ?? "\(options.step).failed.jsonl" }

    /// A line that is not a record. With --bad-lines stop, reading ends here but what
    /// is in flight is finished and written first, then the error ends the run.
    func badLine(_ line: InputLine, _ error: Error) throws {
        do { try tool.badLine(line, error) } catch let e as BadLineError {
            stopError = e
            inputDone = true
        }
    }

    /// Records read but not yet written: bounded in --unordered mode too.
    var openLimit: Int { options.window ?? max(64, options.concurrency * 8) }

    // MARK: - Reading records

    func admit(plan: (JSONValue) throws -> [PlannedCall], finish: (JSONValue, [CallResult]) throws -> [JSONValue])
        throws
    {
        // Read ahead only as far as the requests can go out (those waiting to be retried
        // count too); cache hits complete at once. Never wait for input while requests
        // are out: a slow producer upstream must not stall answers already arriving.
        inputStalled = false
        while !inputDone && multi.inFlight + (ready.count - readyHead) + waiting.count < options.concurrency
            && !window.isFull && openItems < openLimit
        {
            let busy = multi.inFlight > 0 || openItems > 0
            let line: InputLine
            switch try tool.input.poll(wait: busy ? 0 : 0.1) {
            case .end:
                inputDone = true
                continue
            case .notReady:
                inputStalled = true
                return
            case .ready(let l): line = l
            }
            tool.summary.recordsIn += 1
            let record: JSONValue
            let calls: [PlannedCall]
            do {
                record = try parseRecord(line.bytes)
                calls = try plan(record)
            } catch let e as JSONSyntaxError {
                try badLine(line, e)
                continue
            } catch let e as UTF8Error {
                try badLine(line, e)
                continue
            } catch let e as RecordError {
                // A record the prompt cannot be rendered for fails by itself; the run goes on.
                let seq = window.admit()!
                let item = Item(
                    seq: seq, source: line.source, line: line.number, raw: Array(line.bytes), record: .null, calls: 0)
                item.failure = (e.description, 0, 0)
                openItems += 1
                try complete(item, finish: finish)
                continue
            }
            let seq = window.admit()!
            let item = Item(
                seq: seq, source: line.source, line: line.number, raw: Array(line.bytes), record: record,
                calls: calls.count)
            openItems += 1
            for (i, c) in calls.enumerated() {
                if let key = c.cacheKey, let cache, let bytes = try cache.get(key),
                    let hit = CallResult(cacheEntry: bytes)
                {
                    tool.summary.cacheHits += 1
                    item.results[i] = hit
                    item.remaining -= 1
                } else {
                    ready.append(Call(item: item, index: i, planned: c))
                }
            }
            if item.remaining == 0 { try complete(item, finish: finish) }
        }
        if readyHead > 1024 && readyHead * 2 > ready.count {
            ready.removeFirst(readyHead)
            readyHead = 0
        }
    }

    // MARK: - Sending

    func dispatch() {
        let now = Date()
        refillRate(now)
        while readyHead < ready.count && multi.inFlight < options.concurrency {
            if options.rps != nil && rateTokens < 1 { break }
            if let tpm = options.tpm, tokensInLastMinute(now) >= Int(tpm) { break }
            guard let server = servers.pick(now: now) else { break }
            let call = ready[readyHead]
            readyHead += 1
            if options.rps != nil { rateTokens -= 1 }
            send(call, server: server)
        }
    }

    func send(_ call: Call, server: Int) {
        call.attempts += 1
        call.server = server
        if call.firstSent == nil { call.firstSent = Date() }
        servers.began(server)
        tool.summary.requests += 1
        let base = servers.servers[server].baseURL
        _ = multi.start(
            url: (call.planned.fromRoot ? HookProbe.root(of: base) : base) + call.planned.path, body: call.planned.body,
            headers: options.headers, timeoutMs: Int(options.timeout * 1000),
            connectTimeoutMs: Int(options.connectTimeout * 1000), context: call)
    }

    func refillRate(_ now: Date) {
        guard let rps = options.rps else { return }
        rateTokens = min(max(1, rps), rateTokens + now.timeIntervalSince(lastRefill) * rps)
        lastRefill = now
    }

    func tokensInLastMinute(_ now: Date) -> Int {
        let cutoff = now.addingTimeInterval(-60)
        while let first = tokenLog.first, first.0 < cutoff { tokenLog.removeFirst() }
        return tokenLog.reduce(0) { $0 + $1.1 }
    }

    func pollTimeout() -> Int {
        // Waiting on a pipe that has no complete line yet: look again soon.
        var ms = inputStalled ? 20 : 100
        if let due = waiting.first?.due { ms = min(ms, max(0, Int(due.timeIntervalSinceNow * 1000))) }
        if readyHead < ready.count && options.rps != nil { ms = min(ms, 20) }
        return ms
    }

    // MARK: - Answers

    func handle(_ t: HTTPTransfer, finish: (JSONValue, [CallResult]) throws -> [JSONValue]) throws {
        guard let context = t.context else { return }
        let call = unsafeDowncast(context, to: Call.self)
        let outcome = ServerReply.classify(t)
        switch outcome {
        case .success(let body, let answer, let problem):
            servers.ended(call.server, serverFault: false)
            let latency = Int((t.elapsed * 1000).rounded())
            let created = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
            let result = CallResult(
                answer: answer, problem: problem, latencyMs: latency, attempts: call.attempts, created: created,
                cached: false)
            if let answer {
                let (p, c) = (answer.promptTokens, answer.completionTokens)
                tool.summary.promptTokens += p
                tool.summary.completionTokens += c
                if options.tpm != nil { tokenLog.append((Date(), p + c)) }
            }
            // Stored before the record is written: a kill after this line loses nothing.
            // A reply with no usable answer is not stored, so a rerun asks again.
            if answer != nil, let key = call.planned.cacheKey, let cache {
                try cache.put(
                    key,
                    CallResult.cacheEntry(body: body, latencyMs: latency, attempts: call.attempts, created: created))
            }
            call.item.results[call.index] = result
            call.item.remaining -= 1
            if call.item.remaining == 0 { try complete(call.item, finish: finish) }
        case .retry(let reason, let status, let retryAfter):
            servers.ended(call.server, serverFault: true)
            call.lastError = reason
            call.lastStatus = status
            if call.attempts > options.retries {
                try fail(
                    call, reason: "gave up after \(call.attempts) attempts: \(reason)", status: status, finish: finish)
            } else {
                tool.summary.retries += 1
                // Full jitter: a random wait up to base * 2^attempt, at least what Retry-After asks.
                let cap = min(options.backoffCap, options.backoffBase * pow(2, Double(call.attempts - 1)))
                var delay = Double.random(in: 0...cap, using: &rng)
                if let retryAfter { delay = max(delay, retryAfter) }
                let due = Date().addingTimeInterval(delay)
                let i = waiting.firstIndex { $0.due > due } ?? waiting.count
                waiting.insert((due, call), at: i)
            }
        case .fail(let reason, let status):
            servers.ended(call.server, serverFault: false)
            try fail(call, reason: reason, status: status, finish: finish)
        }
    }

    func promoteDueRetries() {
        let now = Date()
        while let first = waiting.first, first.due <= now {
            waiting.removeFirst()
            ready.append(first.call)
        }
    }

    func fail(_ call: Call, reason: String, status: Int, finish: (JSONValue, [CallResult]) throws -> [JSONValue]) throws
    {
        let item = call.item
        if item.failure == nil { item.failure = (reason, status, call.attempts) }
        item.remaining -= 1
        if item.remaining == 0 { try complete(item, finish: finish) }
    }

    /// Every call of the record has ended: build its output, or send it to the failures.
    func complete(_ item: Item, finish: (JSONValue, [CallResult]) throws -> [JSONValue]) throws {
        openItems -= 1
        var lines: [[UInt8]] = []
        var failure = item.failure
        if failure == nil {
            do {
                let outputs = try finish(item.record, item.results.map { $0! })
                for o in outputs {
                    var bytes: [UInt8] = []
                    JSONWriter.write(o, into: &bytes)
                    lines.append(bytes)
                }
            } catch let e as RecordError {
                failure = (e.description, 200, item.results.compactMap { $0?.attempts }.max() ?? 1)
            }
        }
        if let failure {
            tool.summary.failed += 1
            try writeFailure(item, failure)
        }
        if options.unordered {
            for l in lines { try write(l) }
            lines = []
        }
        window.complete(item.seq, lines)
        try window.drain { try write($0) }
    }

    func write(_ line: [UInt8]) throws {
        tool.summary.recordsOut += 1
        try tool.output.writeLine(line)
        wroteSinceFlush = true
    }

    /// Records are handed downstream within a fraction of a second even when few
    /// arrive (a pipe of model steps must not wait for a full buffer), while a
    /// busy run still writes in large blocks.
    func flushWhenIdle() throws {
        guard wroteSinceFlush else { return }
        let now = Date()
        guard now.timeIntervalSince(lastFlush) >= 0.2 else { return }
        try tool.output.flush()
        wroteSinceFlush = false
        lastFlush = now
    }

    func writeFailure(_ item: Item, _ f: (reason: String, status: Int, attempts: Int)) throws {
        if failures == nil {
            failures = RejectStream(sink: try OutputSink.open(failuresPath))
        }
        let reason = "\(options.step): \(f.reason)" + (f.status > 0 ? "" : "")
        try item.raw.withUnsafeBufferPointer {
            try failures!.write(
                bytes: $0, source: item.source, line: item.line, reason: reason,
                recordIsValid: item.record != .null || isObject(item.raw),
                extra: [("status", .int(f.status)), ("attempts", .int(f.attempts)), ("step", .string(options.step))])
        }
    }

    func isObject(_ raw: [UInt8]) -> Bool {
        (try? raw.withUnsafeBufferPointer { try FieldExtractor.validateObject($0) }) != nil
    }

    // MARK: - Progress, stats, signals

    func progress(final: Bool) {
        let now = Date()
        guard options.progressEvery > 0, !final, now.timeIntervalSince(lastProgress) >= options.progressEvery else {
            return
        }
        lastProgress = now
        let s = tool.summary
        let t = now.timeIntervalSince(started)
        let done = s.recordsOut + s.failed
        var line = "\(tool.name)[\(options.step)]: \(done) done"
        if let fraction = tool.input.fraction, fraction > 0 {
            let eta = t / fraction - t
            line += String(format: " (%.0f%%)", fraction * 100)
            line += ", ETA \(InferenceEngine.duration(eta))"
        }
        line += String(format: ", %.1f rec/s, %.0f tok/s", Double(done) / t, Double(s.completionTokens) / t)
        line += ", \(multi.inFlight) in flight, \(s.retries) retries, \(s.failed) failed"
        RecordTool.printError(line)
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let v = Int(s)
        if v >= 3600 { return "\(v / 3600)h\(String(format: "%02d", (v % 3600) / 60))m" }
        if v >= 60 { return "\(v / 60)m\(String(format: "%02d", v % 60))s" }
        return "\(v)s"
    }

    func writeStats() throws {
        guard let path = options.statsPath else { return }
        let sink = try OutputSink.open(path)
        try sink.writeLine(tool.summary.json())
        try sink.close()
    }

    /// Stop sending, keep what is complete (the cache already has every answer), exit non-zero.
    func interrupt() throws -> Never {
        let sig = receivedSignal
        for t in multi.active.values { multi.cancel(t) }
        try? window.drain { try write($0) }
        try? failures?.close()
        throw ToolError(
            "interrupted by \(sig == SIGINT ? "SIGINT" : "SIGTERM"): wrote the \(tool.summary.recordsOut) records complete in input order; answers received are in the cache, so rerunning with the same --cache resumes",
            status: .interrupted(sig))
    }

    static func installSignalHandlers() {
        signal(SIGINT) { receivedSignal = $0 }
        signal(SIGTERM) { receivedSignal = $0 }
    }
}
