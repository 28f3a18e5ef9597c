import Foundation
import RecordCore

/// A call's answer and the facts of the call that produced it. Replayed from
/// the cache, the facts are the original call's, so a resumed run writes the
/// same records as an uninterrupted one.
public struct CallResult {
    public var answer: ChatAnswer?
    /// Why there is no answer (the reply was JSON but said nothing usable).
    public var problem: String?
    public var latencyMs: Int
    public var attempts: Int
    public var created: Double
    public var cached: Bool

    /// The answer, or the record fails with what was wrong with the reply.
    public func readAnswer() throws -> ChatAnswer {
        guard let answer else { throw RecordError.message(problem ?? "the server's answer could not be read") }
        return answer
    }

    /// `{"reply": <the server's body as received>, "latency_ms": …, "attempts": …, "created": …}`
    static func cacheEntry(body: [UInt8], latencyMs: Int, attempts: Int, created: Double) -> [UInt8] {
        var out: [UInt8] = Array(#"{"reply":"#.utf8)
        out.append(contentsOf: body)
        out.append(contentsOf: #","latency_ms":\#(latencyMs),"attempts":\#(attempts),"created":"#.utf8)
        out.append(contentsOf: JSONWriter.format(created).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }

    init(answer: ChatAnswer?, problem: String?, latencyMs: Int, attempts: Int, created: Double, cached: Bool) {
        self.answer = answer
        self.problem = problem
        self.latencyMs = latencyMs
        self.attempts = attempts
        self.created = created
        self.cached = cached
    }

    init?(cacheEntry bytes: [UInt8]) {
        guard let v = try? JSONValue.parse(bytes: bytes), let o = v.objectValue, let reply = o["reply"] else {
            return nil
        }
        do {
            answer = try ChatAnswer(reply)
            problem = nil
        } catch {
            answer = nil
            problem = "\(error)"
        }
        latencyMs = Int(o["latency_ms"]?.doubleValue ?? 0)
        attempts = Int(o["attempts"]?.doubleValue ?? 1)
        created = o["created"]?.doubleValue ?? 0
        cached = true
    }
}
