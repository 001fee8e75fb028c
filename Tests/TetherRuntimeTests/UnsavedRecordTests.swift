import Foundation
import Testing
import TetherCore
import TetherTestSupport

@testable import TetherRuntime

/// A final record the store refused is still final everywhere, goes in once the store takes
/// writes again, and the memory held for such records is bounded (issue 12).
@Suite struct UnsavedRecordTests {
    @Test func aRefusedFinalRecordReadsAsFinalAndIsWrittenOnceTheStoreTakesIt() async throws {
        let llm = GatedLLM()
        let store = FailingRunStore()
        let oneCall = AgentDescriptor.closure("one-call") { _, tools in .string(try await tools.llm.complete("x")) }
        let quick = AgentDescriptor.closure("quick") { _, _ in "done" }
        try await withSupervisor(agents: [oneCall, quick], llm: llm, runStore: store) { supervisor in
            let run = try await supervisor.start(agent: "one-call", input: [:])
            try await withTimeout { await llm.waitForCalls(1) }
            store.failRunUpdates()
            llm.openAll()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(run.id) }
            #expect(final.status == .succeeded)
            #expect(try await store.base.run(run.id)?.status == .running, "the store kept the stale state")

            #expect(try await supervisor.record(run.id)?.status == .succeeded)
            #expect(try await supervisor.listRuns(RunQuery()).first { $0.id == run.id }?.status == .succeeded)
            #expect(try await supervisor.runs(inTree: run.id).map(\.status) == [.succeeded])
            await #expect(throws: SupervisorError.runFinished(run.id, .succeeded)) { try await supervisor.stop(run.id) }

            store.failRunUpdates(false)
            let next = try await supervisor.start(agent: "quick", input: [:])
            _ = try await withTimeout { try await supervisor.waitUntilFinished(next.id) }
            #expect(try await store.base.run(run.id)?.status == .succeeded, "written again once the store took writes")
        }
    }

    @Test func theRecordsHeldAreBounded() {
        let unsaved = UnsavedRecords(limit: 2)
        let records = (0..<3).map { _ in
            let id = RunID()
            return RunRecord(id: id, agent: "a", input: [:], status: .succeeded, rootRunID: id, createdAt: Date())
        }
        #expect(unsaved.keep(records[0]) == nil)
        #expect(unsaved.keep(records[1]) == nil)
        #expect(unsaved.keep(records[2]) == records[0].id, "the oldest goes")
        #expect(unsaved.all.map(\.id) == [records[1].id, records[2].id])
        #expect(unsaved[records[0].id] == nil && unsaved[records[2].id] != nil)
    }
}
