import Engine
import Prompts
import RecordCore

/// What mminf-gen asks of the model for each record, and how the answer is
/// written back: the prompt rendered from the record, with the record's media
/// before it, `samples` requests, the answer into `out`, what was asked and
/// said into `history.<step>`.
public struct GenerationPlan {
    /// `.hook` leaves the user turn open so the model writes the user's message (Oasis step 1).
    public enum Mode {
        case ask
        case hook(HookRoute)
    }

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
    public var mode = Mode.ask
    /// nil: media are not sent (text-only steps on records that have images).
    public var media: MediaLoader?
    public var templateHook: TemplateHook?
    /// Strings the model must not write (`--ban-special`).
    public var banned: [String] = []
    /// Where a reasoning model's separate thinking goes (`--reasoning-out`), if anywhere.
    public var reasoningOut: FieldPath?
    /// `--think-tags`: the thinking joined into the answer as `<think>…</think>`.
    public var thinkTags = false
    /// `--keep-media-tags`: leave `<image>`/`<video>` tags in the prompt text.
    public var keepMediaTags = false

    /// LLaVA-style datasets write `<image>` into the text; the media travel as parts,
    /// so the tags (and the line break after one) are taken out of what is sent.
    static func withoutMediaTags(_ text: String) -> String {
        // Most prompts hold no '<': a byte scan says so without Foundation's string search,
        // which cost 6 % of the CPU time of a run of short requests.
        guard text.utf8.contains(UInt8(ascii: "<")), text.contains("<image>") || text.contains("<video>") else {
            return text
        }
        var t = text
        for tag in ["<image>", "<video>"] {
            t = t.replacingOccurrences(of: tag + "\n", with: "").replacingOccurrences(of: tag, with: "")
        }
        return t.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    /// Token ids the model must not write (`--ban-special`: the template's special markers).
    public var bannedTokens: [Int] = []
    /// The hook's text part when a record's seed is empty: " " where the server would
    /// otherwise close the turn (OpenTurnProof).
    public var emptySeedText = ""

    public init(
        model: String, system: PromptTemplate?, prompt: PromptTemplate, sampling: Sampling, out: FieldPath, step: String
    ) {
        self.model = model
        self.system = system
        self.prompt = prompt
        self.sampling = sampling
        self.out = out
        self.step = step
    }

    /// A request that samples (temperature above 0 or unset, so the server's default,
    /// or several samples) is a different draw for each record: its cache key holds
    /// the record's identity — its `id`, else its position in the input — so records
    /// that ask the same thing are not merged, yet a rerun replays each exactly.
    /// A greedy request (temperature 0) is the same question whoever asks: one key.
    func identity(of record: JSONValue, position: Int) -> String? {
        let greedy = sampling.temperature == 0 && samples == 1
        if greedy { return nil }
        if let id = record.objectValue?["id"] {
            return "id:" + String(decoding: StableHash.uniqueKeyBytes(id), as: UTF8.self)
        }
        return "position:\(position)"
    }

    public func calls(for record: JSONValue, position: Int = 0) throws -> [PlannedCall] {
        let identity = identity(of: record, position: position)
        let items = try media?.media(of: record) ?? []
        let rendered = try prompt.render(record)
        let text = keepMediaTags ? rendered : GenerationPlan.withoutMediaTags(rendered)
        let systemText = try system?.render(record)
        if case .hook(.template) = mode {
            return try templateCalls(items, text, systemText, identity: identity)
        }
        var messages: [ChatMessage] = []
        var keyMessages: [ChatMessage] = []
        if let systemText {
            messages.append(ChatMessage(role: "system", text: systemText))
            keyMessages.append(ChatMessage(role: "system", text: systemText))
        }
        let hook: Bool
        if case .hook = mode { hook = true } else { hook = false }
        if items.isEmpty && !hook {
            messages.append(ChatMessage(role: "user", text: text))
            keyMessages.append(ChatMessage(role: "user", text: text))
        } else {
            // Media first (a shared image prefix keeps servers' prefix caches warm), then the text,
            // which the hook keeps as an explicit part even when empty.
            // A seed of only spaces or line breaks is no seed: transformers would cut the render
            // at it wherever it last occurs, possibly after the end of turn.
            let blank = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            let sent = hook && blank ? emptySeedText : text
            messages.append(
                ChatMessage(role: "user", parts: items.map { GenerationPlan.part($0) } + [.text(sent)]))
            keyMessages.append(
                ChatMessage(
                    role: "user", parts: items.map { GenerationPlan.keyPart($0) } + [.text(sent)]))
        }
        return (0..<samples).map { i in
            let body = chatBody(messages, sample: i, hook: hook)
            let key =
                withCache
                ? ChatRequest.cacheKey(
                    body: chatBody(keyMessages, sample: i, hook: hook), sample: i, identity: identity)
                : nil
            return PlannedCall(path: "/chat/completions", body: body, cacheKey: key, maxTokens: sampling.maxTokens)
        }
    }

    /// OpenAI's shape: token id (as a string) to a bias; -100 forbids it.
    var vllmBias: JSONValue {
        .object(JSONObject(bannedTokens.map { (String($0), JSONValue.int(-100)) }))
    }

    /// What a request carries for a medium: a local file's base64 inline, else its URL.
    static func part(_ m: MediaItem) -> ContentPart {
        if let b64 = m.base64, let mime = m.mime { return .inline(video: m.kind == .video, mime: mime, base64: b64) }
        return m.kind == .image ? .imageURL(m.urlString) : .videoURL(m.urlString)
    }

    /// What the cache key's body carries instead: the content hash (or the URL).
    static func keyPart(_ m: MediaItem) -> ContentPart {
        m.kind == .image ? .imageURL(m.keyReference) : .videoURL(m.keyReference)
    }

    func chatBody(_ messages: [ChatMessage], sample: Int, hook: Bool) -> [UInt8] {
        if sampling.extra == nil {
            // The common case, written straight to bytes (the same bytes as below, without building a tree).
            var out: [UInt8] = []
            out.reserveCapacity(
                512
                    + messages.reduce(0) { n, m in
                        n
                            + m.parts.reduce(0) {
                                if case .inline(_, _, let b) = $1 { return $0 + b.count } else { return $0 }
                            }
                    })
            out.append(contentsOf: #"{"model":"#.utf8)
            JSONWriter.writeString(model, into: &out)
            out.append(contentsOf: #","messages":["#.utf8)
            for (i, m) in messages.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                m.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
            for m in sampling.members(sample: sample) {
                out.append(UInt8(ascii: ","))
                JSONWriter.writeString(m.key, into: &out)
                out.append(UInt8(ascii: ":"))
                JSONWriter.write(m.value, into: &out)
            }
            if hook { out.append(contentsOf: #","add_generation_prompt":false,"continue_final_message":true"#.utf8) }
            if !banned.isEmpty {
                out.append(contentsOf: #","bad_words":"#.utf8)
                JSONWriter.write(.array(banned.map { .string($0) }), into: &out)
            }
            if !bannedTokens.isEmpty && sampling.logitBias == nil {
                out.append(contentsOf: #","logit_bias":"#.utf8)
                JSONWriter.write(vllmBias, into: &out)
            }
            out.append(UInt8(ascii: "}"))
            return out
        }
        var body = ChatRequest(model: model, messages: messages, sampling: sampling, sample: sample).body
        if case .object(var o) = body {
            if hook {
                // vLLM needs both: continue the last (user) message, and add no assistant header.
                o["add_generation_prompt"] = .bool(false)
                o["continue_final_message"] = .bool(true)
            }
            if !banned.isEmpty && o["bad_words"] == nil { o["bad_words"] = .array(banned.map { .string($0) }) }
            if !bannedTokens.isEmpty && o["logit_bias"] == nil { o["logit_bias"] = vllmBias }
            body = .object(o)
        }
        var bytes: [UInt8] = []
        JSONWriter.write(body, into: &bytes)
        return bytes
    }

    /// llama.cpp: the open prompt from the server's own template, sent to /completion.
    func templateCalls(_ items: [MediaItem], _ seed: String, _ systemText: String?, identity: String?) throws
        -> [PlannedCall]
    {
        guard let templateHook else { throw RecordError.message("the template route needs the server's /props") }
        for m in items where m.base64String == nil {
            throw RecordError.message(
                "\(m.kind.rawValue) \(m.reference): llama.cpp's /completion takes media as bytes; mminf does not download URLs (give a local path or a data: URL)"
            )
        }
        let rendered = try templateHook.prompt(system: systemText, mediaCount: items.count, seed: seed)
        func body(_ sample: Int, forKey: Bool) -> [UInt8] {
            // The key sees neither the bytes nor the server's random media marker.
            let text = forKey ? rendered.replacingOccurrences(of: templateHook.mediaMarker, with: "<media>") : rendered
            let prompt: JSONValue =
                items.isEmpty
                ? .string(text)
                : .object(
                    JSONObject([
                        ("prompt_string", .string(text)),
                        (
                            "multimodal_data",
                            .array(items.map { .string(forKey ? $0.keyReference : ($0.base64String ?? $0.urlString)) })
                        ),
                    ]))
            var o = JSONObject([("model", .string(model)), ("prompt", prompt)])
            // The same settings under llama.cpp's names.
            for m in sampling.members(sample: sample) {
                switch m.key {
                case "max_tokens": o["n_predict"] = m.value
                case "repetition_penalty": o["repeat_penalty"] = m.value
                case "min_tokens": continue  // llama.cpp has no minimum length
                default: o[m.key] = m.value
                }
            }
            if (!banned.isEmpty || !bannedTokens.isEmpty) && o["logit_bias"] == nil {
                // llama.cpp: false forbids a token outright; strings stand for their tokens.
                o["logit_bias"] = .array(
                    bannedTokens.map { .array([.int($0), .bool(false)]) }
                        + banned.map { .array([.string($0), .bool(false)]) })
            }
            o["cache_prompt"] = .bool(true)
            if let extra = sampling.extra { for m in extra.members { o[m.key] = m.value } }
            var bytes: [UInt8] = []
            JSONWriter.write(.object(o), into: &bytes)
            return bytes
        }
        return (0..<samples).map { i in
            PlannedCall(
                path: "/completion", body: body(i, forKey: false),
                cacheKey: withCache
                    ? ChatRequest.cacheKey(body: body(i, forKey: true), sample: i, identity: identity) : nil,
                fromRoot: true,
                maxTokens: sampling.maxTokens)
        }
    }

    public func outputs(record: JSONValue, results: [CallResult]) throws -> [JSONValue] {
        try results.enumerated().map { i, r in
            let answer = try r.readAnswer()
            var o = record
            if case .hook = mode {
                // The user's message: the seed the hook started from, then what the model wrote,
                // trimmed (history keeps the model's text as it came).
                let seed = try prompt.render(record)
                let message = (keepMediaTags ? seed : GenerationPlan.withoutMediaTags(seed)) + answer.text
                try o.set(.string(message.trimmingCharacters(in: .whitespacesAndNewlines)), at: out)
            } else {
                var text = answer.text
                if thinkTags, let thinking = answer.reasoning, !text.contains("</think>") {
                    text = "<think>\n" + thinking + "\n</think>\n\n" + text
                }
                try o.set(.string(text), at: out)
            }
            if let reasoningOut { try o.set(answer.reasoning.map { .string($0) } ?? .null, at: reasoningOut) }
            if samples > 1 { try o.set(.int(i), at: FieldPath(components: [.key("sample")], text: "sample")) }
            if history {
                try o.set(
                    try historyEntry(record: record, answer: answer, result: r, sample: samples > 1 ? i : nil),
                    at: FieldPath(components: [.key("history"), .key(step)], text: "history.\(step)"))
            }
            return o
        }
    }

    /// What was asked and said, for `history.<step>`: media as references, never bytes.
    public func historyEntry(record: JSONValue, answer: ChatAnswer, result r: CallResult, sample: Int?) throws
        -> JSONValue
    {
        var userText = try prompt.render(record)
        let systemText = try system?.render(record)
        let references =
            media == nil ? [] : MediaLoader.references(of: record, extraImageFields: media!.extraImageFields)
        if case .hook(.template) = mode, let templateHook {
            userText = try templateHook.prompt(system: systemText, mediaCount: references.count, seed: userText)
        }
        var h = JSONObject()
        if let systemText { h["system"] = .string(systemText) }
        h["prompt"] = .string(userText)
        if !references.isEmpty { h["media"] = .array(references.map { .string($0) }) }
        if case .hook(let route) = mode { h["hook_via"] = .string(route.rawValue) }
        h["response"] = .string(answer.text)
        if let r = answer.reasoning { h["reasoning"] = .string(r) }
        h["model"] = .string(answer.model ?? model)
        h["finish_reason"] = answer.finishReason.map { .string($0) } ?? .null
        if let u = answer.usage { h["usage"] = u }
        h["latency_ms"] = .int(r.latencyMs)
        h["attempts"] = .int(r.attempts)
        h["created"] = .double(r.created)
        if let sample { h["sample"] = .int(sample) }
        return .object(h)
    }
}

extension MediaLoader {
    /// The media a record names, as written, without reading anything.
    public static func references(of record: JSONValue, extraImageFields: [String] = []) -> [String] {
        guard let o = record.objectValue else { return [] }
        var out: [String] = []
        for (field, _) in MediaFields.ordered(extraImageFields: extraImageFields) {
            // A picture named twice (`image` and `images`) is sent once, so it is listed once.
            switch o[field] {
            case .string(let s)? where !out.contains(s): out.append(s)
            case .array(let a)?: for s in a.compactMap(\.stringValue) where !out.contains(s) { out.append(s) }
            default: break
            }
        }
        return out
    }
}
