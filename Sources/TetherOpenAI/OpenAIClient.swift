import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import TetherCore

/// The `openai` provider: Chat Completions over HTTP through an `HTTPClient` the application
/// owns (see ``HTTPClientService``), never `HTTPClient.shared`, which cannot be shut down.
///
/// Calls are streamed (see `send(_:observer:)`): the observer hears each chunk of the answer
/// as it comes, and the answer is exactly the chunks put together.
///
/// A cooperative stop never touches a call in flight: it streams on to its answer or its
/// timeout. Only a force (the task cancelled) cuts it.
public struct OpenAIClient: LLMClient {
    public let provider = "openai"
    public let configuration: OpenAIConfiguration
    /// The clients calls are shared among, in turn (``HTTPClientService/forLLM``).
    let httpClients: [HTTPClient]
    private let turn: Turn
    /// As many calls in flight as the clients have connections; the others wait here, and
    /// their run says so.
    let gate: CallGate
    /// Whether the server refused a streamed call once: then no call asks for a stream again.
    let streamRefused: Flag

    /// Answers larger than this fail rather than fill memory.
    static let maxResponseBytes = 16 * 1024 * 1024

    /// `maxConnections` must be the connection limit `httpClient` was made with.
    public init(configuration: OpenAIConfiguration, httpClient: HTTPClient, maxConnections: Int = OpenAIConfiguration.defaultMaxConnections) {
        self.init(configuration: configuration, httpClients: [httpClient], maxConnections: maxConnections)
    }

    /// With the clients of ``HTTPClientService/forLLM(connectTimeout:maxConnections:logger:)``;
    /// each must allow `maxConnections` connections.
    public init(configuration: OpenAIConfiguration, httpClients: [HTTPClient], maxConnections: Int = OpenAIConfiguration.defaultMaxConnections) {
        precondition(!httpClients.isEmpty, "an openai provider needs a client")
        self.configuration = configuration
        self.httpClients = httpClients
        self.turn = Turn()
        self.gate = CallGate(limit: maxConnections)
        self.streamRefused = Flag()
    }

    /// The client whose turn it is.
    var httpClient: HTTPClient {
        httpClients.count == 1 ? httpClients[0] : httpClients[turn.next() % httpClients.count]
    }

    public var defaultModel: String { configuration.model }

    /// Sends the call, and tries it again — at most ``OpenAIConfiguration/retries`` times,
    /// after a capped, jittered backoff or the server's `Retry-After` — when it failed in a
    /// way safe to retry (``OpenAIError/isRetryable``). Never once a stop was requested: a
    /// stop during a backoff throws `AgentStopped` at the `llm` boundary at once.
    public func complete(_ request: LLMRequest) async throws -> LLMResponse {
        try await complete(request, observer: nil)
    }

    public func complete(_ request: LLMRequest, observer: any LLMCallObserver) async throws -> LLMResponse {
        try await complete(request, observer: Optional(observer))
    }

    func complete(_ request: LLMRequest, observer: (any LLMCallObserver)?) async throws -> LLMResponse {
        var attempt = 0
        while true {
            do {
                // Each attempt takes a connection of its own, none is held during a backoff.
                return try await gate.withPlace(onWait: { observer?.waitingForConnection(limit: gate.limit) }) {
                    try await send(request, observer: observer)
                }
            } catch let error as OpenAIError where error.isRetryable && attempt < configuration.retries {
                try Self.checkStop()
                let pause = delay(before: attempt + 1, retryAfter: error.retryAfter)
                attempt += 1
                try await Self.sleepUnlessStopped(for: pause)
            }
        }
    }

    /// The pause before retry `number` (1-based).
    func delay(before number: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, configuration.retryAfterCap) }
        let exponential = configuration.backoff * (1 << min(number - 1, 16))
        let capped = min(exponential, configuration.backoffCap)
        // Full jitter between half and all of it, so that many runs do not retry in step.
        return capped * Double.random(in: 0.5...1.0)
    }

    static func checkStop() throws {
        if CancelToken.current?.isStopRequested == true { throw AgentStopped(boundary: .llm) }
    }

    /// Sleeps, waking at once (with `AgentStopped` at the `llm` boundary) when the run's stop
    /// is requested.
    static func sleepUnlessStopped(for duration: Duration) async throws {
        guard let token = CancelToken.current else { return try await Task.sleep(for: duration) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await token.stopRequested() }
            await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
        try checkStop()
    }
}

/// Why an `openai` call failed. The run that made it fails with this message.
public enum OpenAIError: Error, Sendable, Hashable, CustomStringConvertible {
    case timedOut(Duration, url: String)
    /// The server refused the connection (nothing listens): safe to retry.
    case refused(String, url: String)
    case transport(String, url: String)
    /// The server closed the connection before its answer was whole.
    case closedMidAnswer(String, url: String)
    /// The server closed the connection after the request, before any answer (it may have
    /// acted on the request: not retried).
    case closedWithoutAnswer(url: String)
    case http(status: Int, message: String, retryAfter: Duration?, url: String)
    case malformedResponse(String, url: String)
    case responseTooLarge(Int, url: String)
    /// The server broke off a streamed answer with an error object.
    case failedMidStream(String, url: String)

    public var description: String {
        switch self {
        case .timedOut(let timeout, let url):
            "the LLM at \(url) did not answer within \(Self.format(timeout)) (TETHER_LLM_TIMEOUT_SECONDS)"
        case .closedMidAnswer(let reason, let url):
            "the LLM at \(url) closed the connection before its answer was complete (\(reason))"
        case .closedWithoutAnswer(let url): "the LLM at \(url) closed the connection without answering"
        case .transport(let reason, let url), .refused(let reason, let url): "could not reach the LLM at \(url): \(reason)"
        case .http(let status, let message, _, let url): "the LLM at \(url) answered HTTP \(status): \(message)"
        case .malformedResponse(let reason, let url): "the answer of the LLM at \(url) could not be read: \(reason)"
        case .responseTooLarge(let limit, let url): "the answer of the LLM at \(url) is larger than \(limit) bytes"
        case .failedMidStream(let message, let url): "the LLM at \(url) broke off its streamed answer: \(message)"
        }
    }
}

extension OpenAIError {
    /// Whether the call can safely be sent again: it never reached the model (a refused
    /// connection) or the server said to come back (`429`, `502`, `503`, `504`).
    public var isRetryable: Bool {
        switch self {
        case .refused: true
        case .http(let status, _, _, _): [429, 502, 503, 504].contains(status)
        case .timedOut, .transport, .closedMidAnswer, .closedWithoutAnswer, .malformedResponse, .responseTooLarge, .failedMidStream: false
        }
    }

    /// `120 s`, `500 ms`.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds >= 1, attoseconds == 0 { return "\(seconds) s" }
        let total = Double(seconds) + Double(attoseconds) / 1e18
        return total < 1 ? "\(Int((total * 1000).rounded())) ms" : String(format: "%.1f s", total)
    }

    /// How long the server asked to wait (`Retry-After`, in seconds).
    public var retryAfter: Duration? {
        if case .http(_, _, let retryAfter, _) = self { return retryAfter }
        return nil
    }
}

struct ChatCompletionRequest: Encodable {
    struct StreamOptions: Encodable, Equatable {
        var includeUsage = true

        enum CodingKeys: String, CodingKey {
            case includeUsage = "include_usage"
        }
    }
    var model: String
    var messages: [ChatMessage]
    /// `true` for a streamed answer; absent for a plain one.
    var stream: Bool?
    /// With `stream`: the usage comes in a last chunk.
    var streamOptions: StreamOptions?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream
        case streamOptions = "stream_options"
    }
}

struct ChatCompletionResponse: Decodable {
    struct Choice: Decodable {
        struct Message: Decodable {
            var content: String?
        }
        var message: Message
    }
    struct Usage: Decodable {
        var promptTokens: Int?
        var completionTokens: Int?
        var totalTokens: Int?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }
    var model: String?
    var choices: [Choice]
    var usage: Usage?
}

struct ErrorEnvelope: Decodable {
    struct Detail: Decodable {
        var message: String
        /// An HTTP status some gateways put in an error they stream (`"code": 429`); OpenAI's
        /// own codes are words, and read as none.
        var status: Int?

        enum CodingKeys: String, CodingKey { case message, code }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            message = try container.decode(String.self, forKey: .message)
            status = (try? container.decode(Int.self, forKey: .code)).flatMap { (400..<600).contains($0) ? $0 : nil }
        }
    }
    var error: Detail
}

/// A flag that, once raised, stays raised.
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    var isRaised: Bool { raised.load(ordering: .relaxed) }
    func raise() { raised.store(true, ordering: .relaxed) }
}

/// A counter handing out turns, for sharing calls among clients.
final class Turn: Sendable {
    private let counter = Atomic<Int>(0)
    func next() -> Int { counter.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max }
}
