import AsyncHTTPClient
import Logging
import Testing
import TetherApp
import TetherCore
import TetherOpenAI
import TetherTestSupport

/// The `openai` provider holds as many calls in flight as runs wait on them (issue 14):
/// AsyncHTTPClient's default pool allows 8 connections per host, so the ninth call would
/// queue, and fail once it had waited the connect timeout.
@Suite struct CallsInFlightTests {
    @Test func twoHundredCallsAreAllInFlightBeforeAnyIsAnswered() async throws {
        let calls = 200
        let server = try await HeldChatServer.start(holdAnswers: true)
        // The client exactly as `tether serve` makes it, with its default connection limit.
        let service = HTTPClientService.forLLM(
            connectTimeout: .seconds(10),
            maxConnections: AppConfiguration().llmMaxConnections,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        let client = OpenAIClient(
            configuration: OpenAIConfiguration(baseURL: server.baseURL, model: "test-model", apiKey: nil, timeout: .seconds(120)),
            httpClients: service.clients
        )
        #expect(service.clients.count == 16, "10,000 connections are shared among 16 clients of 640")
        do {
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<calls {
                    group.addTask { try await client.complete(LLMRequest(prompt: "call \(index)")).text }
                }
                // The server counts requests as they arrive and answers none until released:
                // all of them arriving means all were in flight at once.
                try await withTimeout(seconds: 120, "every call reaching the server") { await server.waitForRequests(calls) }
                #expect(server.state.requests.count == calls)
                server.releaseAll()
                var answers: [String] = []
                for try await answer in group { answers.append(answer) }
                #expect(answers.count == calls)
                #expect(Set(answers).count == calls, "each call got its own answer")
            }
        } catch {
            for client in service.clients { try? await client.shutdown() }
            await server.shutdown()
            throw error
        }
        for client in service.clients { try await client.shutdown() }
        await server.shutdown()
    }
}
