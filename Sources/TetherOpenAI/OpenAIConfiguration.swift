/// Settings of the `openai` provider (DESIGN §8): any server that answers
/// `POST {baseURL}/chat/completions` the way OpenAI's Chat Completions API does.
public struct OpenAIConfiguration: Sendable, Hashable {
    /// `TETHER_LLM_BASE_URL`, for instance `https://api.openai.com/v1` or
    /// `http://127.0.0.1:11434/v1`; a trailing `/` is ignored.
    public var baseURL: String
    /// `TETHER_LLM_MODEL`.
    public var model: String
    /// `TETHER_LLM_API_KEY`, sent as a bearer token when set.
    public var apiKey: String?
    /// `TETHER_LLM_TIMEOUT_SECONDS`: a call that has not fully answered by then fails.
    public var timeout: Duration
    /// `TETHER_LLM_RETRIES`: how many times a call that failed in a way safe to retry (a
    /// refused connection, `429`, `502`, `503`, `504`) is tried again, never once a stop was
    /// requested.
    public var retries: Int
    /// The first pause before a retry; each next one doubles, up to ``backoffCap``, with
    /// jitter. A `Retry-After` the server sends wins, up to ``retryAfterCap``.
    public var backoff: Duration
    public var backoffCap: Duration
    public var retryAfterCap: Duration

    public init(
        baseURL: String,
        model: String,
        apiKey: String? = nil,
        timeout: Duration = .seconds(120),
        retries: Int = 2,
        backoff: Duration = .milliseconds(500),
        backoffCap: Duration = .seconds(8),
        retryAfterCap: Duration = .seconds(30)
    ) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.backoffCap = backoffCap
        self.retryAfterCap = retryAfterCap
    }

    /// `TETHER_LLM_MAX_CONNECTIONS` when not set: calls in flight at once, each on its own
    /// HTTP/1.1 connection.
    public static let defaultMaxConnections = 10_000

    /// The endpoint the requests go to.
    public var completionsURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/chat/completions"
    }
}
