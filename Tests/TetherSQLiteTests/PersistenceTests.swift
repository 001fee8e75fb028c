import Foundation
import GRDB
import Logging
import Testing
import TetherCore
import TetherRuntime
import TetherSQLite
import TetherTestSupport

/// The supervisor over SQLite: what it writes, and what a restart finds.
@Suite struct PersistenceTests {
    static let oneCall = AgentDescriptor.closure("one-call") { _, tools in
        let answer = try await tools.llm.complete("work")
        try await tools.store.set("kept/answer", to: answer)
        return .string(answer)
    }

    static let parent = AgentDescriptor.closure("parent") { _, tools in
        try await tools.agents.call("one-call", input: [:])
    }

    func stores(_ folder: String) throws -> (SQLiteDatabase, SQLiteRunStore, SQLiteDataStore) {
        let database = try SQLiteDatabase.open(directory: folder)
        return (database, SQLiteRunStore(database: database), SQLiteDataStore(database: database))
    }

    @Test func everyTransitionIsPersisted() async throws {
        let (_, runStore, dataStore) = try stores(temporaryFolder())
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.oneCall], llm: llm, runStore: runStore, dataStore: dataStore) { supervisor in
            let run = try await supervisor.start(agent: "one-call", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            let running = try #require(try await runStore.run(run.id))
            #expect(running.status == .running && running.startedAt != nil)
            try await supervisor.stop(run.id)
            let stopping = try #require(try await runStore.run(run.id))
            #expect(stopping.status == .stopping && stopping.stopRequestedAt != nil)
            llm.openAll()
            _ = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            let stopped = try #require(try await runStore.run(run.id))
            #expect(stopped.status == .stopped && stopped.finishedAt != nil && stopped.stopRequestedAt == stopping.stopRequestedAt)
            let stored = try await runStore.events(inTree: run.id, after: 0, limit: 1000)
            #expect(stored.map(\.kind) == [.runStarted, .llmStarted, .stopRequested, .llmFinished, .runFinished])
            #expect(stored.map(\.seq) == Array(1...5))
        }
    }

    @Test func aRestartFindsFinishedRunsEventsAndStoredValues() async throws {
        let folder = temporaryFolder()
        let (database, runStore, dataStore) = try stores(folder)
        let root = try await withSupervisor(
            agents: [Self.parent, Self.oneCall],
            llm: SimulatedLLM(latency: .zero),
            runStore: runStore,
            dataStore: dataStore
        ) { supervisor in
            let run = try await supervisor.start(agent: "parent", input: [:])
            _ = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            return run.id
        }
        try database.pool.close()

        // A new process on the same folder.
        let (_, runStore2, dataStore2) = try stores(folder)
        let reader = AgentDescriptor.closure("reader") { _, tools in .string(try await tools.store.get("kept/answer") ?? "missing") }
        try await withSupervisor(agents: [reader], llm: SimulatedLLM(latency: .zero), runStore: runStore2, dataStore: dataStore2) { supervisor in
            #expect(try await RunRecovery(store: runStore2, logger: Logger(label: "test")).markInterrupted() == 0)
            let tree = try await supervisor.runs(inTree: root)
            #expect(tree.map(\.status) == [.succeeded, .succeeded])
            let all = try await supervisor.allEvents(ofTree: root)
            #expect(all.map(\.seq) == Array(1...all.count) && all.last?.kind == .runFinished)
            // Resume from storage: exactly the events after the one a client saw last.
            var resumed: [Int] = []
            for try await event in supervisor.events(ofTree: root, after: 4) { resumed.append(event.seq) }
            #expect(resumed == Array(5...all.count))
            let read = try await supervisor.start(agent: "reader", input: [:])
            let final = try await withTimeout { try await supervisor.waitUntilFinished(read.id) }
            #expect(final.result == tree[0].result, "a value stored before the restart is readable by a new run")
        }
    }

    @Test func runsLeftInFlightBecomeInterruptedWithAFinalEvent() async throws {
        let (_, runStore, dataStore) = try stores(temporaryFolder())
        let root = record()
        let child = record(parent: root, status: .stopping)
        try await runStore.insertRun(root)
        try await runStore.insertRun(child)
        try await runStore.appendEvents(
            [event(1, root.id, .runStarted), event(2, root.id, .agentCalled), event(3, child.id, .runStarted)],
            tree: root.id
        )
        try await withSupervisor(agents: [], llm: GatedLLM(), runStore: runStore, dataStore: dataStore) { supervisor in
            let recovery = RunRecovery(store: runStore, logger: Logger(label: "test"))
            #expect(try await recovery.markInterrupted() == 2)
            #expect(try await recovery.markInterrupted() == 0)
            for id in [root.id, child.id] {
                let recovered = try #require(try await supervisor.record(id))
                #expect(recovered.status == .interrupted && recovered.finishedAt != nil)
                #expect(recovered.error == "interrupted: the process ended before the run could finish")
            }
            let events = try await supervisor.allEvents(ofTree: root.id)
            #expect(events.map(\.seq) == [1, 2, 3, 4, 5])
            #expect(events.suffix(2).map(\.runID) == [child.id, root.id], "the child ends first")
            #expect(events.suffix(2).allSatisfy { $0.kind == .runFinished && $0.data["status"] == "interrupted" })
        }
    }

    @Test func aDatabaseThatTurnsReadOnlyFailsTheRunWithTheReasonAndTheSupervisorGoesOn() async throws {
        let (database, runStore, dataStore) = try stores(temporaryFolder())
        let llm = GatedLLM()
        try await withSupervisor(agents: [Self.oneCall], llm: llm, runStore: runStore, dataStore: dataStore) { supervisor in
            let run = try await supervisor.start(agent: "one-call", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
            llm.open(0)
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .failed)
            #expect(final.error?.contains("readonly") == true, "the reason: \(final.error ?? "none")")
            // The supervisor keeps serving: once writes work again, a new run succeeds.
            try await database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = OFF") }
            let next = try await supervisor.start(agent: "one-call", input: [:])
            llm.openAll()
            #expect(try await withTimeout { try await supervisor.waitUntilFinished(next.id) }.status == .succeeded)
            #expect(try await supervisor.listRuns(RunQuery()).count == 2)
        }
    }
}
