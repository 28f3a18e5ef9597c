import Engine
import Foundation
import RecordCore

/// Proves, before a run, that a vLLM-style server leaves the user turn open for
/// the Oasis hook's exact message shape, and picks the text part that does.
///
/// vLLM renders a chat with transformers' `apply_chat_template`, which cuts the
/// render after the final message's text when `continue_final_message` is set.
/// With an *empty* text, transformers 4.49 (what vLLM 0.7 ran on) cuts nothing,
/// so the turn stays closed (`…<|vision_end|><|im_end|>`) and the model would
/// write a new turn instead of the user's question; 5.x leaves it open. A text
/// of one space is cut right after it by both. So mminf renders the shape through
/// the server's own `/tokenize` and reads it back (`/detokenize`): a marker text
/// must end the render; then the empty text must leave the same open prefix, or
/// else a single space must. Otherwise the run stops: a closed turn is never sent.
public enum OpenTurnProof {
    static let marker = "MMINF_OPEN_TURN_CHECK"
    /// A 1x1 PNG: the probe carries media when the run does, as templates lay them out.
    static let pixel =
        "data:image/png;base64,"
        + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

    /// The text part to send when a record's seed is empty: "" or " ".
    /// `extra`: the run's `--extra` fields (a `chat_template`, `chat_template_kwargs`), so the
    /// proof renders with the template the requests will use.
    public static func emptySeedText(
        base: String, model: String, headers: [String], withImage: Bool, withSystem: Bool, extra: JSONObject? = nil
    ) throws -> String {
        let root = ServerPool.root(of: base)
        func render(_ text: String) throws -> String {
            var messages: [JSONValue] = []
            if withSystem {
                messages.append(.object(JSONObject([("role", .string("system")), ("content", .string("S"))])))
            }
            var parts: [JSONValue] = []
            if withImage {
                parts.append(
                    .object(
                        JSONObject([
                            ("type", .string("image_url")),
                            ("image_url", .object(JSONObject([("url", .string(pixel))]))),
                        ])))
            }
            parts.append(.object(JSONObject([("type", .string("text")), ("text", .string(text))])))
            messages.append(.object(JSONObject([("role", .string("user")), ("content", .array(parts))])))
            var fields = JSONObject([
                ("model", .string(model)), ("messages", .array(messages)),
                ("add_generation_prompt", .bool(false)), ("continue_final_message", .bool(true)),
            ])
            for m in extra?.members ?? [] where m.key.hasPrefix("chat_template") { fields[m.key] = m.value }
            let body = JSONValue.object(fields)
            let t = HTTPRequest.post(root + "/tokenize", body: Array(JSONWriter.string(body).utf8), headers: headers)
            guard t.status == 200, let tokens = (try? JSONValue.parse(bytes: t.response))?.objectValue?["tokens"] else {
                throw ModelServer.ProbeError(
                    description: "\(root)/tokenize answered HTTP \(t.status) "
                        + "(\(t.transportError ?? ServerReply.errorMessage(t.response))): mminf renders the hook there "
                        + "to prove the user turn stays open, and sends no hook it cannot check")
            }
            let back = JSONValue.object(JSONObject([("model", .string(model)), ("tokens", tokens)]))
            let d = HTTPRequest.post(root + "/detokenize", body: Array(JSONWriter.string(back).utf8), headers: headers)
            guard d.status == 200,
                let text = (try? JSONValue.parse(bytes: d.response))?.objectValue?["prompt"]?.stringValue
            else {
                throw ModelServer.ProbeError(
                    description: "\(root)/detokenize answered HTTP \(d.status): the rendered hook cannot be read back")
            }
            return text
        }
        // Compared exactly: a template may end a turn with nothing but white space.
        let marked = try render(marker)
        guard marked.hasSuffix(marker) else {
            throw ModelServer.ProbeError(
                description: "\(root) does not leave the user turn open: with continue_final_message its render of a "
                    + "text part ends '…\(marked.suffix(40))', not with the text; mminf does not send a closed turn")
        }
        let prefix = String(marked.dropLast(marker.count))
        let empty = try render("")
        if empty == prefix { return "" }
        let space = try render(" ")
        if space == prefix + " " { return " " }
        throw ModelServer.ProbeError(
            description: "\(root) closes the user turn for an empty text part (its render ends '…\(empty.suffix(40))') "
                + "and a single space does not open it; give the hook a seed with --prompt, or use a server whose "
                + "transformers leaves the turn open; mminf does not send a closed turn")
    }
}
