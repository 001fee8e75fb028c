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

    /// Two tools at once: an LLM call, and a `wait` that the stop ends. The `wait` throws
    /// `AgentStopped`, the function exits, and Swift cancels its `async let`.
    static func concurrent(sawStop: Latch) -> AgentDescriptor {
        AgentDescriptor.closure("concurrent") { _, tools in
            async let answer = tools.llm.complete("held")
            do {
                try await tools.wait(for: .seconds(3600))
            } catch {
                sawStop.open()
                throw error
            }
            return .string(try await answer)
        }
    }

    /// Starts `agent`, whose LLM call and `wait` run at once; once both are under way, stops
    /// it, waits until the `wait` threw, then lets the call answer. Returns the final record.
    static func stopDuringTheWait(
        _ agent: String,
        _ supervisor: RunSupervisor,
        callBegan: @escaping @Sendable () async -> Void,
        sawStop: Latch,
        release: () -> Void
    ) async throws -> (RunRecord, RunRecord) {
        let run = try await supervisor.start(agent: agent, input: [:])
        try await withTimeout { await callBegan() }
        _ = try await withTimeout { try await supervisor.waitForEvent(inTree: run.id) { $0.kind == .wait } }
        try await supervisor.stop(run.id)
        try await withTimeout { await sawStop.wait() }
        release()
        return (run, try await withTimeout { try await supervisor.waitUntilFinished(run.id) })
    }

    @Test func aStopInOneConcurrentToolNeverCancelsAnotherToolsCall() async throws {
        let llm = GatedLLM()
        let sawStop = Latch()
        try await withSupervisor(agents: [Self.concurrent(sawStop: sawStop)], llm: llm) { supervisor in
            let (run, final) = try await Self.stopDuringTheWait(
                "concurrent",
                supervisor,
                callBegan: { await llm.waitForCalls(1) },
                sawStop: sawStop,
                release: llm.openAll
            )
            #expect(final.status == .stopped)
            #expect(llm.state.cancelledAtReturn == [false], "the call in flight was not cancelled")
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(events.contains { $0.kind == .llmFinished }, "its answer is logged")
            #expect(events.map(\.seq) == Array(1...events.count))
        }
    }

    @Test func aStopInOneConcurrentToolLeavesARealCallToFinish() async throws {
        let server = try await HeldChatServer.start(holdAnswers: true) { index, _ in "Held answer \(index + 1)" }
        let sawStop = Latch()
        try await withOpenAI(server) { llm in
            try await withSupervisor(agents: [Self.concurrent(sawStop: sawStop)], llm: llm) { supervisor in
                let (run, final) = try await Self.stopDuringTheWait(
                    "concurrent",
                    supervisor,
                    callBegan: { await server.waitForRequests(1) },
                    sawStop: sawStop,
                    release: server.releaseAll
                )
                #expect(final.status == .stopped)
                #expect(server.state.abortedRequests == 0, "the server saw no aborted request")
                #expect(server.state.completedResponses == 1)
                let answer = try await supervisor.allEvents(ofTree: run.id).first { $0.kind == .llmFinished }
                #expect(answer?.data["text"] == "Held answer 1")
            }
        }
        await server.shutdown()
    }

    @Test func aChildRunInAnAsyncLetKeepsItsCallWhenASiblingThrowsTheStop() async throws {
        let llm = GatedLLM()
        let sawStop = Latch()
        let child = AgentDescriptor.closure("child") { _, tools in .string(try await tools.llm.complete("held")) }
        let parent = AgentDescriptor.closure("parent") { _, tools in
            async let answer = tools.agents.call("child", input: [:])
            do {
                try await tools.wait(for: .seconds(3600))
            } catch {
                sawStop.open()
                throw error
            }
            return try await answer
        }
        try await withSupervisor(agents: [parent, child], llm: llm) { supervisor in
            let (run, final) = try await Self.stopDuringTheWait(
                "parent",
                supervisor,
                callBegan: { await llm.waitForCalls(1) },
                sawStop: sawStop,
                release: llm.openAll
            )
            #expect(final.status == .stopped)
            #expect(llm.state.cancelledAtReturn == [false], "the child's call in flight was not cancelled")
            let tree = try await supervisor.runs(inTree: run.id)
            // The child returned after its call with no boundary having thrown: it succeeded.
            #expect(tree.map(\.status) == [.stopped, .succeeded] && tree.allSatisfy { !$0.forced })
        }
    }

    /// Holds an LLM call; its cleanup notes what it saw.
    final class Tidy: Agent {
        struct Seen: Sendable {
            var statusDuringCleanup: RunStatus?
            var cancelledDuringCleanup: Bool?
        }
        let seen: Condition<Seen>
        let supervisor: Box<RunSupervisor>
        let runID: Box<RunID>

        init(seen: Condition<Seen>, supervisor: Box<RunSupervisor>, runID: Box<RunID>) {
            self.seen = seen
            self.supervisor = supervisor
            self.runID = runID
        }

        func run(input: JSONValue, tools: Tools) async throws -> JSONValue {
            .string(try await tools.llm.complete("held"))
        }

        func cleanup() async {
            let status = try? await supervisor.get?.record(runID.get!)?.status
            let cancelled = Task.isCancelled
            seen.update {
                $0.statusDuringCleanup = status
                $0.cancelledDuringCleanup = cancelled
            }
        }
    }

    @Test(arguments: [true, false])
    func aRunCutShortStillCleansUpBeforeItsRecordIsFinal(forced: Bool) async throws {
        let llm = GatedLLM()
        let seen = Condition(Tidy.Seen())
        let supervisorBox = Box<RunSupervisor>()
        let runID = Box<RunID>()
        let tidy = AgentDescriptor(name: "tidy", description: "") { Tidy(seen: seen, supervisor: supervisorBox, runID: runID) }
        let configuration = SupervisorConfiguration(stopGrace: .milliseconds(forced ? 5000 : 100), cleanupTimeout: .seconds(10))
        try await withSupervisor(agents: [tidy], llm: llm, configuration: configuration) { supervisor in
            supervisorBox.set(supervisor)
            let run = try await supervisor.start(agent: "tidy", input: [:])
            runID.set(run.id)
            try await withTimeout { await llm.waitForCalls(1) }
            if forced {
                let record = try await supervisor.stop(run.id, force: true)
                #expect(record.status == .stopped && record.forced, "the answer is the final record")
            }
            // Otherwise the harness shuts down with the call still held: past the grace
            // period the run is interrupted.
        }
        let final = try #require(try await supervisorBox.get?.record(runID.get!))
        #expect(final.status == (forced ? .stopped : .interrupted))
        #expect(seen.value.statusDuringCleanup?.isTerminal == false, "cleanup ran before the record was final")
        #expect(seen.value.cancelledDuringCleanup == false, "cleanup ran in a task that was not cancelled")
        #expect(llm.state.cancelledAtReturn == [true], "the call in flight was cut at once")
    }

    @Test func aForcedRunKeepsItsSlotUntilItsCodeHasUnwound() async throws {
        let release = Latch()
        let stubborn = AgentDescriptor.closure("stubborn") { _, tools in
            try await tools.log("holding on")
            // Ignores cancellation: returns only once the test releases it.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Task {
                    await withTaskCancellationHandler {
                        await release.wait()
                    } onCancel: {
                    }
                    continuation.resume()
                }
            }
            return "late"
        }
        let configuration = SupervisorConfiguration(maxRuns: 1, cleanupTimeout: .milliseconds(100))
        let quick = AgentDescriptor.closure("quick") { _, _ in "done" }
        try await withSupervisor(agents: [stubborn, quick], llm: GatedLLM(), configuration: configuration) { supervisor in
            let run = try await supervisor.start(agent: "stubborn", input: [:])
            _ = try await withTimeout { try await supervisor.waitForEvent(inTree: run.id) { $0.kind == .log } }
            let record = try await supervisor.stop(run.id, force: true)
            #expect(record.status == .stopped && record.forced)
            await #expect(throws: SupervisorError.tooManyRuns(limit: 1)) {
                try await supervisor.start(agent: "quick", input: [:])
            }
            release.open()
            try await withTimeout {
                while supervisor.rootsInFlight > 0 { await Task.yield() }
            }
            let next = try await supervisor.start(agent: "quick", input: [:])
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(next.id) }.status == .succeeded)
        }
    }
}
