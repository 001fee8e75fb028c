import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

@Suite struct FailingWriteTests {
    @Test func aFailedEventWriteFailsTheRunWithTheReasonAndLeavesNoRunBehind() async throws {
        let llm = GatedLLM()
        let store = FailingRunStore()
        let child = AgentDescriptor.closure("child") { _, tools in
            try await tools.log("child working")
            return "child done"
        }
        let parent = AgentDescriptor.closure("parent") { _, tools in
            _ = try await tools.llm.complete("first")
            try await tools.log("between")
            return try await tools.agents.call("child", input: [:])
        }
        try await withSupervisor(agents: [parent, child], llm: llm, runStore: store) { supervisor in
            let run = try await supervisor.start(agent: "parent", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            store.failEventWrites()
            llm.openAll()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .failed)
            #expect(final.error?.contains("no space left on device") == true, "the reason: \(final.error ?? "none")")
            let tree = try await supervisor.runs(inTree: run.id)
            #expect(tree.allSatisfy { $0.status.isTerminal }, "no run is left running: \(tree.map(\.status))")
            #expect(supervisor.rootsInFlight == 0)
            // The log ends (nothing more is published), so subscribers are not left waiting.
            _ = try await withTimeout { try await supervisor.allEvents(ofTree: run.id) }
        }
    }
}
