/// A chat-completion provider: `simulated` or `openai` (DESIGN §6).
///
/// Implementations must not need their task cancelled to be stopped: Tether never cancels
/// an LLM call for a cooperative stop, it lets it finish.
public protocol LLMClient: Sendable {
    /// The provider's name as shown to people (`simulated`, `openai`).
    var provider: String { get }
    /// The model used when a request names none.
    var defaultModel: String { get }
    /// Sends one chat completion and returns its answer.
    func complete(_ request: LLMRequest) async throws -> LLMResponse
    /// The same, telling `observer` what happens to the call before its answer. Providers
    /// with nothing to tell need not implement it.
    func complete(_ request: LLMRequest, observer: any LLMCallObserver) async throws -> LLMResponse
}

extension LLMClient {
    public func complete(_ request: LLMRequest, observer: any LLMCallObserver) async throws -> LLMResponse {
        try await complete(request)
    }
}

/// What a provider reports about a call in flight, before its answer; the run logs it, or
/// shows it to the run's subscribers.
public protocol LLMCallObserver: Sendable {
    /// The call waits for a connection to the provider: all `limit` are in use by other calls.
    func waitingForConnection(limit: Int)
    /// A streamed answer grew by `text` (one chunk's content, in order). The chunks put
    /// together are exactly the answer's `text`. A provider that falls back to a plain call
    /// reports nothing, or the whole answer once.
    func received(_ text: String)
}

extension LLMCallObserver {
    public func waitingForConnection(limit: Int) {}
    public func received(_ text: String) {}
}

/// One chat-completion request.
public struct LLMRequest: Sendable, Hashable {
    public var messages: [ChatMessage]
    /// `nil` for the client's default model.
    public var model: String?
    /// What the call is for, in a word or two (`outline`), shown in its progress events;
    /// never sent to the provider.
    public var label: String?

    public init(messages: [ChatMessage], model: String? = nil, label: String? = nil) {
        self.messages = messages
        self.model = model
        self.label = label
    }

    /// A request of one user prompt, after an optional system message.
    public init(prompt: String, system: String? = nil, model: String? = nil, label: String? = nil) {
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: .system, content: system)) }
        messages.append(ChatMessage(role: .user, content: prompt))
        self.init(messages: messages, model: model, label: label)
    }
}

/// One message of a chat.
public struct ChatMessage: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Hashable, Codable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// A provider's answer.
public struct LLMResponse: Sendable, Hashable {
    public var text: String
    public var model: String
    /// Token counts, when the provider reports them.
    public var usage: TokenUsage?

    public init(text: String, model: String, usage: TokenUsage? = nil) {
        self.text = text
        self.model = model
        self.usage = usage
    }
}

/// Token counts of one call.
public struct TokenUsage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }
}
