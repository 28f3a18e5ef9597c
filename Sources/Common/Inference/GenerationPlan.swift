/// What mminf-gen asks of the model for each record, and how the answer is
/// written back: the prompt rendered from the record, `samples` requests,
/// the answer into `out`, what was asked and said into `history.<step>`.
public struct GenerationPlan {
    public var model: String
    public var system: PromptTemplate?
    public var prompt: PromptTemplate
    public var sampling: Sampling
    public var samples = 1
    public var out: FieldPath
    public var step: String
    public var history = true
    /// Cache keys cost a SHA-256 per request: only computed when a cache is used.
    public var withCache = true

    public init(model: String, system: PromptTemplate?, prompt: PromptTemplate, sampling: Sampling, out: FieldPath, step: String) {
        self.model = model
        self.system = system
        self.prompt = prompt
        self.sampling = sampling
        self.out = out
        self.step = step
    }

    func messages(_ record: JSONValue) throws -> [ChatMessage] {
        var m: [ChatMessage] = []
        if let system { m.append(ChatMessage(role: "system", text: try system.render(record))) }
        m.append(ChatMessage(role: "user", text: try prompt.render(record)))
        return m
    }

    public func calls(for record: JSONValue) throws -> [PlannedCall] {
        let msgs = try messages(record)
        return (0..<samples).map { i in
            let body = ChatRequest(model: model, messages: msgs, sampling: sampling, sample: i).bodyBytes
            return PlannedCall(path: "/chat/completions", body: body, cacheKey: withCache ? ChatRequest.cacheKey(body: body, sample: i) : nil)
        }
    }

    public func outputs(record: JSONValue, results: [CallResult]) throws -> [JSONValue] {
        let userText = try prompt.render(record)
        let systemText = try system?.render(record)
        return try results.enumerated().map { i, r in
            let answer = try ChatAnswer(r.reply)
            var o = record
            try o.set(.string(answer.text), at: out)
            if samples > 1 { try o.set(.int(i), at: FieldPath(components: [.key("sample")], text: "sample")) }
            if history {
                var h = JSONObject()
                if let systemText { h["system"] = .string(systemText) }
                h["prompt"] = .string(userText)
                h["response"] = .string(answer.text)
                h["model"] = .string(answer.model ?? model)
                h["finish_reason"] = answer.finishReason.map { .string($0) } ?? .null
                if let u = answer.usage { h["usage"] = u }
                h["latency_ms"] = .int(r.latencyMs)
                h["attempts"] = .int(r.attempts)
                h["created"] = .double(r.created)
                if samples > 1 { h["sample"] = .int(i) }
                try o.set(.object(h), at: FieldPath(components: [.key("history"), .key(step)], text: "history.\(step)"))
            }
            return o
        }
    }
}
