import Foundation
import RecordCore

/// The servers requests are spread over: each request goes to the server with
/// the fewest in flight; one that keeps failing is rested for a while (5 s,
/// doubling to 2 min) and then tried again.
public final class ServerPool {
    /// `http://host:8000/v1` → `http://host:8000`: llama.cpp's and vLLM's own endpoints live at the root.
    public static func root(of base: String) -> String {
        var b = normalize(base)
        if b.hasSuffix("/v1") { b.removeLast(3) }
        return b
    }

    public struct Server {
        public let baseURL: String
        public var inFlight = 0
        var consecutiveFailures = 0
        var restUntil: Date?
        var restSeconds = 5.0
        public var sent = 0
    }

    public private(set) var servers: [Server]
    public static let failuresBeforeRest = 3

    public init(baseURLs: [String]) {
        servers = baseURLs.map { Server(baseURL: ServerPool.normalize($0)) }
    }

    /// `http://host:8000/v1/` → `http://host:8000/v1`.
    public static func normalize(_ url: String) -> String {
        var u = url.trimmingCharacters(in: .whitespaces)
        while u.hasSuffix("/") { u.removeLast() }
        return u
    }

    /// The server to use now, or nil when all are resting.
    public func pick(now: Date = Date()) -> Int? {
        var best: Int?
        for (i, s) in servers.enumerated() {
            if let until = s.restUntil, until > now { continue }
            if best == nil || s.inFlight < servers[best!].inFlight { best = i }
        }
        return best
    }

    public func began(_ i: Int) {
        servers[i].inFlight += 1
        servers[i].sent += 1
    }

    /// `serverFault`: the server could not be reached or answered 5xx/garbage.
    public func ended(_ i: Int, serverFault: Bool, now: Date = Date()) {
        servers[i].inFlight -= 1
        if serverFault {
            servers[i].consecutiveFailures += 1
            if servers[i].consecutiveFailures >= ServerPool.failuresBeforeRest && servers.count > 1 {
                servers[i].restUntil = now.addingTimeInterval(servers[i].restSeconds)
                servers[i].restSeconds = min(120, servers[i].restSeconds * 2)
                servers[i].consecutiveFailures = 0
            }
        } else {
            servers[i].consecutiveFailures = 0
            servers[i].restSeconds = 5
        }
    }

}
