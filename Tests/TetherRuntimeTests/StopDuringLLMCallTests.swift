import Testing
import TetherCore
import TetherOpenAI
import TetherRuntime
import TetherTestSupport

/// A stop while an `openai` call is in flight: the call finishes, its answer is logged, and
/// the next boundary throws. Against a real HTTP server on 127.0.0.1 that holds its answer.
@Suite struct StopDuringLLMCallTests {
    enum Next: String, CaseIterable {
        case store, llm
    }

    @Test(arguments: Next.allCases)
    func stopHaltsAtTheNextBoundaryNotMidCall(next: Next) async throws {
        let server = try await HeldChatServer.start(holdAnswers: true) { index, _ in
            "Held answer \(index + 1): three subtopics, one per line."
        }
        let dataStore = MemoryDataStore()
        let agent = AgentDescriptor.closure("writer") { _, tools in
            let outline = try await tools.llm.complete("List three subtopics of owls, one per line.")
            switch next {
            case .store: try await tools.store.set("brief/outline", to: outline)
            case .llm: _ = try await tools.llm.complete("Write two sentences about \(outline).")
            }
            return .string(outline)
        }
        try await withOpenAI(server) { llm in
            try await withSupervisor(agents: [agent], llm: llm, dataStore: dataStore) { supervisor in
                let run = try await supervisor.start(agent: "writer", input: [:])
                try await withTimeout(seconds: 30, "the LLM request") { await server.waitForRequests(1) }

                let stopping = try await supervisor.stop(run.id)
                #expect(stopping.status == .stopping)
                #expect(server.state.completedResponses == 0, "the answer is still held")

                server.release(0)
                let final = try await withTimeout(seconds: 30, "the run's end") {
                    try await supervisor.waitUntilFinished(run.id)
                }
                let events = try await supervisor.allEvents(ofTree: run.id)

                #expect(final.status == .stopped)
                #expect(final.stopRequestedAt != nil && !final.forced)
                // The server wrote its whole answer and the client did not abort.
                #expect(server.state.completedResponses == 1)
                #expect(server.state.abortedRequests == 0)
                // No further request ever arrived.
                #expect(server.state.requests.count == 1)
                // The answer is logged as llm.finished, after stop.requested.
                let stop = try #require(events.first(.stopRequested))
                let answer = try #require(events.first(.llmFinished))
                #expect(stop.seq < answer.seq)
                #expect(answer.data["text"] == "Held answer 1: three subtopics, one per line.")
                #expect(answer.data["usage"]?["totalTokens"] == 18)
                // Nothing observable after the stop: no store write, no second call.
                #expect(events.all(.store).isEmpty)
                #expect(events.all(.llmStarted).count == 1)
                #expect(try await dataStore.value(for: StoreKey(parsing: "brief/outline")) == nil)
                // run.finished says stopped and names the boundary that threw.
                let finished = try #require(events.last)
                #expect(finished.kind == .runFinished)
                #expect(finished.data["status"] == "stopped")
                #expect(finished.data["boundary"] == .string(next.rawValue))
                #expect(events.map(\.seq) == Array(1...events.count))
            }
        }
        await server.shutdown()
    }

    @Test func aChainedSubAgentStopsWhenItsParentIsStopped() async throws {
        let server = try await HeldChatServer.start(holdAnswers: true) { _, _ in "The child's full answer." }
        let dataStore = MemoryDataStore()
        let child = AgentDescriptor.closure("child") { _, tools in
            let text = try await tools.llm.complete("Summarize the outline.")
            try await tools.store.set("child/summary", to: text)
            return .string(text)
        }
        let parent = AgentDescriptor.closure("parent") { _, tools in
            let summary = try await tools.agents.call("child", input: ["text": "outline"])
            try await tools.store.set("parent/summary", to: .init(summary.text))
            return summary
        }
        try await withOpenAI(server) { llm in
            try await withSupervisor(agents: [parent, child], llm: llm, dataStore: dataStore) { supervisor in
                let run = try await supervisor.start(agent: "parent", input: [:])
                try await withTimeout(seconds: 30, "the child's LLM request") { await server.waitForRequests(1) }
                let childID = try await supervisor.firstChild(of: run.id)

                try await supervisor.stop(run.id)
                #expect(try await supervisor.record(childID)?.status == .stopping, "the stop reached the child")
                server.release(0)

                let parentRecord = try await withTimeout(seconds: 30, "the parent's end") {
                    try await supervisor.waitUntilFinished(run.id)
                }
                let childRecord = try #require(try await supervisor.record(childID))
                let events = try await supervisor.allEvents(ofTree: run.id)

                #expect(parentRecord.status == .stopped)
                #expect(childRecord.status == .stopped)
                #expect(childRecord.parentRunID == run.id && childRecord.rootRunID == run.id)
                #expect(server.state.completedResponses == 1 && server.state.abortedRequests == 0)
                #expect(server.state.requests.count == 1)
                #expect(events.first(.llmFinished, of: childID)?.data["text"] == "The child's full answer.")
                #expect(events.all(.stopRequested).count == 1, "one stop.requested names the target")
                #expect(events.first(.stopRequested)?.runID == run.id)
                #expect(events.first(.runFinished, of: childID)?.data["boundary"] == "store")
                #expect(events.first(.runFinished, of: run.id)?.data["boundary"] == "agents.call")
                #expect(events.all(.store).isEmpty)
                #expect(try await dataStore.entries(in: "child", prefix: "").isEmpty)
            }
        }
        await server.shutdown()
    }
}
