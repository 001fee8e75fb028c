import AsyncHTTPClient
import Synchronization
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

/// An agent that owns an `HTTPClient` of its own and releases it in `cleanup()`.
final class ResourceAgent: Agent {
    struct Observation: Sendable {
        var statusDuringCleanup: RunStatus?
        var toolErrorInCleanup: String?
        var clientShutDown = false
    }

    enum Ending: String, CaseIterable, Sendable {
        case succeed, fail, stop
    }

    let ending: Ending
    let supervisor: Box<RunSupervisor>
    let observation: ObservationBox
    let runTools = Mutex<Tools?>(nil)
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)

    init(ending: Ending, supervisor: Box<RunSupervisor>, observation: ObservationBox) {
        self.ending = ending
        self.supervisor = supervisor
        self.observation = observation
    }

    struct Failure: Error {}

    func run(input: JSONValue, tools: Tools) async throws -> JSONValue {
        runTools.withLock { $0 = tools }
        _ = try await tools.llm.complete("first")
        switch ending {
        case .succeed: return "done"
        case .fail: throw Failure()
        case .stop: while true { _ = try await tools.llm.complete("again") }
        }
    }

    func cleanup() async {
        let tools = runTools.withLock { $0 }!
        let status = try? await supervisor.get?.record(tools.runID)?.status
        var toolError: String?
        do {
            try await tools.store.set("cleanup/leftover", to: "x")
        } catch {
            toolError = String(describing: error)
        }
        try? await client.shutdown()
        observation.value.withLock {
            $0.statusDuringCleanup = status
            $0.toolErrorInCleanup = toolError
            $0.clientShutDown = true
        }
    }
}

/// Holds the observation the agent writes; a class so the descriptor's closure can share it.
final class ObservationBox: Sendable {
    let value = Mutex(ResourceAgent.Observation())
}

@Suite struct CleanupTests {
    @Test(arguments: ResourceAgent.Ending.allCases)
    func cleanupReleasesBeforeTheRecordIsTerminal(ending: ResourceAgent.Ending) async throws {
        let llm = GatedLLM()
        let box = Box<RunSupervisor>()
        let observed = ObservationBox()
        let descriptor = AgentDescriptor(name: "resource", description: "owns a client") {
            ResourceAgent(ending: ending, supervisor: box, observation: observed)
        }
        let dataStore = MemoryDataStore()
        try await withSupervisor(agents: [descriptor], llm: llm, dataStore: dataStore) { supervisor in
            box.set(supervisor)
            let run = try await supervisor.start(agent: "resource", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            if ending == .stop { try await supervisor.stop(run.id) }
            llm.openAll()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            let observation = observed.value.withLock { $0 }

            let expected: RunStatus =
                switch ending {
                case .succeed: .succeeded
                case .fail: .failed
                case .stop: .stopped
                }
            #expect(final.status == expected)
            #expect(observation.clientShutDown, "the release completed before the record became terminal")
            #expect(observation.statusDuringCleanup?.isTerminal == false)
            #expect(observation.toolErrorInCleanup == "the store tool was used after the run ended")
            #expect(try await dataStore.value(for: StoreKey(parsing: "cleanup/leftover")) == nil)
        }
    }
}
