import AsyncHTTPClient
import Testing
import TetherCore
import TetherTestSupport

@testable import TetherOpenAI

/// The `openai` provider retries only what is safe to retry (issue 13): a refused
/// connection, `429`, `502`, `503`, `504`; with capped backoff or the server's
/// `Retry-After`; at most `TETHER_LLM_RETRIES` times; never once a stop is requested.
@Suite struct RetryTests {
    static func withClient<T: Sendable>(
        _ server: HeldChatServer,
        retries: Int = 2,
        _ body: (OpenAIClient) async throws -> T
    ) async throws -> T {
        var configuration = HTTPClient.Configuration()
        // A refused connection is retried by the client's pool until its connect timeout.
        configuration.timeout.connect = .seconds(1)
        return try await withHTTPClient(configuration: configuration) { http in
            try await body(
                OpenAIClient(
                    configuration: OpenAIConfiguration(
                        baseURL: server.baseURL,
                        model: "test-model",
                        retries: retries,
                        backoff: .milliseconds(5),
                        backoffCap: .milliseconds(20)
                    ),
                    httpClient: http
                )
            )
        }
    }

    @Test(arguments: [429, 502, 503, 504])
    func aRetryableAnswerIsTriedAgain(status: Int) async throws {
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            fault: { index in
                index == 0 ? .init(status: status) : nil
            }
        )
        let response = try await Self.withClient(server) { try await $0.complete(LLMRequest(prompt: "hi")) }
        #expect(response.text == "Answer 2.")
        #expect(server.state.requests.count == 2)
        await server.shutdown()
    }

    @Test(arguments: [400, 401, 404, 500])
    func otherErrorsAreNotRetried(status: Int) async throws {
        let server = try await HeldChatServer.start(holdAnswers: false, fault: { _ in .init(status: status) })
        await #expect(throws: OpenAIError.self) {
            try await Self.withClient(server) { try await $0.complete(LLMRequest(prompt: "hi")) }
        }
        #expect(server.state.requests.count == 1)
        await server.shutdown()
    }

    @Test func retriesStopAtTheirLimit() async throws {
        let server = try await HeldChatServer.start(holdAnswers: false, fault: { _ in .init(status: 503) })
        let error = await #expect(throws: OpenAIError.self) {
            try await Self.withClient(server, retries: 2) { try await $0.complete(LLMRequest(prompt: "hi")) }
        }
        #expect(error?.description.contains("HTTP 503") == true)
        #expect(server.state.requests.count == 3, "one call and two retries")
        await server.shutdown()
    }

    @Test func retryAfterIsHonouredUpToItsCapAndBackoffIsCapped() {
        let client = OpenAIClient(
            configuration: OpenAIConfiguration(
                baseURL: "http://127.0.0.1:1",
                model: "m",
                backoff: .milliseconds(500),
                backoffCap: .seconds(8),
                retryAfterCap: .seconds(30)
            ),
            httpClient: HTTPClient.shared
        )
        #expect(client.delay(before: 1, retryAfter: .seconds(3)) == .seconds(3))
        #expect(client.delay(before: 1, retryAfter: .seconds(3600)) == .seconds(30))
        for number in 1...10 {
            let pause = client.delay(before: number, retryAfter: nil)
            let full = min(Duration.milliseconds(500) * (1 << (number - 1)), .seconds(8))
            #expect(pause >= full * 0.5 && pause <= full, "retry \(number): \(pause)")
        }
    }

    @Test func aStopDuringTheBackoffEndsTheCallAtOnceWithNoRetry() async throws {
        let server = try await HeldChatServer.start(
            holdAnswers: false,
            fault: { _ in
                .init(status: 503, headers: [("Retry-After", "600")])
            }
        )
        let token = CancelToken()
        try await Self.withClient(server) { client in
            let call = Task {
                try await CancelToken.$current.withValue(token) { try await client.complete(LLMRequest(prompt: "hi")) }
            }
            try await withTimeout { await server.waitForCompletedResponses(1) }
            token.requestStop()
            let result = await call.result
            #expect(throws: AgentStopped(boundary: .llm)) { try result.get() }
        }
        #expect(server.state.requests.count == 1, "no retry once the stop was requested")
        await server.shutdown()
    }

    @Test func aRefusedConnectionIsRetried() async throws {
        let server = try await HeldChatServer.start(holdAnswers: false)
        await server.shutdown()
        let error = await #expect(throws: OpenAIError.self) {
            try await Self.withClient(server, retries: 2) { try await $0.complete(LLMRequest(prompt: "hi")) }
        }
        #expect(error?.isRetryable == true, "\(String(describing: error))")
        #expect(error?.description.contains("could not reach the LLM") == true)
    }
}
