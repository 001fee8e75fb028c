import AsyncHTTPClient
import Glibc
import Testing
import TetherCore
import TetherOpenAI
import TetherTestSupport

@Suite struct OpenAIClientTests {
    func withClient<T: Sendable>(
        _ server: HeldChatServer,
        apiKey: String? = nil,
        timeout: Duration = .seconds(30),
        _ body: (OpenAIClient) async throws -> T
    ) async throws -> T {
        try await withClient(baseURL: server.baseURL, apiKey: apiKey, timeout: timeout, body)
    }

    func withClient<T: Sendable>(
        baseURL: String,
        apiKey: String? = nil,
        timeout: Duration = .seconds(30),
        _ body: (OpenAIClient) async throws -> T
    ) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(2)
        return try await withHTTPClient(configuration: configuration) { http in
            try await body(
                OpenAIClient(
                    configuration: OpenAIConfiguration(baseURL: baseURL + "/", model: "test-model", apiKey: apiKey, timeout: timeout),
                    httpClient: http
                )
            )
        }
    }

    @Test func sendsTheChatAndReadsTheAnswerWithItsUsage() async throws {
        let server = try await HeldChatServer.start(holdAnswers: false) { _, body in
            "You said: \(body["messages"]?.arrayValue?.last?["content"]?.stringValue ?? "?")"
        }
        let response = try await withClient(server, apiKey: "sk-test") { client in
            try await client.complete(LLMRequest(prompt: "Hello <world> \"quoted\"", system: "Be brief."))
        }
        #expect(response.text == "You said: Hello <world> \"quoted\"")
        #expect(response.model == "test-model")
        #expect(response.usage == TokenUsage(promptTokens: 11, completionTokens: 7, totalTokens: 18))
        let sent = try #require(server.state.requests.first)
        #expect(sent["model"] == "test-model")
        #expect(sent["messages"] == [["role": "system", "content": "Be brief."], ["role": "user", "content": "Hello <world> \"quoted\""]])
        #expect(server.state.authorizations == ["Bearer sk-test"])
        await server.shutdown()
    }

    @Test func aCallPastTheTimeoutFailsWithAClearError() async throws {
        let server = try await HeldChatServer.start(holdAnswers: true)
        await #expect(throws: OpenAIError.timedOut(.milliseconds(300), url: server.baseURL + "/chat/completions")) {
            try await withClient(server, timeout: .milliseconds(300)) { client in
                try await client.complete(LLMRequest(prompt: "never answered"))
            }
        }
        server.releaseAll()
        await server.shutdown()
    }

    @Test func anUnreachableServerFailsWithAClearError() async throws {
        let refusing = try RefusingPort()
        let port = refusing.port
        let error = await #expect(throws: OpenAIError.self) {
            try await withClient(baseURL: "http://127.0.0.1:\(port)/v1") { client in try await client.complete(LLMRequest(prompt: "hi")) }
        }
        #expect(
            error?.description.contains("could not reach the LLM at http://127.0.0.1:\(port)/v1/chat/completions") == true,
            "\(String(describing: error))"
        )
    }

    /// Proves the server's abort detection works: cancelling the calling task (what a
    /// cooperative stop must never do) is seen by the server as an aborted request.
    @Test func theTestServerSeesACancelledCallAsAborted() async throws {
        let server = try await HeldChatServer.start(holdAnswers: true)
        try await withClient(server) { client in
            let call = Task { try await client.complete(LLMRequest(prompt: "to be cancelled")) }
            try await withTimeout { await server.waitForRequests(1) }
            call.cancel()
            _ = await call.result
            try await withTimeout { await server.waitUntil { $0.abortedRequests == 1 } }
        }
        server.releaseAll()
        #expect(server.state.completedResponses == 0)
        await server.shutdown()
    }
}
