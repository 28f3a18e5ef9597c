/// The secrets a run holds (API keys from the environment). A server that
/// echoes one back ("Invalid API key: Bearer sk-...") must not put it into
/// output, history, the cache or a failures file: every response body is
/// redacted as it arrives, before anything reads it.
public enum Secrets {
    nonisolated(unsafe) private static var known: [[UInt8]] = []
    static let mask = Array("[REDACTED]".utf8)

    /// Registers a secret; short strings are ignored (they would mask ordinary text).
    public static func register(_ secret: String) {
        // As sent, and as a server writes it inside a JSON string (with / or " escaped).
        let escaped = secret.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        for form in [secret, escaped, escaped.replacingOccurrences(of: "/", with: "\\/")] {
            let bytes = Array(form.utf8)
            guard bytes.count >= 8, !known.contains(bytes) else { continue }
            known.append(bytes)
        }
    }

    /// `text` with every registered secret replaced.
    public static func redact(_ text: String) -> String {
        known.isEmpty ? text : String(decoding: redact(Array(text.utf8)), as: UTF8.self)
    }

    /// `bytes` with every registered secret replaced (the same array when none occurs).
    public static func redact(_ bytes: [UInt8]) -> [UInt8] {
        var out = bytes
        for secret in known {
            guard let first = secret.first else { continue }
            var result: [UInt8] = []
            var i = 0
            var changed = false
            while i < out.count {
                if out[i] == first, i + secret.count <= out.count, out[i..<(i + secret.count)].elementsEqual(secret) {
                    result.append(contentsOf: mask)
                    i += secret.count
                    changed = true
                } else {
                    result.append(out[i])
                    i += 1
                }
            }
            if changed { out = result }
        }
        return out
    }
}
