import Testing
import TetherCore
import TetherOpenAI
import TetherRuntime
import TetherTestSupport

/// Past `TETHER_LLM_MAX_CONNECTIONS` calls in flight, a call waits its turn instead of
/// failing, and its run's log says it is waiting for a connection (issue 14).
@Suite struct ConnectionWaitTests {
    @Test func aCallPastTheConnectionLimitWaitsAndItsRunSaysSo() async throws {
        let server = try await HeldChatServer.start(holdAnswers: true)
        let agent = AgentDescriptor.closure("one-call") { _, tools in .string(try await tools.llm.complete("Say hello.")) }
        try await withOpenAI(server, maxConnections: 1) { llm in
            try await withSupervisor(agents: [agent], llm: llm) { supervisor in
                let first = try await supervisor.start(agent: "one-call", input: [:])
                try await withTimeout(seconds: 30, "the first call") { await server.waitForRequests(1) }
                let second = try await supervisor.start(agent: "one-call", input: [:])
                let waiting = try await withTimeout(seconds: 30, "the second run saying it waits") {
                    try await supervisor.waitForEvent(inTree: second.id) { $0.kind == .log && $0.data["waiting"] == "connection" }
                }
                #expect(waiting?.message.contains("all 1 are in use") == true, "\(waiting?.message ?? "no event")")
                #expect(server.state.requests.count == 1, "the second call was not sent while the first held the connection")

                server.releaseAll()
                let finals = try await withTimeout(seconds: 30, "both runs' ends") {
                    (try await supervisor.waitUntilFinished(first.id), try await supervisor.waitUntilFinished(second.id))
                }
                #expect(finals.0.status == .succeeded && finals.1.status == .succeeded)
                #expect(server.state.requests.count == 2)
                let firstEvents = try await supervisor.allEvents(ofTree: first.id)
                #expect(!firstEvents.contains { $0.data["waiting"] != nil }, "a call that got a connection at once says nothing")
                let secondEvents = try await supervisor.allEvents(ofTree: second.id)
                let kinds = secondEvents.map(\.kind)
                #expect(kinds.firstIndex(of: .llmStarted)! < kinds.firstIndex(of: .log)!)
                #expect(kinds.firstIndex(of: .log)! < kinds.firstIndex(of: .llmFinished)!)
            }
        }
        await server.shutdown()
    }
}
