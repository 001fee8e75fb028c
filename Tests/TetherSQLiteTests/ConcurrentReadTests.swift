import Foundation
import Testing
import TetherCore
import TetherSQLite
import TetherTestSupport

/// Reads of the SQLite store never block a thread of Swift's cooperative pool. A read that
/// did (GRDB's blocking `read`, picked by the compiler when the result is not `Sendable`)
/// stalled the whole process under load — found by `tether-load` with 10,000 runs: every
/// cooperative thread waited for a reader held by an async read that needed one of them.
@Suite struct ConcurrentReadTests {
    @Test func manyConcurrentReadsOfEveryKindFinish() async throws {
        let database = try SQLiteDatabase.open(directory: temporaryFolder())
        let store = SQLiteRunStore(database: database)
        let id = RunID()
        let root = RunRecord(id: id, agent: "a", input: [:], rootRunID: id, createdAt: Date())
        try await store.insertRun(root)
        let reads = 2_000
        let finished = try await withTimeout(seconds: 120, "\(reads) concurrent reads") {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<reads {
                    group.addTask {
                        switch index % 4 {
                        case 0: return try await store.runs(inTree: root.id).count
                        case 1: return try await store.listRuns(RunQuery(limit: 10)).count
                        case 2: return try await store.unfinishedRuns().count
                        default: return try await store.run(root.id) == nil ? 0 : 1
                        }
                    }
                }
                var count = 0
                for try await found in group where found == 1 { count += 1 }
                return count
            }
        }
        #expect(finished == reads, "every read found the one run")
    }
}
