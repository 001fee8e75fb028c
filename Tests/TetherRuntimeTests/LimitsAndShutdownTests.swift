import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

@Suite struct LimitsAndShutdownTests {
    static let oneCall = AgentDescriptor.closure("one-call") { _, tools in
        .string(try await tools.llm.complete("work"))
    }

    @Test func rootRunsPastTheLimitAreRefusedUntilOneEnds() async throws {
        let llm = GatedLLM()
        let configuration = SupervisorConfiguration(maxRuns: 2, stopGrace: .seconds(5))
        try await withSupervisor(agents: [Self.oneCall], llm: llm, configuration: configuration) { supervisor in
            let first = try await supervisor.start(agent: "one-call", input: [:])
            _ = try await supervisor.start(agent: "one-call", input: [:])
            await #expect(throws: SupervisorError.tooManyRuns(limit: 2)) {
                try await supervisor.start(agent: "one-call", input: [:])
            }
            try await withTimeout { await llm.waitForCalls(2) }
            llm.open(0)
            llm.open(1)
            // A root's slot is given back before its end is announced.
            _ = try await withTimeout { try await supervisor.waitUntilFinished(first.id) }
            #expect(supervisor.rootsInFlight <= 1)
            llm.openAll()
            let third = try await supervisor.start(agent: "one-call", input: [:])
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(third.id) }.status == .succeeded)
        }
    }

    @Test func anUnknownAgentIsRefused() async throws {
        try await withSupervisor(agents: [Self.oneCall], llm: GatedLLM()) { supervisor in
            await #expect(throws: SupervisorError.unknownAgent("nope")) {
                try await supervisor.start(agent: "nope", input: [:])
            }
        }
    }

    @Test func shutdownStopsCooperativeRunsAndRefusesNewOnes() async throws {
        let sleeper = AgentDescriptor.closure("sleeper") { _, tools in
            try await tools.wait(for: .seconds(3600))
            return "woke"
        }
        let supervisorBox = Box<RunSupervisor>()
        let runID = Box<RunID>()
        // The grace period is only the fail-safe here: the run must end `stopped` well before it,
        // however busy the machine.
        try await withSupervisor(agents: [sleeper], llm: GatedLLM(), configuration: SupervisorConfiguration(stopGrace: .seconds(60))) {
            supervisor in
            supervisorBox.set(supervisor)
            let run = try await supervisor.start(agent: "sleeper", input: [:])
            runID.set(run.id)
            _ = try await withTimeout { try await supervisor.waitForEvent(inTree: run.id) { $0.kind == .wait } }
            supervisor.beginShutdown()
            await #expect(throws: SupervisorError.shuttingDown) {
                try await supervisor.start(agent: "sleeper", input: [:])
            }
        }
        let supervisor = try #require(supervisorBox.get)
        let id = try #require(runID.get)
        let final = try #require(try await supervisor.record(id))
        #expect(final.status == .stopped)
        let events = try await supervisor.allEvents(ofTree: final.id)
        #expect(events.first(.stopRequested)?.data["reason"] == "shutdown")
    }

    @Test func shutdownMarksRunsStillBusyAfterTheGracePeriodInterrupted() async throws {
        let llm = GatedLLM()
        let configuration = SupervisorConfiguration(stopGrace: .milliseconds(200))
        let supervisorBox = Box<RunSupervisor>()
        let runID = Box<RunID>()
        try await withSupervisor(agents: [Self.oneCall], llm: llm, configuration: configuration) { supervisor in
            supervisorBox.set(supervisor)
            let run = try await supervisor.start(agent: "one-call", input: [:])
            runID.set(run.id)
            try await withTimeout { await llm.waitForCalls(1) }
            // The harness shuts down on return while the call is still held.
        }
        let supervisor = try #require(supervisorBox.get)
        let id = try #require(runID.get)
        let final = try #require(try await supervisor.record(id))
        #expect(final.status == .interrupted)
        #expect(final.error?.contains("shut down") == true)
        let events = try await supervisor.allEvents(ofTree: final.id)
        #expect(events.last?.kind == .runFinished && events.last?.data["status"] == "interrupted")
    }
}
