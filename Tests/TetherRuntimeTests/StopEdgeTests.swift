import Foundation
import Synchronization
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

/// The stop at its edges (issue 12): what the agent does with `AgentStopped`, concurrent
/// tools, values JSON cannot hold.
@Suite struct StopEdgeTests {
    /// Calls the LLM, then writes; catches the stop the write throws and returns anyway.
    static let catching = AgentDescriptor.closure("catching") { _, tools in
        let answer = try await tools.llm.complete("one call")
        do {
            try await tools.store.set("catching/answer", to: answer)
        } catch is AgentStopped {
            return "caught the stop"
        }
        return "not stopped"
    }

    @Test func aRunThatCaughtTheStopAndReturnedEndsStopped() async throws {
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.catching], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "catching", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            try await supervisor.stop(run.id)
            llm.openAll()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .stopped, "a boundary threw AgentStopped, so the run stopped")
            #expect(final.stopRequestedAt != nil)
            let finished = try await supervisor.allEvents(ofTree: run.id).last
            #expect(finished?.kind == .runFinished && finished?.data["boundary"] == "store")
        }
    }

    @Test func aRunWhoseStopCameAfterItsLastBoundarySucceeds() async throws {
        let gate = Latch()
        let lastBoundaryDone = Latch()
        let agent = AgentDescriptor.closure("late") { _, tools in
            try await tools.store.set("late/k", to: "v")
            lastBoundaryDone.open()
            await gate.wait()
            return "done"
        }
        try await withSupervisor(agents: [agent], llm: GatedLLM()) { supervisor in
            let run = try await supervisor.start(agent: "late", input: [:])
            try await withTimeout { await lastBoundaryDone.wait() }
            try await supervisor.stop(run.id)
            gate.open()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded && final.result == "done")
            #expect(final.stopRequestedAt != nil, "the stop is kept on the record")
        }
    }
}
