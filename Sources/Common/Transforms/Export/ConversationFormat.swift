import RecordCore

/// Training-data layouts a record with an instruction, a response and its
/// media can be exported as.
public enum ConversationFormat: String, CaseIterable, Sendable {
    /// {"image", "conversations":[{"from":"human",...},{"from":"gpt",...}], "id"}
    case sharegpt
    /// ShareGPT with an `<image>` (or `<video>`) line opening the human turn, as LLaVA trains on.
    case llava
    /// {"messages":[{"role":"user","content":[image parts, text]},{"role":"assistant",...}], "id"}
    case openai

    public struct Fields {
        public var instruction: FieldPath
        public var response: FieldPath
        public var id: FieldPath
        public var system: FieldPath?
        public init(instruction: FieldPath, response: FieldPath, id: FieldPath, system: FieldPath?) {
            self.instruction = instruction
            self.response = response
            self.id = id
            self.system = system
        }
    }

    /// Builds the exported record; `carry` are extra fields copied after the
    /// conversation (the ones `--set` wrote and the ones `--keep` names).
    public func export(_ record: JSONValue, fields: Fields, carry: [FieldPath]) throws -> JSONValue {
        guard let instruction = record.value(at: fields.instruction) else {
            throw RecordError.missing(
                fields.instruction.description,
                hint: "--format needs the instruction (name it with --instruction-field)")
        }
        guard let response = record.value(at: fields.response) else {
            throw RecordError.missing(
                fields.response.description, hint: "--format needs the response (name it with --response-field)")
        }
        let system = fields.system.flatMap { record.value(at: $0) }
        var out = JSONObject()
        var media: [(kind: String, ref: JSONValue)] = []
        for name in MediaFields.all {
            guard let v = record.objectValue?[name] else { continue }
            let kind = MediaFields.videos.contains(name) ? "video" : "image"
            if case .array(let list) = v { media += list.map { (kind, $0) } } else { media.append((kind, v)) }
            if self != .openai { out[name] = v }
        }
        let instructionText = Template.text(of: instruction)
        let responseText = Template.text(of: response)
        switch self {
        case .sharegpt, .llava:
            var human = instructionText
            if self == .llava {
                let tags = media.map { "<\($0.kind)>" }.filter { !human.contains($0) }
                if !tags.isEmpty { human = tags.joined(separator: "\n") + "\n" + human }
            }
            var turns: [JSONValue] = []
            if let system {
                turns.append(
                    .object(JSONObject([("from", .string("system")), ("value", .string(Template.text(of: system)))])))
            }
            turns.append(.object(JSONObject([("from", .string("human")), ("value", .string(human))])))
            turns.append(.object(JSONObject([("from", .string("gpt")), ("value", .string(responseText))])))
            out["conversations"] = .array(turns)
        case .openai:
            var messages: [JSONValue] = []
            if let system {
                messages.append(
                    .object(JSONObject([("role", .string("system")), ("content", .string(Template.text(of: system)))])))
            }
            var parts: [JSONValue] = media.map { m in
                let type = m.kind == "image" ? "image_url" : "video_url"
                return .object(JSONObject([("type", .string(type)), (type, .object(JSONObject([("url", m.ref)])))]))
            }
            parts.append(.object(JSONObject([("type", .string("text")), ("text", .string(instructionText))])))
            let content: JSONValue = media.isEmpty ? .string(instructionText) : .array(parts)
            messages.append(.object(JSONObject([("role", .string("user")), ("content", content)])))
            messages.append(.object(JSONObject([("role", .string("assistant")), ("content", .string(responseText))])))
            out["messages"] = .array(messages)
        }
        if let id = record.value(at: fields.id) { out[fields.id.description] = id }
        var result = JSONValue.object(out)
        for path in carry {
            if let v = record.value(at: path) { try result.set(v, at: path) }
        }
        return result
    }
}
