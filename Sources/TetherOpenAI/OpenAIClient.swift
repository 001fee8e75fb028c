import AsyncHTTPClient
import Foundation
import NIOCore
import TetherCore

/// The `openai` provider: Chat Completions over HTTP through an `HTTPClient` the application
/// owns (see ``HTTPClientService``), never `HTTPClient.shared`, which cannot be shut down.
///
/// A cooperative stop never touches a call in flight: it runs to its answer or its timeout.
public struct OpenAIClient: LLMClient {
    public let provider = "openai"
    public let configuration: OpenAIConfiguration
    let httpClient: HTTPClient

    /// Answers larger than this fail rather than fill memory.
    static let maxResponseBytes = 16 * 1024 * 1024

    public init(configuration: OpenAIConfiguration, httpClient: HTTPClient) {
        self.configuration = configuration
        self.httpClient = httpClient
    }

    public var defaultModel: String { configuration.model }

    public func complete(_ request: LLMRequest) async throws -> LLMResponse {
        var httpRequest = HTTPClientRequest(url: configuration.completionsURL)
        httpRequest.method = .POST
        httpRequest.headers.add(name: "Content-Type", value: "application/json")
        httpRequest.headers.add(name: "Accept", value: "application/json")
        if let key = configuration.apiKey, !key.isEmpty {
            httpRequest.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        let body = ChatCompletionRequest(model: request.model ?? configuration.model, messages: request.messages)
        httpRequest.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))

        let timeout = configuration.timeout
        let deadline =
            NIODeadline.now()
            + .nanoseconds(
                Int64(timeout.components.seconds) * 1_000_000_000
                    + Int64(timeout.components.attoseconds / 1_000_000_000)
            )
        let bytes: ByteBuffer
        let status: UInt
        do {
            let response = try await httpClient.execute(httpRequest, deadline: deadline)
            status = response.status.code
            bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw OpenAIError.timedOut(timeout)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.responseTooLarge(Self.maxResponseBytes)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // HTTPClientError, or NIO's IOError for a refused or reset connection.
            throw OpenAIError.transport(String(describing: error), url: configuration.completionsURL)
        }
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(status) else {
            let detail =
                (try? JSONDecoder().decode(ErrorEnvelope.self, from: data))?.error.message
                ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw OpenAIError.http(status: Int(status), message: detail)
        }
        let completion: ChatCompletionResponse
        do {
            completion = try JSONDecoder().decode(ChatCompletionResponse.self, from: data)
        } catch {
            throw OpenAIError.malformedResponse("not a chat completion: \(error)")
        }
        guard let content = completion.choices.first?.message.content else {
            throw OpenAIError.malformedResponse("the answer has no choices[0].message.content")
        }
        return LLMResponse(
            text: content,
            model: completion.model ?? body.model,
            usage: completion.usage.map {
                TokenUsage(
                    promptTokens: $0.promptTokens ?? 0,
                    completionTokens: $0.completionTokens ?? 0,
                    totalTokens: $0.totalTokens ?? (($0.promptTokens ?? 0) + ($0.completionTokens ?? 0))
                )
            }
        )
    }
}

/// Why an `openai` call failed. The run that made it fails with this message.
public enum OpenAIError: Error, Sendable, Hashable, CustomStringConvertible {
    case timedOut(Duration)
    case transport(String, url: String)
    case http(status: Int, message: String)
    case malformedResponse(String)
    case responseTooLarge(Int)

    public var description: String {
        switch self {
        case .timedOut(let timeout):
            "the LLM did not answer within \(timeout.components.seconds) s (TETHER_LLM_TIMEOUT_SECONDS)"
        case .transport(let reason, let url): "could not reach the LLM at \(url): \(reason)"
        case .http(let status, let message): "the LLM answered HTTP \(status): \(message)"
        case .malformedResponse(let reason): "the LLM's answer could not be read: \(reason)"
        case .responseTooLarge(let limit): "the LLM's answer is larger than \(limit) bytes"
        }
    }
}

struct ChatCompletionRequest: Encodable {
    var model: String
    var messages: [ChatMessage]
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
    }
    var error: Detail
}
