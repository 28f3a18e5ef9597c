import Engine
import Foundation
import Prompts
import RecordCore

/// The special tokens `--ban-special` forbids: the chat template's own markers
/// (a model that writes one has left the user's message), found and turned into
/// token ids by asking the server, except the marker that ends a turn, which the
/// hook needs to stop.
public enum SpecialTokens {
    /// Markers such as `<|im_start|>`, `<|vision_start|>`, `<image>`.
    static let marker = try! Regex(#"<\|[^<>|\s]{1,40}\|>|<(?:image|video|s|unk|pad)>"#)

    /// Candidate markers when the template cannot be seen (vLLM): the usual ones of
    /// Qwen, LLaVA and InternVL families; unknown ones simply do not tokenize to one id.
    static let common = [
        "<|im_start|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
        "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
        "<|quad_end|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<image>", "<video>",
    ]
    /// Emoji `--ban-special` forbids besides the special tokens: the whole class, every
    /// character Unicode calls an emoji outside ASCII and Latin-1 (so digits, `#` and `©`
    /// stay allowed), each text-style one also with U+FE0F (`❤️`), read from the Unicode
    /// tables the toolchain carries rather than a hand-kept list.
    public static let emoji: [String] = {
        var out: [String] = []
        for range in [0x2000...0x2BFF, 0x3000...0x33FF, 0x1F000...0x1FAFF] {
            for v in range {
                guard let scalar = Unicode.Scalar(v), scalar.properties.isEmoji else { continue }
                out.append(String(scalar))
                // Characters shown as text by default become emoji with U+FE0F (❤ → ❤️): ban that form too.
                if !scalar.properties.isEmojiPresentation { out.append(String(scalar) + "\u{FE0F}") }
            }
        }
        return out
    }()

    /// Markers that end a turn or the text: never banned.
    static let enders: Set<String> = [
        "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "</s>", "<|end_of_text|>",
    ]

    static func markers(in text: String) -> [String] {
        Array(Set((try? marker.allCaptures(text)) ?? [])).sorted()
    }

    /// llama.cpp: markers of the rendered template, minus the end of turn (the text the
    /// template puts after the user's message) and the server's eos token; plus the
    /// `extra` strings (emoji) that are one token each. A string of several tokens is
    /// not banned: banning its pieces would forbid ordinary text (an emoji's UTF-8 bytes
    /// are shared with CJK and accented letters).
    public static func llama(_ hook: TemplateHook, headers: [String], extra: [String] = []) throws -> [Int] {
        _ = try hook.prompt(system: nil, mediaCount: 0, seed: "")
        let keep = Set(markers(in: hook.endOfTurn)).union(enders).union([hook.eosToken].compactMap { $0 })
        var ids: [Int] = []
        for m in markers(in: hook.renderedExample) where !keep.contains(m) {
            let body = JSONValue.object(JSONObject([("content", .string(m)), ("parse_special", .bool(true))]))
            if let id = singleToken(hook.root + "/tokenize", body, headers: headers) { ids.append(id) }
        }
        for s in extra {
            let body = JSONValue.object(JSONObject([("content", .string(s)), ("parse_special", .bool(false))]))
            if let id = singleToken(hook.root + "/tokenize", body, headers: headers), !ids.contains(id) {
                ids.append(id)
            }
        }
        return ids
    }

    /// vLLM: the usual markers, tokenized by the server's /tokenize.
    public static func vllm(base: String, model: String, headers: [String]) -> [Int]? {
        let root = ServerPool.root(of: base)
        var ids: [Int] = []
        var reachable = false
        for m in common where !enders.contains(m) {
            let body = JSONValue.object(
                JSONObject([("model", .string(model)), ("prompt", .string(m)), ("add_special_tokens", .bool(false))]))
            let t = HTTPRequest.post(root + "/tokenize", body: bytes(body), headers: headers, timeoutMs: 10_000)
            guard t.status == 200, let id = tokens(t.response), !id.isEmpty else { continue }
            reachable = true
            if id.count == 1 { ids.append(id[0]) }
        }
        return reachable ? ids : nil
    }

    static func singleToken(_ url: String, _ body: JSONValue, headers: [String]) -> Int? {
        let t = HTTPRequest.post(url, body: bytes(body), headers: headers, timeoutMs: 10_000)
        guard t.status == 200, let ids = tokens(t.response), ids.count == 1 else { return nil }
        return ids[0]
    }

    static func tokens(_ body: [UInt8]) -> [Int]? {
        guard let v = try? JSONValue.parse(bytes: body, keepNumberText: false),
            let list = v.objectValue?["tokens"]?.arrayValue
        else { return nil }
        return list.compactMap { t in t.doubleValue.map(Int.init) ?? t.objectValue?["id"]?.doubleValue.map(Int.init) }
    }

    static func bytes(_ v: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(v, into: &out)
        return out
    }
}
