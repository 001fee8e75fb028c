import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

@Suite struct SubRunTests {
    static let child = AgentDescriptor.closure("child") { _, tools in
        let text = try await tools.llm.complete("child work")
        _ = try await tools.llm.complete("more child work")
        return .string(text)
    }

    static func parent(handling: Bool) -> AgentDescriptor {
        AgentDescriptor.closure("parent") { _, tools in
            do {
                return try await tools.agents.call("child", input: [:])
            } catch let stopped as SubRunStopped where handling {
                try await tools.log("child \(stopped.childRunID) was stopped; going on without it")
                return .string("fallback: " + (try await tools.llm.complete("parent goes on")))
            }
        }
    }

    @Test func aParentThatHandlesSubRunStoppedGoesOn() async throws {
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.parent(handling: true), Self.child], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "parent", input: [:])
            let childID = try await supervisor.firstChild(of: run.id)
            try await withTimeout { await llm.waitForCalls(1) }

            try await supervisor.stop(childID)
            #expect(try await supervisor.record(run.id)?.status == .running, "the parent is not stopping")
            llm.openAll()

            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded)
            #expect(final.result == "fallback: answer 2 to: parent goes on")
            #expect(try await supervisor.record(childID)?.status == .stopped)
            #expect(llm.state.calls == ["child work", "parent goes on"])
        }
    }

    @Test func aParentThatDoesNotHandleItFailsNamingTheChild() async throws {
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.parent(handling: false), Self.child], llm: llm) { supervisor in
            let run = try await supervisor.start(agent: "parent", input: [:])
            let childID = try await supervisor.firstChild(of: run.id)
            try await withTimeout { await llm.waitForCalls(1) }
            try await supervisor.stop(childID)
            llm.openAll()

            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .failed, "failed, not stopped: nobody stopped the parent")
            let error = try #require(final.error)
            #expect(error.contains(childID.rawValue) && error.contains("stopped"))
            let events = try await supervisor.allEvents(ofTree: run.id)
            #expect(events.first(.stopRequested)?.runID == childID)
            #expect(events.first(.agentReturned)?.data["status"] == "stopped")
        }
    }

    @Test func nestingPastTheLimitFailsTheCallerWithAClearError() async throws {
        let recurse = AgentDescriptor.closure("recurse") { input, tools in
            try await tools.agents.call("recurse", input: input)
        }
        let configuration = SupervisorConfiguration(maxDepth: 2, stopGrace: .seconds(5))
        try await withSupervisor(agents: [recurse], llm: GatedLLM(), configuration: configuration) { supervisor in
            let run = try await supervisor.start(agent: "recurse", input: [:])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            let tree = try await supervisor.runs(inTree: run.id)
            #expect(final.status == .failed)
            #expect(tree.map(\.depth) == [0, 1, 2], "no run deeper than TETHER_MAX_DEPTH")
            let deepest = try #require(tree.last)
            #expect(deepest.status == .failed)
            #expect(deepest.error?.contains("TETHER_MAX_DEPTH") == true)
        }
    }

    @Test func callingAnUnknownAgentFailsTheCaller() async throws {
        let caller = AgentDescriptor.closure("caller") { _, tools in
            try await tools.agents.call("nobody", input: [:])
        }
        try await withSupervisor(agents: [caller], llm: GatedLLM()) { supervisor in
            let run = try await supervisor.start(agent: "caller", input: [:])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .failed)
            #expect(final.error == "no agent is named 'nobody'")
        }
    }
}
