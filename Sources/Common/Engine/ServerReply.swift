import Foundation
import RecordCore

/// How a finished transfer turned out, from the retry loop's point of view.
public enum ReplyOutcome {
    /// The body is valid JSON; `answer` is what it says (nil with `problem` when it says nothing usable).
    case success(body: [UInt8], answer: ChatAnswer?, problem: String?)
    /// Worth another try: connection trouble, timeouts, 408/429/5xx, garbled bodies.
    case retry(reason: String, status: Int, retryAfter: Double?)
    /// Trying again cannot help: 400/401/403/404/422 and friends.
    case fail(reason: String, status: Int)
}

public enum ServerReply {
    static let retryStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    public static func classify(_ t: HTTPTransfer) -> ReplyOutcome {
        if t.tooLarge && !retryStatuses.contains(t.status) {
            // The same request would bring the same flood: fail the record, do not retry.
            // (A 503 with a huge error page is still a 503: retried below.)
            return .fail(
                reason:
                    "the answer was larger than \(t.maxResponseBytes) bytes (--max-response-bytes); stopped reading it",
                status: t.status)
        }
        if let err = t.transportError, t.status == 0 || t.timedOut {
            return .retry(
                reason: t.timedOut
                    ? "timed out after \(String(format: "%.1f", t.elapsed))s" : "connection error: \(err)", status: 0,
                retryAfter: nil)
        }
        if let err = t.transportError, !t.tooLarge {
            return .retry(reason: "transfer error: \(err)", status: t.status, retryAfter: nil)
        }
        let status = t.status
        if status == 200 {
            do {
                let answer = try ChatAnswer(bytes: t.response)
                return .success(body: t.response, answer: answer, problem: nil)
            } catch let e as RecordError {
                // Some gateways answer 200 with an error body: that is the server's refusal, not an answer.
                if let v = try? JSONValue.parse(bytes: t.response, keepNumberText: false),
                    v.objectValue?["error"] != nil
                {
                    return .fail(reason: "HTTP 200 carrying an error: \(errorMessage(t.response))", status: 200)
                }
                return .success(body: t.response, answer: nil, problem: e.description)
            } catch {
                let snippet = String(decoding: t.response.prefix(120), as: UTF8.self)
                return .retry(reason: "malformed JSON in a 200 answer: \(snippet)", status: status, retryAfter: nil)
            }
        }
        let message = errorMessage(t.response)
        let reason = "HTTP \(status): \(message)"
        if retryStatuses.contains(status) {
            return .retry(reason: reason, status: status, retryAfter: retryAfter(t.responseHeaders["retry-after"]))
        }
        return .fail(reason: reason, status: status)
    }

    /// The server's own words from either error shape:
    /// `{"error":{"message":...}}` (OpenAI, llama.cpp) or `{"object":"error","message":...}` (vLLM).
    public static func errorMessage(_ body: [UInt8]) -> String {
        if let v = try? JSONValue.parse(bytes: body, keepNumberText: false) {
            if let e = v.objectValue?["error"] {
                if let m = e.objectValue?["message"]?.stringValue { return m }
                if let s = e.stringValue { return s }
            }
            if let m = v.objectValue?["message"]?.stringValue { return m }
            if let d = v.objectValue?["detail"] { return Template.text(of: d) }
        }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(empty body)" : text
    }

    /// Retry-After in seconds, or as an HTTP date.
    public static func retryAfter(_ value: String?) -> Double? {
        guard let value else { return nil }
        if let s = Double(value) { return max(0, s) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
    }
}

/// What a chat-completions answer says, read from its JSON.
public struct ChatAnswer {
    public var text: String
    public var finishReason: String?
    public var model: String?
    public var role: String?
    public var usage: JSONValue?
    /// A reasoning model's thinking, when the server returns it apart from the answer
    /// (`message.reasoning_content`: vLLM with a reasoning parser, DeepSeek; or `message.reasoning`).
    public var reasoning: String?

    /// Only these parts of an answer are read; the rest is checked, not built.
    static let readPaths: [FieldPath] = [
        "choices[0]", "model", "usage", "content", "stop_type", "tokens_evaluated", "tokens_predicted",
    ].map { try! FieldPath(parsing: $0) }
    static let reader = FieldExtractor(paths: readPaths, keepNumberText: true)

    /// Reads an answer from a server's body; throws JSONSyntaxError/UTF8Error for
    /// a body that is not JSON, RecordError for JSON with no answer in it.
    public init(bytes: [UInt8]) throws {
        var values = [JSONValue?](repeating: nil, count: ChatAnswer.readPaths.count)
        try bytes.withUnsafeBufferPointer { try ChatAnswer.reader.extract($0, into: &values) }
        var o = JSONObject()
        if let choice = values[0] { o["choices"] = .array([choice]) }
        for (i, p) in ChatAnswer.readPaths.enumerated().dropFirst() { if let v = values[i] { o[p.description] = v } }
        try self.init(.object(o))
    }

    public init(_ v: JSONValue) throws {
        // llama.cpp's /completion (the template route of the hook).
        if let o = v.objectValue, o["choices"] == nil, let content = o["content"]?.stringValue {
            text = content
            switch o["stop_type"]?.stringValue {
            case "limit"?: finishReason = "length"
            case nil: finishReason = nil
            default: finishReason = "stop"
            }
            model = o["model"]?.stringValue
            role = nil
            reasoning = nil
            usage = .object(
                JSONObject([
                    ("prompt_tokens", o["tokens_evaluated"] ?? .int(0)),
                    ("completion_tokens", o["tokens_predicted"] ?? .int(0)),
                ]))
            return
        }
        guard let choice = v.objectValue?["choices"]?.arrayValue?.first?.objectValue else {
            throw RecordError.message("the server's answer has no choices[0]")
        }
        let message = choice["message"]?.objectValue
        if let t = message?["content"]?.stringValue {
            text = t
        } else if let t = choice["text"]?.stringValue {
            text = t
        } else if message?["content"] == .null {
            text = ""
        } else {
            throw RecordError.message("the server's answer has no choices[0].message.content")
        }
        finishReason = choice["finish_reason"]?.stringValue
        role = message?["role"]?.stringValue
        reasoning = message?["reasoning_content"]?.stringValue ?? message?["reasoning"]?.stringValue
        model = v.objectValue?["model"]?.stringValue
        usage = v.objectValue?["usage"]
    }

    public var completionTokens: Int {
        Int(usage?.value(at: FieldPath(components: [.key("completion_tokens")], text: ""))?.doubleValue ?? 0)
    }
    public var promptTokens: Int {
        Int(usage?.value(at: FieldPath(components: [.key("prompt_tokens")], text: ""))?.doubleValue ?? 0)
    }
}
