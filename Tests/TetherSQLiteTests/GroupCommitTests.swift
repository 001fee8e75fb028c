import Foundation
import Testing
import TetherCore
import TetherSQLite
import TetherTestSupport

/// Writes that arrive together commit together (issue 14's start throughput), and each is
/// still its own: one that fails is answered with its error and leaves the others stored.
@Suite struct GroupCommitTests {
    @Test func concurrentWritesAreEachStoredAndABadOneFailsAlone() async throws {
        let folder = try temporaryFolder()
        let database = try SQLiteDatabase.open(directory: folder)
        let store = SQLiteRunStore(database: database)
        let records = (0..<2_000).map { _ in
            let id = RunID()
            return RunRecord(id: id, agent: "a", input: ["n": 1], rootRunID: id, createdAt: Date())
        }
        let duplicate = records[1_000]
        let outcomes = try await withTimeout(seconds: 120, "2,001 concurrent inserts") {
            try await withThrowingTaskGroup(of: (RunID, Bool).self) { group in
                for record in records + [duplicate] {
                    group.addTask {
                        do {
                            try await store.insertRun(record)
                            return (record.id, true)
                        } catch {
                            return (record.id, false)
                        }
                    }
                }
                var outcomes: [(RunID, Bool)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
        }
        #expect(outcomes.filter(\.1).count == records.count, "every distinct run inserted")
        #expect(outcomes.filter { !$0.1 }.map(\.0) == [duplicate.id], "only the second insert of one id failed")

        // What was answered as written is there after reopening the file.
        let reopened = SQLiteRunStore(database: try SQLiteDatabase.open(directory: folder))
        for record in records.prefix(50) + records.suffix(50) {
            #expect(try await reopened.run(record.id) == record)
        }
        #expect(try await reopened.listRuns(RunQuery(limit: 5_000)).count == records.count)
    }
}
