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

    public init(baseURL: String, model: String, apiKey: String? = nil, timeout: Duration = .seconds(120)) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.timeout = timeout
    }

    /// The endpoint the requests go to.
    public var completionsURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/chat/completions"
    }
}
