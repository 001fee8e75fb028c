import Testing
import TetherCore
import TetherOpenAI
import TetherRuntime
import TetherTestSupport

/// LLM faults end the run that met them `failed`, with a message a person understands,
/// logged as `llm.failed`, while other runs go on (issue 13). Against a real chat server on
/// 127.0.0.1 that the test makes misbehave for the first request only.
@Suite struct LLMFaultTests {
    enum Kind: String, CaseIterable {
        case errorAnswer, notAChatCompletion, noChoices, closedMidAnswer, closedWithoutAnswering, hangsPastTheTimeout
    }

    static func fault(_ kind: Kind) -> HeldChatServer.Fault? {
        switch kind {
        case .errorAnswer: .init(status: 500, body: #"{"error": {"message": "the model is on fire"}}"#)
        case .notAChatCompletion: .init(status: 200, body: "<html>a proxy's login page</html>")
        case .noChoices: .init(status: 200, body: #"{"choices": []}"#)
        case .closedMidAnswer: .init(status: 200, body: #"{"choices": [{"mess"#, closesMidAnswer: true)
        case .closedWithoutAnswering: HeldChatServer.Fault.closedWithoutAnswering
        case .hangsPastTheTimeout: nil
        }
    }

    static func expectedMessage(_ kind: Kind) -> String {
        switch kind {
        case .errorAnswer: "/v1/chat/completions answered HTTP 500: the model is on fire"
        case .notAChatCompletion: "could not be read: not a chat completion (it begins: <html>a proxy's login page</html>)"
        case .noChoices: "could not be read: the answer has no choices[0].message.content"
        case .closedMidAnswer: "closed the connection before its answer was complete"
        case .closedWithoutAnswering: "/v1/chat/completions closed the connection without answering"
        case .hangsPastTheTimeout: "/v1/chat/completions did not answer within 8 s"
        }
    }

    @Test(arguments: Kind.allCases)
    func aFaultFailsItsRunClearlyAndOtherRunsGoOn(kind: Kind) async throws {
        let server = try await HeldChatServer.start(
            holdAnswers: kind == .hangsPastTheTimeout,
            fault: { index in index == 0 ? Self.fault(kind) : nil }
        )
        let agent = AgentDescriptor.closure("asker") { _, tools in .string(try await tools.llm.complete("a question")) }
        // The healthy call shares the timeout, so it must be long enough for it to be answered
        // while the whole suite loads the machine (3 s was not, once in a while).
        try await withOpenAI(server, timeout: .seconds(8)) { llm in
            try await withSupervisor(agents: [agent], llm: llm) { supervisor in
                let faulty = try await supervisor.start(agent: "asker", input: [:])
                try await withTimeout { await server.waitForRequests(1) }
                let healthy = try await supervisor.start(agent: "asker", input: [:])
                try await withTimeout { await server.waitForRequests(2) }
                server.release(1)

                let failed = try await withTimeout { try await supervisor.waitUntilFinished(faulty.id) }
                #expect(failed.status == .failed)
                #expect(failed.error?.contains(Self.expectedMessage(kind)) == true, "\(failed.error ?? "")")
                let events = try await supervisor.allEvents(ofTree: faulty.id)
                let logged = try #require(events.first { $0.kind == .llmFailed })
                #expect(logged.data["error"]?.stringValue?.contains(Self.expectedMessage(kind)) == true)

                let succeeded = try await withTimeout { try await supervisor.waitUntilFinished(healthy.id) }
                #expect(succeeded.status == .succeeded && succeeded.result == "Answer 2.")
            }
        }
        server.releaseAll()
        await server.shutdown()
    }
}
