import Logging
import TetherCore
import TetherRuntime

/// Runs a ``RunSupervisor`` with memory stores while `body` uses it, then shuts it down.
@discardableResult
public func withSupervisor<T: Sendable>(
    agents: [AgentDescriptor],
    llm: any LLMClient,
    configuration: SupervisorConfiguration = SupervisorConfiguration(stopGrace: .seconds(5)),
    runStore: any RunStore = MemoryRunStore(),
    dataStore: any DataStore = MemoryDataStore(),
    _ body: @Sendable (RunSupervisor) async throws -> T
) async throws -> T {
    let supervisor = RunSupervisor(
        configuration: configuration,
        registry: AgentRegistry(agents),
        runStore: runStore,
        dataStore: dataStore,
        llm: llm,
        logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await supervisor.run() }
        do {
            let result = try await body(supervisor)
            supervisor.beginShutdown()
            try await group.waitForAll()
            return result
        } catch {
            supervisor.beginShutdown()
            group.cancelAll()
            throw error
        }
    }
}

/// Reads through the supervisor's read model, so tests say `supervisor.record(id)`.
extension RunSupervisor {
    public func record(_ id: RunID) async throws -> RunRecord? { try await reads.record(id) }
    public func runs(inTree root: RunID) async throws -> [RunRecord] { try await reads.runs(inTree: root) }
    public func subtree(of id: RunID) async throws -> [RunRecord] { try await reads.subtree(of: id) }
    public func waitUntilFinished(_ id: RunID) async throws -> RunRecord { try await reads.waitUntilFinished(id) }
    public func events(ofTree root: RunID, after seq: Int = 0) -> EventFeed { reads.events(ofTree: root, after: seq) }
    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] { try await reads.listRuns(query) }

    /// Every event of the tree rooted at `root`, once the tree has finished.
    public func allEvents(ofTree root: RunID) async throws -> [ProgressEvent] {
        var events: [ProgressEvent] = []
        for try await event in self.events(ofTree: root) { events.append(event) }
        return events
    }

    /// Returns once the tree's log shows an event matching `predicate`, and returns it.
    public func waitForEvent(
        inTree root: RunID,
        where predicate: @Sendable (ProgressEvent) -> Bool
    ) async throws -> ProgressEvent? {
        for try await event in self.events(ofTree: root) where predicate(event) { return event }
        return nil
    }
}
