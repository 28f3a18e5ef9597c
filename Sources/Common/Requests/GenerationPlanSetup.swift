import Engine
import Prompts
import RecordCore

/// Start-up steps of a generation plan that ask the server something.
extension GenerationPlan {
    /// `--truncate`: pick the route (asking the server unless `route` is given) and
    /// prepare the template for llama.cpp's.
    public mutating func openUserTurn(route given: HookRoute?, baseURLs urls: [String], headers: [String]) throws {
        let route = try given ?? HookProbe.route(base: urls[0], headers: headers)
        mode = .hook(route)
        if route == .chat {
            // Every server: they may run different transformers. A space works wherever "" does.
            for url in urls {
                let text = try OpenTurnProof.emptySeedText(
                    base: url, model: model, headers: headers, withImage: media != nil, withSystem: system != nil,
                    extra: sampling.extra)
                if text == " " { emptySeedText = " " }
            }
            return
        }
        // The rendered prompt carries the server's own (random) media marker.
        guard urls.count == 1 else {
            throw ToolError.usage(
                "--truncate through llama.cpp's template route takes one --base-url (each server has its own media marker); run one pipe per server"
            )
        }
        templateHook = try TemplateHook(base: urls[0], headers: headers)
    }

    /// `--ban-special`: the template's special tokens (except the end of turn) and `emoji`,
    /// as token ids where the server can name them.
    public mutating func banSpecialTokens(emoji: [String], baseURL: String, headers: [String]) throws {
        let llama =
            try templateHook
            ?? (HookProbe.isLlamaCpp(base: baseURL, headers: headers)
                ? TemplateHook(base: baseURL, headers: headers) : nil)
        if let llama {
            // llama.cpp bans by token id (its chat endpoint reads the same logit_bias).
            bannedTokens = try SpecialTokens.llama(llama, headers: headers, extra: emoji)
        } else if let ids = SpecialTokens.vllm(base: baseURL, model: model, headers: headers) {
            bannedTokens = ids
            banned = emoji
        } else {
            banned = emoji
            RecordTool.printError(
                "mminf-gen: --ban-special: \(baseURL) has no /tokenize, so special tokens cannot be named; only emoji are banned (bad_words)"
            )
        }
    }
}
