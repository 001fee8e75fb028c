import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

/// A budget of LLM calls holds for calls made side by side: the calls in flight count, so a
/// Swift agent's task group cannot begin them all past the limit.
@Suite struct ParallelCallBudgetTests {
    @Test func callsSideBySideStopAtTheLimitAndTheOnesInFlightFinish() async throws {
        let llm = GatedLLM()
        var agent = AgentDescriptor.closure("fan-out") { _, tools in
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 1...5 { group.addTask { try await tools.llm.complete("part \(index)") } }
                var answers: [String] = []
                for try await answer in group { answers.append(answer) }
                return answers
            }
            return .string(answers.joined(separator: "\n"))
        }
        agent.budget = RunBudget([.llmCalls: 2])
        try await withSupervisor(agents: [agent], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "fan-out", input: [:])
            let stop = try await withTimeout(seconds: 60, "the budget's stop") {
                try await supervisor.waitForEvent(inTree: run.id) { $0.kind == .stopRequested }
            }
            #expect(stop?.data["reason"] == "budget" && stop?.data["limit"] == "llm_calls", "\(String(describing: stop?.data))")
            #expect(stop?.data["used"] == 2, "two calls in flight, none finished")
            // The two calls that took a place logged their llm.started before the stop; their
            // requests may still be on their way to the provider.
            try await withTimeout(seconds: 60, "the two calls") { await llm.waitForCalls(2) }
            #expect(llm.state.calls.count == 2, "the third call never began")
            llm.openAll()
            let record = try await withTimeout(seconds: 60, "the run's end") { try await supervisor.waitUntilFinished(run.id) }
            #expect(record.status == .stopped)
            #expect(record.usage?.tree.llmCalls == 2, "the two calls in flight finished and counted")
            #expect(llm.state.calls.count == 2 && llm.state.returned == 2)
        }
    }
}
