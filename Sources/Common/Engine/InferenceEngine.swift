import Foundation
import RecordCore

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
    let failures: RejectStream

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
        /// Tokens reserved for it under --tpm while it is out.
        var estimate = 0
        init(item: Item, index: Int, planned: PlannedCall) {
            self.item = item
            self.index = index
            self.planned = planned
        }
    }

    /// Calls waiting to be sent; a sent one's slot is emptied at once, so its body is
    /// not kept alive by this queue (only by the transfer, and retries, while it is out).
    var ready: [Call?] = []
    var readyHead = 0
    var retries: RetrySchedule<Call>
    var openItems = 0
    var window: ReorderWindow
    var pacer: RequestPacer
    var progressLine: ProgressLine
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
        self.progressLine = ProgressLine(every: options.progressEvery, step: options.step)
        self.failures = RejectStream(openingOnFirstWrite: options.failuresPath ?? "\(options.step).failed.jsonl")
        self.pacer = RequestPacer(rps: options.rps, tpm: options.tpm)
        self.retries = RetrySchedule(base: options.backoffBase, cap: options.backoffCap)
        tool.summary.callsModel = true
    }

    /// Runs every record: `plan` says which calls a record needs, `finish`
    /// turns their answers into output records.
    public func run(
        plan: (JSONValue, Int) throws -> [PlannedCall],
        finish: (JSONValue, [CallResult]) throws -> [JSONValue]
    ) throws {
        defer { try? failures.close() }
        while true {
            if SignalWatch.received != 0 { try interrupt() }
            try admit(plan: plan, finish: finish)
            if SignalWatch.received != 0 { try interrupt() }
            dispatch()
            let done = multi.poll(timeoutMs: pollTimeout())
            for t in done { try handle(t, finish: finish) }
            promoteDueRetries()
            progressLine.maybePrint(tool, inFlight: multi.inFlight, waiting: retries.count)
            try flushWhenIdle()
            if inputDone && openItems == 0 && multi.inFlight == 0 { break }
        }
        try window.drain { try write($0) }
        if let stopError {
            // Stopped at a bad line: not a complete run, so an earlier failures file stays.
            try failures.close()
            if let path = options.statsPath { try tool.summary.writeStats(to: path) }
            throw stopError
        }
        try failures.closeCompleted()
        if let path = options.statsPath { try tool.summary.writeStats(to: path) }
        let failed = tool.summary.failed
        if let error = options.maxFailures.verdict(
            failed: failed, of: tool.summary.recordsIn,
            message:
                "\(failed) record\(failed == 1 ? "" : "s") failed; they are in \(failuresPath) with the reasons (rerun them with the same --cache to keep what succeeded)"
        ) {
            throw error
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

    func admit(
        plan: (JSONValue, Int) throws -> [PlannedCall], finish: (JSONValue, [CallResult]) throws -> [JSONValue]
    )
        throws
    {
        // Read ahead only as far as the requests can go out (those waiting to be retried
        // count too); cache hits complete at once. Never wait for input while requests
        // are out: a slow producer upstream must not stall answers already arriving.
        inputStalled = false
        while !inputDone && multi.inFlight + (ready.count - readyHead) + retries.count < options.concurrency
            && !window.isFull && openItems < openLimit
        {
            // A rerun that replays everything from the cache never leaves this loop: look here too.
            if SignalWatch.received != 0 { return }
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
                // The record's position in the input (bad lines included): stable on a rerun.
                calls = try plan(record, tool.summary.recordsIn - 1)
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
        while readyHead < ready.count && multi.inFlight < options.concurrency {
            let call = ready[readyHead]!
            let estimate =
                pacer.countsTokens
                ? pacer.estimate(bodyBytes: call.planned.body.count, maxTokens: call.planned.maxTokens) : 0
            guard pacer.mayStart(now: now, estimate: estimate), let server = servers.pick(now: now) else { break }
            ready[readyHead] = nil
            readyHead += 1
            call.estimate = estimate
            pacer.sent(now: now, estimate: estimate)
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
            url: (call.planned.fromRoot ? ServerPool.root(of: base) : base) + call.planned.path,
            body: call.planned.body,
            headers: options.headers, timeoutMs: Int(options.timeout * 1000),
            connectTimeoutMs: Int(options.connectTimeout * 1000), maxResponseBytes: options.maxResponseBytes,
            context: call)
    }

    func pollTimeout() -> Int {
        // Waiting on a pipe that has no complete line yet: look again soon.
        var ms = inputStalled ? 20 : 100
        if let due = retries.nextDue { ms = min(ms, max(0, Int(due.timeIntervalSinceNow * 1000))) }
        if readyHead < ready.count, let slot = pacer.nextRateSlot {
            ms = min(ms, max(1, Int((slot.timeIntervalSinceNow * 1000).rounded(.up))))
        }
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
            }
            let reported = answer?.usage != nil
            pacer.ended(
                estimate: call.estimate, prompt: reported ? answer?.promptTokens : nil,
                completion: reported ? answer?.completionTokens : nil, now: Date())
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
            pacer.ended(estimate: call.estimate, prompt: 0, completion: 0, now: Date())
            call.lastError = reason
            call.lastStatus = status
            if call.attempts > options.retries {
                try fail(
                    call, reason: "gave up after \(call.attempts) attempts: \(reason)", status: status, finish: finish)
            } else {
                tool.summary.retries += 1
                // A server may ask for any wait (Retry-After: 86400); the run waits at most --max-retry-wait.
                let asked = retryAfter.map { min($0, options.maxRetryWait) }
                retries.add(call, after: retries.delay(afterAttempt: call.attempts, retryAfter: asked))
            }
        case .fail(let reason, let status):
            servers.ended(call.server, serverFault: false)
            pacer.ended(estimate: call.estimate, prompt: 0, completion: 0, now: Date())
            try fail(call, reason: reason, status: status, finish: finish)
        }
    }

    func promoteDueRetries() {
        ready.append(contentsOf: retries.takeDue())
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
        let reason = "\(options.step): \(f.reason)"
        try item.raw.withUnsafeBufferPointer {
            try failures.write(
                bytes: $0, source: item.source, line: item.line, reason: reason,
                recordIsValid: item.record != .null || isObject(item.raw),
                extra: [("status", .int(f.status)), ("attempts", .int(f.attempts)), ("step", .string(options.step))])
        }
    }

    func isObject(_ raw: [UInt8]) -> Bool {
        (try? raw.withUnsafeBufferPointer { try FieldExtractor.validateObject($0) }) != nil
    }

    // MARK: - Stopping

    /// Stop sending, keep what is complete (the cache already has every answer), exit non-zero.
    func interrupt() throws -> Never {
        let sig = SignalWatch.received
        for t in multi.active.values { multi.cancel(t) }
        try? window.drain { try write($0) }
        if let path = options.statsPath { try? tool.summary.writeStats(to: path) }
        let resume =
            cache != nil
            ? "answers received are in the cache, so rerunning with the same --cache resumes"
            : "no --cache was given, so a rerun asks every question again"
        throw Interrupted(
            signal: sig, detail: "wrote the \(tool.summary.recordsOut) records complete in input order; \(resume)")
    }

}
