import Foundation
import TetherCore

/// A streamed chat completion put together chunk by chunk (`stream: true`): each `data:`
/// event is a `chat.completion.chunk` whose `choices[0].delta.content` continues the answer;
/// with `stream_options.include_usage` a last chunk carries `usage` and no choices; `[DONE]`
/// ends it.
struct ChatStream {
    private(set) var text = ""
    private(set) var model: String?
    private(set) var usage: TokenUsage?
    /// Whether `[DONE]` came: nothing after it counts.
    private(set) var isDone = false
    /// Whether a choice had its `finish_reason` (the usage may still follow).
    private var isAnswered = false
    /// Whether the stream said it was over (`[DONE]`, or a choice's `finish_reason`).
    var isFinished: Bool { isDone || isAnswered }
    private var sawChoice = false

    /// Why an event could not be taken.
    enum Problem: Error {
        case unreadable(String)
        /// The server sent an error object in place of a chunk.
        case failed(String)
        /// The server sent an error with an HTTP status before any text: as if it had
        /// answered with that status (so a `429` or `503` is retried).
        case refused(status: Int, message: String)

        func openAIError(url: String) -> OpenAIError {
            switch self {
            case .unreadable(let reason): .malformedResponse(reason, url: url)
            case .failed(let message): .failedMidStream(message, url: url)
            case .refused(let status, let message): .http(status: status, message: message, retryAfter: nil, url: url)
            }
        }
    }

    /// Takes one event's data; returns the text it adds to the answer, if any.
    mutating func take(_ data: String) throws(Problem) -> String? {
        if data.trimmingCharacters(in: .whitespaces) == "[DONE]" {
            isDone = true
            return nil
        }
        let chunk: ChatCompletionChunk
        do {
            chunk = try JSONDecoder().decode(ChatCompletionChunk.self, from: Data(data.utf8))
        } catch {
            throw .unreadable("a streamed chunk is not JSON (it begins: \(data.prefix(80)))")
        }
        if let error = chunk.error {
            if text.isEmpty, let status = error.status { throw .refused(status: status, message: error.message) }
            throw .failed(error.message)
        }
        if let model = chunk.model { self.model = model }
        if let usage = chunk.usage { self.usage = usage.tokens }
        guard let choice = chunk.choices?.first else { return nil }
        sawChoice = true
        if choice.finishReason != nil { isAnswered = true }
        guard let content = choice.delta?.content, !content.isEmpty else { return nil }
        text += content
        return content
    }

    /// The answer, once the stream has ended.
    func response(requestedModel: String) throws(Problem) -> LLMResponse {
        guard sawChoice else { throw .unreadable("the stream ended without any choices") }
        return LLMResponse(text: text, model: model ?? requestedModel, usage: usage)
    }
}

struct ChatCompletionChunk: Decodable {
    struct Choice: Decodable {
        struct Delta: Decodable {
            var content: String?
        }
        var delta: Delta?
        var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case delta
            case finishReason = "finish_reason"
        }
    }
    var model: String?
    var choices: [Choice]?
    var usage: ChatCompletionResponse.Usage?
    var error: ErrorEnvelope.Detail?
}

extension ChatCompletionResponse.Usage {
    /// Counts as the run keeps them; a missing total is the sum of the others.
    var tokens: TokenUsage {
        TokenUsage(
            promptTokens: promptTokens ?? 0,
            completionTokens: completionTokens ?? 0,
            totalTokens: totalTokens ?? ((promptTokens ?? 0) + (completionTokens ?? 0))
        )
    }
}
