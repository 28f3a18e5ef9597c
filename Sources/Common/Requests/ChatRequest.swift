import Engine
import Foundation
import Prompts
import RecordCore

/// Sampling settings sent with each request; nil means "the server's default".
public struct Sampling {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var maxTokens: Int?
    public var minTokens: Int?
    public var repetitionPenalty: Double?
    public var frequencyPenalty: Double?
    public var presencePenalty: Double?
    public var seed: Int?
    public var stop: [String] = []
    public var logitBias: JSONValue?
    /// Merged into the body last: server-specific fields.
    public var extra: JSONObject?

    public init() {}

    /// The Oasis hook's sampling (docs/gen.md, "The hook"), where not set otherwise: temperature 1.0,
    /// top_k 20, top_p 1.0, repetition penalty 1.0, 50 to 512 new tokens.
    public mutating func fillHookDefaults() {
        temperature = temperature ?? 1.0
        topK = topK ?? 20
        topP = topP ?? 1.0
        repetitionPenalty = repetitionPenalty ?? 1.0
        maxTokens = maxTokens ?? 512
        // The default minimum yields to a smaller maximum the user asked for.
        minTokens = minTokens ?? min(50, maxTokens ?? 50)
    }

    /// A preset's or rubric's sampling defaults (`temperature: 0`, `max_tokens: 1024`
    /// header lines), where the command line left a setting unset: flags win over
    /// the prompt file, which wins over the server's own defaults.
    public mutating func fillDefaults(from file: PromptFile) throws {
        func number(_ key: String) throws -> Double? {
            guard let text = file.header[key] else { return nil }
            guard let v = Double(text), v.isFinite else {
                throw PromptFile.FormatError(description: "\(file.origin): \(key) must be a number, got '\(text)'")
            }
            return v
        }
        func whole(_ key: String) throws -> Int? {
            guard let v = try number(key) else { return nil }
            guard v == v.rounded(), v >= 0, v < 1e9 else {
                throw PromptFile.FormatError(description: "\(file.origin): \(key) must be a whole number, got \(v)")
            }
            return Int(v)
        }
        temperature = try temperature ?? number("temperature")
        topP = try topP ?? number("top_p")
        topK = try topK ?? whole("top_k")
        minP = try minP ?? number("min_p")
        maxTokens = try maxTokens ?? whole("max_tokens")
        minTokens = try minTokens ?? whole("min_tokens")
        repetitionPenalty = try repetitionPenalty ?? number("repetition_penalty")
        frequencyPenalty = try frequencyPenalty ?? number("frequency_penalty")
        presencePenalty = try presencePenalty ?? number("presence_penalty")
    }

    /// After defaults from a preset or the hook are filled in: a minimum length above
    /// the maximum would fail every request at the server.
    public func checkLengths() throws {
        if let minTokens, let maxTokens, minTokens > maxTokens {
            throw ToolError.usage(
                "--min-tokens \(minTokens) is more than the \(maxTokens) new tokens allowed (--max-tokens, or the preset's "
                    + "or the hook's default): raise --max-tokens or lower --min-tokens")
        }
    }

    /// Fields in a fixed order, so equal settings give equal bodies (and cache keys).
    func members(sample: Int) -> [(key: String, value: JSONValue)] {
        var m: [(String, JSONValue)] = []
        if let v = temperature { m.append(("temperature", .double(v))) }
        if let v = topP { m.append(("top_p", .double(v))) }
        if let v = topK { m.append(("top_k", .int(v))) }
        if let v = minP { m.append(("min_p", .double(v))) }
        if let v = maxTokens { m.append(("max_tokens", .int(v))) }
        if let v = minTokens { m.append(("min_tokens", .int(v))) }
        if let v = repetitionPenalty { m.append(("repetition_penalty", .double(v))) }
        if let v = frequencyPenalty { m.append(("frequency_penalty", .double(v))) }
        if let v = presencePenalty { m.append(("presence_penalty", .double(v))) }
        // Sample i of -n N uses seed + i: different samples, each reproducible.
        if let v = seed { m.append(("seed", .int(v + sample))) }
        if !stop.isEmpty { m.append(("stop", .array(stop.map { .string($0) }))) }
        if let v = logitBias { m.append(("logit_bias", v)) }
        return m
    }
}

/// One part of a message's content: text, or a media reference (issue: media).
public enum ContentPart {
    case text(String)
    case imageURL(String)
    case videoURL(String)
    /// A local file's bytes in base64, sent as a data URL without ever becoming a String.
    case inline(video: Bool, mime: String, base64: [UInt8])

    var json: JSONValue {
        switch self {
        case .text(let t): return .object(JSONObject([("type", .string("text")), ("text", .string(t))]))
        case .imageURL(let u): return ContentPart.urlPart("image_url", u)
        case .videoURL(let u): return ContentPart.urlPart("video_url", u)
        case .inline(let video, let mime, let b64):
            return ContentPart.urlPart(
                video ? "video_url" : "image_url", "data:\(mime);base64," + String(decoding: b64, as: UTF8.self))
        }
    }

    static func urlPart(_ type: String, _ url: String) -> JSONValue {
        .object(JSONObject([("type", .string(type)), (type, .object(JSONObject([("url", .string(url))])))]))
    }

    /// The same bytes as `json`, written straight into a body: base64 needs no
    /// escaping, so an image is copied once, not turned into text and scanned.
    func write(into out: inout [UInt8]) {
        guard case .inline(let video, let mime, let b64) = self else { return JSONWriter.write(json, into: &out) }
        let type = video ? "video_url" : "image_url"
        out.append(contentsOf: #"{"type":"\#(type)","\#(type)":{"url":"data:"#.utf8)
        out.append(contentsOf: mime.utf8)
        out.append(contentsOf: ";base64,".utf8)
        out.append(contentsOf: b64)
        out.append(contentsOf: #""}}"#.utf8)
    }
}

public struct ChatMessage {
    public var role: String
    public var parts: [ContentPart]

    public init(role: String, text: String) {
        self.role = role
        self.parts = [.text(text)]
    }

    public init(role: String, parts: [ContentPart]) {
        self.role = role
        self.parts = parts
    }

    /// `json`, written straight into a body (media bytes copied once).
    func write(into out: inout [UInt8]) {
        if parts.count == 1, case .text = parts[0] { return JSONWriter.write(json, into: &out) }
        out.append(contentsOf: #"{"role":"#.utf8)
        JSONWriter.writeString(role, into: &out)
        out.append(contentsOf: #","content":["#.utf8)
        for (i, p) in parts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            p.write(into: &out)
        }
        out.append(contentsOf: "]}".utf8)
    }

    /// Plain text stays a string (what every server accepts); media make a parts array.
    var json: JSONValue {
        let content: JSONValue
        if parts.count == 1, case .text(let t) = parts[0] {
            content = .string(t)
        } else {
            content = .array(parts.map(\.json))
        }
        return .object(JSONObject([("role", .string(role)), ("content", content)]))
    }
}

/// An OpenAI-compatible chat-completions request body.
public struct ChatRequest {
    public var model: String
    public var messages: [ChatMessage]
    public var sampling: Sampling
    public var sample: Int

    public init(model: String, messages: [ChatMessage], sampling: Sampling, sample: Int = 0) {
        self.model = model
        self.messages = messages
        self.sampling = sampling
        self.sample = sample
    }

    public var body: JSONValue {
        var o = JSONObject([("model", .string(model)), ("messages", .array(messages.map(\.json)))])
        for m in sampling.members(sample: sample) { o.members.append(m) }
        if let extra = sampling.extra {
            for m in extra.members { o[m.key] = m.value }
        }
        return .object(o)
    }

    public var bodyBytes: [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(body, into: &out)
        return out
    }

    /// The cache key: a hash of the exact body, plus the sample index so that
    /// unseeded samples of one prompt are stored apart.
    public static func cacheKey(body: [UInt8], sample: Int, identity: String? = nil) -> String {
        let h = SHA256()
        h.update(body)
        h.update(Array("\n#sample=\(sample)".utf8))
        if let identity { h.update(Array("\n#record=\(identity)".utf8)) }
        return SHA256.hexString(h.finish())
    }
}
