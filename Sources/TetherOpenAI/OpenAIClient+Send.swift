import AsyncHTTPClient
import Foundation
import NIOCore
import TetherCore

/// One attempt of a call: streamed (`stream: true`, usage in the last chunk), its chunks told
/// to the observer as they come. A server that ignores `stream` and answers with one JSON
/// completion is read as such. One that refuses streaming (a `400` naming `stream`,
/// `streaming` or `stream_options`) is asked again at once with a plain call, which reports
/// its usage, and the provider never asks that server for a stream again.
extension OpenAIClient {
    func send(_ request: LLMRequest, observer: (any LLMCallObserver)?) async throws -> LLMResponse {
        guard !streamRefused.isRaised else { return try await send(request, streaming: false, observer: observer) }
        do {
            return try await send(request, streaming: true, observer: observer)
        } catch let error as OpenAIError where error.refusesStreaming {
            // Asking again is a new call: never once a stop was requested.
            try Self.checkStop()
            streamRefused.raise()
            return try await send(request, streaming: false, observer: observer)
        }
    }

    private func send(_ request: LLMRequest, streaming: Bool, observer: (any LLMCallObserver)?) async throws -> LLMResponse {
        let url = configuration.completionsURL
        let model = request.model ?? configuration.model
        let httpRequest = try httpRequest(for: request, model: model, streaming: streaming)
        let timeout = configuration.timeout
        let deadline =
            NIODeadline.now()
            + .nanoseconds(
                Int64(timeout.components.seconds) * 1_000_000_000
                    + Int64(timeout.components.attoseconds / 1_000_000_000)
            )
        var answered = false
        do {
            let response = try await httpClient.execute(httpRequest, deadline: deadline)
            answered = true
            // AsyncHTTPClient's deadline ends with the response's head: the body keeps to it here.
            return try await Self.reading(within: deadline, timeout: timeout, url: url) { answered in
                try await read(response, model: model, observer: observer, answered: answered)
            }
        } catch let error as OpenAIError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw OpenAIError.timedOut(timeout, url: url)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.responseTooLarge(Self.maxResponseBytes, url: url)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // HTTPClientError, or NIO's IOError for a refused or reset connection.
            let reason = String(describing: error)
            if !answered, let clientError = error as? HTTPClientError, clientError == .remoteConnectionClosed {
                throw OpenAIError.closedWithoutAnswer(url: url)
            }
            if answered { throw OpenAIError.closedMidAnswer(reason, url: url) }
            if reason.lowercased().contains("refused") { throw OpenAIError.refused(reason, url: url) }
            throw OpenAIError.transport(reason, url: url)
        }
    }

    private func httpRequest(for request: LLMRequest, model: String, streaming: Bool) throws -> HTTPClientRequest {
        var httpRequest = HTTPClientRequest(url: configuration.completionsURL)
        httpRequest.method = .POST
        httpRequest.headers.add(name: "Content-Type", value: "application/json")
        httpRequest.headers.add(name: "Accept", value: streaming ? "text/event-stream, application/json" : "application/json")
        if let key = configuration.apiKey, !key.isEmpty {
            httpRequest.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        let body = ChatCompletionRequest(
            model: model,
            messages: request.messages,
            stream: streaming ? true : nil,
            streamOptions: streaming ? .init() : nil
        )
        httpRequest.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        return httpRequest
    }

    /// The answer in `response`: an error status, an event stream, or one JSON completion.
    private func read(
        _ response: HTTPClientResponse,
        model: String,
        observer: (any LLMCallObserver)?,
        answered: @escaping @Sendable (LLMResponse) -> Void
    ) async throws -> LLMResponse {
        let url = configuration.completionsURL
        let status = response.status.code
        guard (200..<300).contains(status) else {
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                .map { Duration.seconds(max(0, $0)) }
            let data = Data(try await response.body.collect(upTo: Self.maxResponseBytes).readableBytesView)
            let detail =
                (try? JSONDecoder().decode(ErrorEnvelope.self, from: data))?.error.message
                ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw OpenAIError.http(status: Int(status), message: detail, retryAfter: retryAfter, url: url)
        }
        let contentType = response.headers.first(name: "Content-Type")?.lowercased() ?? ""
        if contentType.hasPrefix("text/event-stream") {
            return try await readStream(response.body, model: model, observer: observer, answered: answered)
        }
        let data = Data(try await response.body.collect(upTo: Self.maxResponseBytes).readableBytesView)
        return try completion(from: data, model: model)
    }

    /// Reads the chunks as they come, telling `observer` each piece of text, and `answered`
    /// the answer as soon as `[DONE]` has come; it reads on to the body's end, so that the
    /// connection can serve another call.
    private func readStream(
        _ body: HTTPClientResponse.Body,
        model: String,
        observer: (any LLMCallObserver)?,
        answered: @Sendable (LLMResponse) -> Void
    ) async throws -> LLMResponse {
        let url = configuration.completionsURL
        var parser = EventStreamParser()
        var stream = ChatStream()
        var size = 0
        func take(_ events: [String]) throws {
            for event in events where !stream.isDone {
                do {
                    if let piece = try stream.take(event) { observer?.received(piece) }
                } catch {
                    throw error.openAIError(url: url)
                }
            }
        }
        do {
            for try await buffer in body {
                size += buffer.readableBytes
                guard size <= Self.maxResponseBytes else { throw OpenAIError.responseTooLarge(Self.maxResponseBytes, url: url) }
                let wasDone = stream.isDone
                try take(parser.feed(buffer.readableBytesView))
                if !wasDone, stream.isDone { answered(try stream.response(requestedModel: model)) }
            }
            if !stream.isDone { try take(parser.finish()) }
        } catch let error where stream.isFinished && !(error is OpenAIError) && !(error is CancellationError) {
            // The connection broke after the answer was whole (its `finish_reason` came).
        }
        guard stream.isFinished else {
            throw OpenAIError.closedMidAnswer("the stream ended before its last chunk", url: url)
        }
        do {
            return try stream.response(requestedModel: model)
        } catch {
            throw error.openAIError(url: url)
        }
    }

    /// A plain (not streamed) chat completion.
    private func completion(from data: Data, model: String) throws -> LLMResponse {
        let url = configuration.completionsURL
        let completion: ChatCompletionResponse
        do {
            completion = try JSONDecoder().decode(ChatCompletionResponse.self, from: data)
        } catch {
            let start = String(decoding: data.prefix(80), as: UTF8.self)
            throw OpenAIError.malformedResponse("not a chat completion (it begins: \(start))", url: url)
        }
        guard let content = completion.choices.first?.message.content else {
            throw OpenAIError.malformedResponse("the answer has no choices[0].message.content", url: url)
        }
        return LLMResponse(text: content, model: completion.model ?? model, usage: completion.usage?.tokens)
    }

    /// How long a body may stay open once its answer is whole (`[DONE]`) before it is cut.
    static let afterAnswerGrace = Duration.seconds(1)

    /// `read`'s result, or ``OpenAIError/timedOut(_:url:)`` once `deadline` passes (the read
    /// is cancelled then). A read that has told its answer (`answered`) but whose body stays
    /// open is cut after ``afterAnswerGrace``: the answer stands.
    private static func reading(
        within deadline: NIODeadline,
        timeout: Duration,
        url: String,
        _ read: @escaping @Sendable (_ answered: @escaping @Sendable (LLMResponse) -> Void) async throws -> LLMResponse
    ) async throws -> LLMResponse {
        let (answers, answered) = AsyncStream.makeStream(of: LLMResponse.self, bufferingPolicy: .bufferingNewest(1))
        return try await withThrowingTaskGroup(of: LLMResponse?.self) { group in
            group.addTask {
                defer { answered.finish() }
                return try await read { answered.yield($0) }
            }
            group.addTask {
                let left = deadline - NIODeadline.now()
                try await Task.sleep(for: .nanoseconds(max(0, left.nanoseconds)))
                return nil
            }
            group.addTask {
                for await answer in answers {
                    try await Task.sleep(for: afterAnswerGrace)
                    return answer
                }
                // The read ended without telling an answer: its own result stands.
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw OpenAIError.timedOut(timeout, url: url)
            }
            return response
        }
    }
}

extension OpenAIError {
    /// A `400` that names `stream`, `streams`, `streaming` or `stream_options` (not
    /// "upstream"): the server does not take streamed calls as asked.
    var refusesStreaming: Bool {
        guard case .http(400, let message, _, _) = self else { return false }
        let text = message.lowercased()
        return text.contains("stream_options") || text.contains("include_usage") || text.contains(#/\bstream(s|ing)?\b/#)
    }
}
