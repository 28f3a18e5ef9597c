import RecordCore

/// Settings of the request loop (docs/gen.md, "The request loop").
public struct EngineOptions {
    public var concurrency = 64
    public var retries = 5
    public var timeout = 600.0
    public var connectTimeout = 10.0
    public var rps: Double?
    public var tpm: Double?
    public var unordered = false
    /// Records between the oldest unwritten one and the newest admitted.
    public var window: Int?
    public var progressEvery = 10.0
    public var step = "gen"
    public var failuresPath: String?
    public var statsPath: String?
    public var headers: [String] = []
    /// The longest a server's Retry-After is waited for; a longer one waits this long, then retries.
    public var maxRetryWait = 120.0
    /// The most bytes of one answer read; a longer answer fails its record.
    public var maxResponseBytes = 64 << 20
    /// Failed records that still end the run with status 0.
    public var maxFailures = FailureBudget.none
    public var backoffBase = 0.5
    public var backoffCap = 30.0
    public init() {}
}

/// One request a record needs.
public struct PlannedCall {
    public var path: String
    public var body: [UInt8]
    /// nil: never cached.
    public var cacheKey: String?
    /// The path is below the server's root (`/completion`), not below `/v1`.
    public var fromRoot = false
    /// The request's `max_tokens`, for the --tpm estimate.
    public var maxTokens: Int?

    public init(path: String, body: [UInt8], cacheKey: String?, fromRoot: Bool = false, maxTokens: Int? = nil) {
        self.path = path
        self.body = body
        self.cacheKey = cacheKey
        self.fromRoot = fromRoot
        self.maxTokens = maxTokens
    }
}
