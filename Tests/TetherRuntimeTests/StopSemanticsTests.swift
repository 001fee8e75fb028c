import Foundation
import Synchronization
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

@Suite struct StopSemanticsTests {
    /// An agent that calls the LLM in a loop until stopped.
    static let looping = AgentDescriptor.closure("loop") { _, tools in
        var count = 0
        while true {
            _ = try await tools.llm.complete("step \(count)")
            count += 1
        }
    }

    @Test func aStopNeverCancelsTheRunsTask() async throws {
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.looping], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "loop", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            try await supervisor.stop(run.id)
            llm.open(0)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .stopped)
            #expect(llm.state.cancelledAtReturn == [false], "the call in flight was not cancelled")
            #expect(llm.state.calls.count == 1, "no call after the stop")
        }
    }

    @Test func aForceStopCancelsTheWorkAndIsRecordedAsForced() async throws {
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.looping], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "loop", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            let record = try await supervisor.stop(run.id, force: true)
            #expect(record.status == .stopped && record.forced)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .stopped && final.forced)
            try await withTimeout { await llm.waitForReturns(1) }
            #expect(llm.state.cancelledAtReturn == [true], "force cancels the call in flight")
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(events.last?.kind == .runFinished && events.last?.data["forced"] == true)
            #expect(events.all(.llmFinished).isEmpty)
        }
    }

    @Test func stopIsIdempotentAndRefusedOnceFinished() async throws {
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.looping], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "loop", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            let first = try await supervisor.stop(run.id)
            let second = try await supervisor.stop(run.id)
            #expect(first.status == .stopping && second.status == .stopping)
            #expect(first.stopRequestedAt == second.stopRequestedAt)
            llm.open(0)
            _ = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            await #expect(throws: SupervisorError.runFinished(run.id, .stopped)) {
                try await supervisor.stop(run.id)
            }
            let unknown = RunID()
            await #expect(throws: SupervisorError.notFound(unknown)) { try await supervisor.stop(unknown) }
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(events.all(.stopRequested).count == 1)
        }
    }

    @Test func aRunThatReturnsAfterItsLastBoundaryStillSucceeds() async throws {
        let llm = GatedLLM()
        let agent = AgentDescriptor.closure("one-call") { _, tools in
            .string(try await tools.llm.complete("only call"))
        }
        try await withSupervisor(agents: [agent], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "one-call", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            try await supervisor.stop(run.id)
            llm.open(0)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded)
            #expect(final.stopRequestedAt != nil, "the request is kept")
            #expect(final.result == "answer 1 to: only call")
        }
    }

    @Test func anAgentThatCatchesAgentStoppedStillEndsStopped() async throws {
        let llm = GatedLLM()
        let stubborn = AgentDescriptor.closure("stubborn") { _, tools in
            _ = try await tools.llm.complete("first")
            do {
                _ = try await tools.llm.complete("second")
            } catch is AgentStopped {
                // Swallow it and try to go on: every later boundary still throws.
                try await tools.store.set("k", to: "v")
            }
            return "unreachable"
        }
        try await withSupervisor(agents: [stubborn], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "stubborn", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            try await supervisor.stop(run.id)
            llm.open(0)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(final.status == .stopped)
            #expect(events.last?.data["boundary"] == "llm", "the first boundary that threw")
            #expect(events.all(.store).isEmpty)
        }
    }

    @Test func waitWakesAtOnceOnStop() async throws {
        let agent = AgentDescriptor.closure("sleeper") { _, tools in
            try await tools.wait(for: .seconds(3600))
            return "woke normally"
        }
        try await withSupervisor(agents: [agent], llm: GatedLLM()) { supervisor in
            let run = try await supervisor.start(agent: "sleeper", input: [:])
            _ = try await withTimeout { try await supervisor.waitForEvent(inTree: run.id) { $0.kind == .wait } }
            try await supervisor.stop(run.id)
            let final = try await withTimeout(seconds: 30) { try await supervisor.waitUntilFinished(run.id) }
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(final.status == .stopped)
            #expect(events.last?.data["boundary"] == "wait")
        }
    }

    @Test func anErrorEndsTheRunFailedWithItsMessage() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "the widget broke" } }
        let agent = AgentDescriptor.closure("broken") { _, _ in throw Broken() }
        try await withSupervisor(agents: [agent], llm: GatedLLM()) { supervisor in
            let run = try await supervisor.start(agent: "broken", input: [:])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .failed)
            #expect(final.error == "the widget broke")
        }
    }
}
