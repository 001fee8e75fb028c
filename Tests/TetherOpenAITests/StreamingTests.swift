import AsyncHTTPClient
import Testing
import TetherCore
import TetherTestSupport

@testable import TetherOpenAI

/// Tells the test each chunk of text the provider reports.
final class RecordingObserver: LLMCallObserver {
    let pieces = Condition<[String]>([])

    func received(_ text: String) {
        pieces.update { $0.append(text) }
    }
}

/// The `openai` provider streams (issue 17, part 3), against a loopback server that sends
/// its chunks when the test lets it.
@Suite struct StreamingTests {
    static let answer = "Moths find a light by keeping it at a fixed angle — héllo 🌍."

    func client(_ server: HeldChatServer, http: HTTPClient, timeout: Duration = .seconds(30)) -> OpenAIClient {
        OpenAIClient(
            configuration: OpenAIConfiguration(baseURL: server.baseURL, model: "test-model", timeout: timeout, retries: 0),
            httpClient: http
        )
    }

    @Test func theAnswerStreamsChunkByChunkAndIsExactlyTheChunksPutTogether() async throws {
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            answer: { _, _ in Self.answer },
            streaming: .init(holdsChunks: true)
        )
        let chunks = HeldChatServer.Streaming.words(Self.answer)
        let observer = RecordingObserver()
        try await withHTTPClient { http in
            let llm = client(server, http: http)
            let call = Task { try await llm.complete(LLMRequest(prompt: "Why moths?"), observer: observer) }
            try await withTimeout(seconds: 60, "the streamed call") {
                server.releaseChunks(of: 0, upTo: 2)
                await observer.pieces.wait { $0.count == 2 }
                #expect(observer.pieces.value == Array(chunks.prefix(2)), "the chunks arrive as they are sent")
                #expect(server.state.completedResponses == 0, "before the answer has ended")
                server.releaseAll()
                let response = try await call.value
                #expect(response.text == Self.answer)
                #expect(observer.pieces.value.joined() == response.text)
                #expect(observer.pieces.value == chunks)
                #expect(response.usage == TokenUsage(promptTokens: 11, completionTokens: 7, totalTokens: 18), "usage from the last chunk")
                #expect(response.model == "test-model")
            }
        }
        let sent = try #require(server.state.requests.first)
        #expect(sent["stream"] == true && sent["stream_options"]?["include_usage"] == true)
        await server.shutdown()
    }

    @Test func aServerThatIgnoresStreamIsReadAsOnePlainAnswer() async throws {
        let server = try await HeldChatServer.start(holdAnswers: false, answer: { _, _ in Self.answer })
        let observer = RecordingObserver()
        let response = try await withHTTPClient { http in
            try await client(server, http: http).complete(LLMRequest(prompt: "Why moths?"), observer: observer)
        }
        #expect(response.text == Self.answer && response.usage?.totalTokens == 18)
        #expect(server.state.requests.first?["stream"] == true, "it was asked for a stream")
        #expect(observer.pieces.value.isEmpty)
        await server.shutdown()
    }

    @Test func aServerThatRefusesStreamIsAskedAgainWithoutItAndNeverForAStreamAgain() async throws {
        let refusal = HeldChatServer.Fault(status: 400, body: #"{"error": {"message": "Unsupported parameter: 'stream'"}}"#)
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            answer: { index, _ in "Answer \(index + 1)." },
            fault: { $0 == 0 ? refusal : nil },
            streaming: .init()
        )
        let (first, second) = try await withHTTPClient { http in
            let llm = client(server, http: http)
            return (try await llm.complete(LLMRequest(prompt: "one")), try await llm.complete(LLMRequest(prompt: "two")))
        }
        #expect(first.text == "Answer 2." && second.text == "Answer 3.")
        let requests = server.state.requests
        #expect(requests.count == 3)
        #expect(requests.map { $0["stream"] } == [true, nil, nil])
        #expect(requests.map { $0["stream_options"] } == [["include_usage": true], nil, nil])
        await server.shutdown()
    }

    /// Streaming without `stream_options` would lose the usage, and with it the token and
    /// cost budgets: a server refusing the options gets plain calls.
    @Test(arguments: [
        "Unrecognized request argument supplied: stream_options",
        "Streaming is not supported for this model",
    ])
    func aServerRefusingStreamOptionsOrStreamingGetsPlainCallsWithTheirUsage(message: String) async throws {
        let refusal = HeldChatServer.Fault(status: 400, body: #"{"error": {"message": "\#(message)"}}"#)
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            answer: { index, _ in "Answer \(index + 1)." },
            fault: { $0 == 0 ? refusal : nil },
            streaming: .init()
        )
        let observer = RecordingObserver()
        let (first, second) = try await withHTTPClient { http in
            let llm = client(server, http: http)
            return (try await llm.complete(LLMRequest(prompt: "one"), observer: observer), try await llm.complete(LLMRequest(prompt: "two")))
        }
        #expect(first.text == "Answer 2." && second.text == "Answer 3.")
        #expect(first.usage?.totalTokens == 18 && observer.pieces.value.isEmpty)
        let requests = server.state.requests
        #expect(requests.map { $0["stream"] } == [true, nil, nil])
        await server.shutdown()
    }

    @Test func aBadRequestThatOnlyMentionsUpstreamIsNotTakenForARefusal() async throws {
        let fault = HeldChatServer.Fault(status: 400, body: #"{"error": {"message": "upstream rejected the prompt"}}"#)
        let server = try await HeldChatServer.start(holdAnswers: false, fault: { _ in fault }, streaming: .init())
        let error = await #expect(throws: OpenAIError.self) {
            try await withHTTPClient { http in try await client(server, http: http).complete(LLMRequest(prompt: "one")) }
        }
        #expect(error?.description.contains("HTTP 400: upstream rejected the prompt") == true, "\(String(describing: error))")
        #expect(server.state.requests.count == 1)
        await server.shutdown()
    }

    @Test func theAnswerEndsAtDoneEvenIfTheServerKeepsTheResponseOpen() async throws {
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            answer: { _, _ in Self.answer },
            streaming: .init(keepsOpenAfterDone: true)
        )
        let response = try await withHTTPClient { http in
            try await client(server, http: http, timeout: .seconds(20)).complete(LLMRequest(prompt: "Why moths?"))
        }
        #expect(response.text == Self.answer && response.usage?.totalTokens == 18)
        await server.shutdown()
    }

    @Test func aStreamCutMidAnswerFailsAndSaysSo() async throws {
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            answer: { _, _ in Self.answer },
            streaming: .init(closesAfterChunks: 3)
        )
        let observer = RecordingObserver()
        let error = await #expect(throws: OpenAIError.self) {
            try await withHTTPClient { http in
                try await client(server, http: http).complete(LLMRequest(prompt: "Why moths?"), observer: observer)
            }
        }
        guard case .closedMidAnswer = error else {
            Issue.record("expected closedMidAnswer, got \(String(describing: error))")
            return
        }
        #expect(error?.isRetryable == false, "part of the answer was paid for")
        #expect(observer.pieces.value == Array(HeldChatServer.Streaming.words(Self.answer).prefix(3)))
        #expect(server.state.requests.count == 1)
        await server.shutdown()
    }

    /// The timeout covers the whole stream, not only its head: a call whose first chunk came
    /// still times out when the rest does not. 5 s leaves room for the first chunk under load.
    @Test func aStreamStillGoingAtTheTimeoutFailsWithTheTimeout() async throws {
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            answer: { _, _ in Self.answer },
            streaming: .init(holdsChunks: true)
        )
        server.releaseChunks(of: 0, upTo: 1)
        let observer = RecordingObserver()
        let timeout = Duration.seconds(5)
        await #expect(throws: OpenAIError.timedOut(timeout, url: server.baseURL + "/chat/completions")) {
            try await withHTTPClient { http in
                try await client(server, http: http, timeout: timeout).complete(LLMRequest(prompt: "slow"), observer: observer)
            }
        }
        #expect(observer.pieces.value == ["Moths"], "the head and a chunk came in time; the rest did not")
        server.releaseAll()
        await server.shutdown()
    }

    @Test func theEventStreamParserFollowsTheRules() {
        var parser = EventStreamParser()
        let bytes = Array("data: {\"a\":\r\ndata: 1}\r\n\r\n: a comment\n\nevent: x\nid: 3\ndata:no space\n\ndata: é🌍\rdata: [DONE]".utf8)
        var events: [String] = []
        // Split the bytes at every place, one UTF-8 character included, as the network may.
        for byte in bytes { events += parser.feed([byte]) }
        #expect(events == ["{\"a\":\n1}", "no space"])
        #expect(parser.finish() == ["é🌍\n[DONE]"], "an event the body ends without a blank line still counts")
    }

    @Test func aChunkHoldingAnErrorFailsTheCallWithItsMessage() throws {
        var stream = ChatStream()
        #expect(try stream.take(#"{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"#) == nil)
        #expect(try stream.take(#"{"choices":[{"index":0,"delta":{"content":"Hi"}}]}"#) == "Hi")
        #expect(!stream.isFinished)
        #expect(throws: ChatStream.Problem.self) { try stream.take(#"{"error":{"message":"overloaded"}}"#) }
        #expect(throws: ChatStream.Problem.self) { try stream.take("not json") }
        #expect(ChatStream.Problem.failed("overloaded").openAIError(url: "u").description == "the LLM at u broke off its streamed answer: overloaded")
        #expect(throws: ChatStream.Problem.self) { try stream.take(#"{"error":{"message":"busy","code":503}}"#) }
        var fresh = ChatStream()
        do {
            _ = try fresh.take(#"{"error":{"message":"slow down","code":429}}"#)
            Issue.record("an error chunk must throw")
        } catch {
            let mapped = error.openAIError(url: "u")
            #expect(mapped == .http(status: 429, message: "slow down", retryAfter: nil, url: "u") && mapped.isRetryable, "before any text: as a 429")
        }
        #expect(try stream.take("[DONE]") == nil && stream.isFinished)
        #expect(try stream.response(requestedModel: "m") == LLMResponse(text: "Hi", model: "m"))
    }
}
