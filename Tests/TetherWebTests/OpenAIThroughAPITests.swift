import Foundation
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport

/// The API with the `openai` provider configured by settings, against a chat server on
/// 127.0.0.1 that holds its answers until released.
@Suite struct OpenAIThroughAPITests {
    func openAIConfiguration(_ server: HeldChatServer) -> AppConfiguration {
        testConfiguration { configuration in
            configuration.llm = .openai
            configuration.llmBaseURL = server.baseURL
            configuration.llmModel = "test-model"
        }
    }

    @Test func aStopDuringTheCallLetsItFinishAndSendsNoSecondRequest() async throws {
        let server = try await HeldChatServer.start(holdAnswers: true) { _, _ in "The whole held answer." }
        try await withServer(configuration: openAIConfiguration(server), agents: TestAgents.all, llm: nil) { client, supervisor in
            let id = try await client.startRun("one-call")
            try await withTimeout { await server.waitForRequests(1) }
            let stop = try await client.execute(uri: "/runs/\(id)/stop", method: .post)
            let stopBody = try stop.json()
            #expect(stop.status == .accepted && stopBody["status"] == "stopping")
            #expect(server.state.completedResponses == 0, "202 came while the call was still held")
            server.release(0)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(final.status == .stopped)
            #expect(server.state.completedResponses == 1 && server.state.abortedRequests == 0)
            #expect(server.state.requests.count == 1, "no second LLM request")
            let body = try await client.execute(uri: "/runs/\(id)", method: .get).json()
            let events = try #require(body["events"]?.arrayValue)
            let kinds = events.compactMap { $0["kind"]?.stringValue }
            #expect(kinds == ["run.started", "llm.started", "stop.requested", "llm.finished", "run.finished"])
            #expect(events[3]["data"]?["text"] == "The whole held answer.")
            #expect(events[4]["data"]?["boundary"] == "store")
        }
        await server.shutdown()
    }

    @Test func aParentStoppedWhileItsChildIsMidCallStopsBoth() async throws {
        let server = try await HeldChatServer.start(holdAnswers: true) { _, _ in "The child's answer." }
        try await withServer(configuration: openAIConfiguration(server), agents: TestAgents.all, llm: nil) { client, supervisor in
            let id = try await client.startRun("parent")
            try await withTimeout { await server.waitForRequests(1) }
            let stop = try await client.execute(uri: "/runs/\(id)/stop", method: .post)
            #expect(stop.status == .accepted)
            server.release(0)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            let tree = try await supervisor.subtree(of: id)
            #expect(final.status == .stopped)
            #expect(tree.map(\.status) == [.stopped, .stopped])
            #expect(server.state.completedResponses == 1 && server.state.abortedRequests == 0)
            #expect(server.state.requests.count == 1)
            let frames = SSEFrame.parse(try await client.execute(uri: "/runs/\(id)/events", method: .get).text)
            #expect(frames.last?.event == "done" && frames.last?.json?["status"] == "stopped")
        }
        await server.shutdown()
    }
}
