import Foundation
import Synchronization
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

/// No boundary's work after the stop is recorded (issue 12): for every run, no
/// `llm.started`, `store`, `agent.called` or `wait` event follows the `stop.requested` that
/// lists it, and every run in flight when a stop is recorded is listed in it.
@Suite struct StopOrderingTests {
    /// A data store whose writes wait until the test lets them through.
    final class GatedDataStore: DataStore {
        let base = MemoryDataStore()
        let writeBegan = Latch()
        let writesMayEnd = Latch()

        func value(for key: StoreKey) async throws -> String? { try await base.value(for: key) }
        func setValue(_ value: String, for key: StoreKey) async throws {
            writeBegan.open()
            await writesMayEnd.wait()
            try await base.setValue(value, for: key)
        }
        func deleteValue(for key: StoreKey) async throws -> Bool { try await base.deleteValue(for: key) }
        func entries(in namespace: String, prefix: String) async throws -> [StoreEntry] {
            try await base.entries(in: namespace, prefix: prefix)
        }
        func namespaces() async throws -> [NamespaceSummary] { try await base.namespaces() }
    }

    static let boundaryStarts: Set<EventKind> = [.llmStarted, .store, .agentCalled, .wait]

    /// Checks both rules on one tree's log; returns what broke them.
    static func violations(in events: [ProgressEvent]) -> [String] {
        var problems: [String] = []
        var started: Set<RunID> = []
        var finished: Set<RunID> = []
        for (index, event) in events.enumerated() {
            switch event.kind {
            case .runStarted: started.insert(event.runID)
            case .agentCalled: if let child = event.calledChild { started.insert(child) }
            case .runFinished: finished.insert(event.runID)
            default: break
            }
            guard event.kind == .stopRequested else { continue }
            let listed = Set(event.statusChanges.map(\.runID))
            for later in events[(index + 1)...] where listed.contains(later.runID) && boundaryStarts.contains(later.kind) {
                problems.append("\(later.kind.rawValue) #\(later.seq) of a run listed by stop.requested #\(event.seq)")
            }
            for run in started.subtracting(finished) where !listed.contains(run) {
                problems.append("run \(run) was in flight at stop.requested #\(event.seq) but not listed")
            }
        }
        return problems
    }

    @Test func aStoreWriteInFlightLogsItsEventBeforeTheStop() async throws {
        let dataStore = GatedDataStore()
        let writer = AgentDescriptor.closure("writer") { _, tools in
            try await tools.store.set("writer/k", to: "v")
            _ = try await tools.llm.complete("after the write")
            return "done"
        }
        try await withSupervisor(agents: [writer], llm: SimulatedLLM(latency: .zero), dataStore: dataStore) { supervisor in
            let run = try await supervisor.start(agent: "writer", input: [:])
            try await withTimeout { await dataStore.writeBegan.wait() }
            let stopping = Task { try await supervisor.stop(run.id) }
            dataStore.writesMayEnd.open()
            _ = try await stopping.value
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .stopped)
            let events = try await supervisor.allEvents(ofTree: run.id)
            let store = try #require(events.first { $0.kind == .store })
            let stop = try #require(events.first { $0.kind == .stopRequested })
            #expect(store.seq < stop.seq, "the write's event comes before the stop")
            #expect(Self.violations(in: events).isEmpty, "\(Self.violations(in: events))")
        }
    }

    @Test func stopsRacingBoundariesNeverLetABoundaryFollowTheStop() async throws {
        let leaf = AgentDescriptor.closure("leaf") { _, tools in
            _ = try await tools.store.get("race/seed")
            try await tools.wait(for: .zero)
            return "leaf"
        }
        let racer = AgentDescriptor.closure("racer") { _, tools in
            for step in 0..<1000 {
                _ = try await tools.llm.complete("step \(step)")
                try await tools.store.set("race/\(step % 7)", to: "x")
                _ = try await tools.agents.call("leaf", input: [:])
            }
            return "never stopped"
        }
        let configuration = SupervisorConfiguration(maxRuns: 1000, stopGrace: .seconds(30))
        try await withSupervisor(agents: [racer, leaf], llm: SimulatedLLM(latency: .zero), configuration: configuration) {
            supervisor in
            var generator = SystemRandomNumberGenerator()
            let runs = 150
            let afters = (0..<runs).map { _ in Int.random(in: 1...80, using: &generator) }
            try await withTimeout(seconds: 120, "every raced run") {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for after in afters {
                        group.addTask {
                            let run = try await supervisor.start(agent: "racer", input: [:])
                            _ = try await supervisor.waitForEvent(inTree: run.id) { $0.seq >= after }
                            try await supervisor.stop(run.id)
                            let final = try await supervisor.waitUntilFinished(run.id)
                            #expect(final.status == .stopped)
                            let events = try await supervisor.allEvents(ofTree: run.id)
                            let problems = Self.violations(in: events)
                            #expect(problems.isEmpty, "\(problems)")
                            #expect(events.map(\.seq) == Array(1...events.count))
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }
}
