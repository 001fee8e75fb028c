import AsyncHTTPClient
import Foundation
import NIOCore
import TetherCore

/// One attempt of a call: streamed (`stream: true`, usage in the last chunk), its chunks told
/// to the observer as they come. A server that ignores `stream` and answers with one JSON
/// completion is read as such. One that refuses `stream_options` (a `400` naming it) is asked
/// again at once with `stream` alone; one that refuses `stream` itself, without it. Either
/// way the provider remembers, and never asks that server for more again.
extension OpenAIClient {
    func send(_ request: LLMRequest, observer: (any LLMCallObserver)?) async throws -> LLMResponse {
        var mode = streamSupport.mode
        while true {
            do {
                return try await send(request, mode: mode, observer: observer)
            } catch let error as OpenAIError {
                guard let lower = error.refusal(of: mode) else { throw error }
                // Asking again is a new call: never once a stop was requested.
                try Self.checkStop()
                streamSupport.lower(to: lower)
                mode = lower
            }
        }
    }

    private func send(_ request: LLMRequest, mode: StreamSupport.Mode, observer: (any LLMCallObserver)?) async throws -> LLMResponse {
        let url = configuration.completionsURL
        let model = request.model ?? configuration.model
        let httpRequest = try httpRequest(for: request, model: model, mode: mode)
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
            return try await Self.within(deadline, timeout: timeout, url: url) {
                try await read(response, model: model, observer: observer)
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

    private func httpRequest(for request: LLMRequest, model: String, mode: StreamSupport.Mode) throws -> HTTPClientRequest {
        let streaming = mode != .plain
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
            streamOptions: mode == .streamWithUsage ? .init() : nil
        )
        httpRequest.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        return httpRequest
    }

    /// The answer in `response`: an error status, an event stream, or one JSON completion.
    private func read(_ response: HTTPClientResponse, model: String, observer: (any LLMCallObserver)?) async throws -> LLMResponse {
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
            return try await readStream(response.body, model: model, observer: observer)
        }
        let data = Data(try await response.body.collect(upTo: Self.maxResponseBytes).readableBytesView)
        return try completion(from: data, model: model)
    }

    /// Reads the chunks as they come, telling `observer` each piece of text.
    private func readStream(
        _ body: HTTPClientResponse.Body,
        model: String,
        observer: (any LLMCallObserver)?
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
                try take(parser.feed(buffer.readableBytesView))
                // Whatever a server sends after `[DONE]`, or however long it keeps the body open.
                if stream.isDone { break }
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

    /// `read`'s result, or ``OpenAIError/timedOut(_:url:)`` once `deadline` passes (the read
    /// is cancelled then).
    private static func within(
        _ deadline: NIODeadline,
        timeout: Duration,
        url: String,
        _ read: @escaping @Sendable () async throws -> LLMResponse
    ) async throws -> LLMResponse {
        try await withThrowingTaskGroup(of: LLMResponse?.self) { group in
            group.addTask { try await read() }
            group.addTask {
                let left = deadline - NIODeadline.now()
                try await Task.sleep(for: .nanoseconds(max(0, left.nanoseconds)))
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
    /// The mode to ask again in, if this is a `400` refusing what `mode` sent: one naming
    /// `stream_options` (or `include_usage`) refuses the options, one naming `stream` as a
    /// word (not "upstream") refuses streaming.
    func refusal(of mode: StreamSupport.Mode) -> StreamSupport.Mode? {
        guard case .http(400, let message, _, _) = self, mode != .plain else { return nil }
        let text = message.lowercased()
        if mode == .streamWithUsage, text.contains("stream_options") || text.contains("include_usage") { return .streamWithoutUsage }
        return text.contains(#/\bstream\b/#) ? .plain : nil
    }
}
