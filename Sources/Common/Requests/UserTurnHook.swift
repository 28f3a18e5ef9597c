import Engine
import Foundation
import Prompts
import RecordCore

/// How the Oasis hook leaves the user turn open (docs/gen.md, "The hook").
public enum HookRoute: String, CaseIterable, Sendable {
    /// vLLM: chat completions with add_generation_prompt false and continue_final_message true.
    case chat
    /// llama.cpp: render with /apply-template, cut the end-of-turn, continue with /completion.
    case template
}

public enum HookProbe {
    /// llama.cpp's `/props` (its settings, chat template, media marker), or nil
    /// when the server is not llama.cpp's. The one place that asks.
    public static func llamaProps(base: String, headers: [String]) -> JSONObject? {
        let props = HTTPRequest.get(ServerPool.root(of: base) + "/props", headers: headers)
        guard props.status == 200,
            let o = (try? JSONValue.parse(bytes: props.response, keepNumberText: false))?.objectValue,
            o["chat_template"] != nil || o["default_generation_settings"] != nil
        else { return nil }
        return o
    }

    /// True when the server is llama.cpp's (it answers /props with its chat template).
    public static func isLlamaCpp(base: String, headers: [String]) -> Bool {
        llamaProps(base: base, headers: headers) != nil
    }

    /// Asks the server which way it can leave a user turn open: llama.cpp
    /// answers `/props`, vLLM answers `/version`. Never guesses.
    public static func route(base: String, headers: [String]) throws -> HookRoute {
        if isLlamaCpp(base: base, headers: headers) { return .template }
        let root = ServerPool.root(of: base)
        let version = HTTPRequest.get(root + "/version", headers: headers)
        if version.status == 200 { return .chat }
        throw ModelServer.ProbeError(
            description: """
                \(root) cannot leave a user turn open for --truncate: it answers neither llama.cpp's /props \
                (for /apply-template + /completion) nor vLLM's /version (for continue_final_message). \
                If you know it supports one of them, choose it with --hook-via chat or --hook-via template; \
                mminf does not fall back to an ordinary, closed user turn.
                """)
    }
}

/// The llama.cpp route: the chat template rendered by the server with a
/// sentinel where the user's text goes; everything after the sentinel (the
/// end-of-turn) is cut, so the model continues the user's own message.
public final class TemplateHook {
    public let root: String
    let headers: [String]
    public let mediaMarker: String
    public let eosToken: String?
    var prefixes: [String: String] = [:]
    /// What the template writes after the user's text (its end of turn), and a whole rendering.
    public private(set) var endOfTurn = ""
    public private(set) var renderedExample = ""
    static let sentinel = "MMINF_USER_TURN_CONTINUES_HERE_7c1f"

    public init(base: String, headers: [String]) throws {
        root = ServerPool.root(of: base)
        self.headers = headers
        let props = HookProbe.llamaProps(base: base, headers: headers)
        mediaMarker = props?["media_marker"]?.stringValue ?? "<__media__>"
        eosToken = props?["eos_token"]?.stringValue
    }

    /// The raw prompt: the conversation up to and including the user's text, open.
    public func prompt(system: String?, mediaCount: Int, seed: String) throws -> String {
        let key = "\(system ?? "\u{0}")\u{1}\(mediaCount)"
        if let prefix = prefixes[key] { return prefix + seed }
        var messages: [JSONValue] = []
        if let system {
            messages.append(.object(JSONObject([("role", .string("system")), ("content", .string(system))])))
        }
        let markers = String(repeating: mediaMarker, count: mediaCount)
        messages.append(
            .object(JSONObject([("role", .string("user")), ("content", .string(markers + TemplateHook.sentinel))])))
        let body = JSONValue.object(
            JSONObject([("messages", .array(messages)), ("add_generation_prompt", .bool(false))]))
        var bytes: [UInt8] = []
        JSONWriter.write(body, into: &bytes)
        let t = HTTPRequest.post(root + "/apply-template", body: bytes, headers: headers)
        guard t.status == 200, let v = try? JSONValue.parse(bytes: t.response),
            let rendered = v.objectValue?["prompt"]?.stringValue
        else {
            throw RecordError.message(
                "\(root)/apply-template failed (HTTP \(t.status): \(t.transportError ?? ServerReply.errorMessage(t.response)))"
            )
        }
        guard let cut = rendered.range(of: TemplateHook.sentinel) else {
            throw RecordError.message(
                "\(root)/apply-template dropped the user's text from the rendered prompt; cannot find where the user turn ends"
            )
        }
        let prefix = String(rendered[..<cut.lowerBound])
        prefixes[key] = prefix
        endOfTurn = String(rendered[cut.upperBound...])
        renderedExample = rendered
        return prefix + seed
    }
}
