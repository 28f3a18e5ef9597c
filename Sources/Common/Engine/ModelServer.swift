import Foundation
import RecordCore

/// Start-up questions to a server: which models it serves.
public enum ModelServer {
    public struct ProbeError: ToolFailure, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Model ids from `GET {base}/models`.
    public static func listModels(_ baseURL: String, headers: [String]) throws -> [String] {
        let t = HTTPRequest.get(baseURL + "/models", headers: headers, timeoutMs: 15_000)
        if let err = t.transportError {
            throw ProbeError(
                description:
                    "\(baseURL): cannot reach the server (\(err)); is it running? (check --base-url or MMINF_BASE_URL)")
        }
        guard t.status == 200 else {
            throw ProbeError(
                description: "\(baseURL)/models answered HTTP \(t.status): \(ServerReply.errorMessage(t.response))")
        }
        guard let v = try? JSONValue.parse(bytes: t.response, keepNumberText: false),
            let data = v.objectValue?["data"]?.arrayValue
        else {
            throw ProbeError(description: "\(baseURL)/models did not answer with an OpenAI model list")
        }
        return data.compactMap { $0.objectValue?["id"]?.stringValue }
    }

    /// The model to use: the one named, or the server's only model.
    public static func resolveModel(_ named: String?, baseURL: String, headers: [String]) throws -> String {
        if let named, !named.isEmpty { return named }
        let models = try listModels(baseURL, headers: headers)
        guard models.count == 1 else {
            throw ProbeError(
                description: models.isEmpty
                    ? "\(baseURL) lists no models; name one with --model or MMINF_MODEL"
                    : "\(baseURL) serves \(models.count) models (\(models.joined(separator: ", "))); choose one with --model or MMINF_MODEL"
            )
        }
        return models[0]
    }

    /// `--check`: reach every server, list its models, confirm the model. Returns the report and whether all is well.
    public static func check(baseURLs: [String], model: String?, headers: [String]) -> (String, Bool) {
        var lines: [String] = []
        var ok = true
        for base in baseURLs {
            do {
                let models = try listModels(base, headers: headers)
                var line =
                    "\(base): reachable, \(models.count) model\(models.count == 1 ? "" : "s"): \(models.joined(separator: ", "))"
                if let model, !model.isEmpty {
                    if models.contains(model) {
                        line += "; \(model) is served"
                    } else {
                        line += "; \(model) is NOT listed"
                        ok = false
                    }
                }
                lines.append(line)
            } catch {
                lines.append("\(error)")
                ok = false
            }
        }
        return (lines.joined(separator: "\n"), ok)
    }
}

extension ModelServer.ProbeError {
    public var exitMessage: String? { description }
    public var exitStatus: ExitStatus { .unavailable }
}
