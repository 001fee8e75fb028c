import Foundation
import Logging
import Testing
import TetherCore
import TetherRuntime
import TetherSQLite

@Suite struct RetentionTests {
    @Test(arguments: StoreKind.available)
    func pruningRemovesExactlyTheOldFinishedTrees(kind: StoreKind) async throws {
        try await kind.with { store, data in
            let now = Date()
            let day = 86_400.0
            func finished(_ record: RunRecord, daysAgo: Double) -> RunRecord {
                var copy = record
                copy.status = .succeeded
                copy.finishedAt = now.addingTimeInterval(-daysAgo * day)
                return copy
            }
            let oldRoot = finished(record(at: now.addingTimeInterval(-20 * day)), daysAgo: 10)
            let oldChild = finished(record(parent: oldRoot, at: oldRoot.createdAt), daysAgo: 10.1)
            let recentRoot = finished(record(at: now.addingTimeInterval(-3 * day)), daysAgo: 2)
            let oldInFlight = record(at: now.addingTimeInterval(-30 * day))
            var oldRootWithLiveChild = finished(record(at: now.addingTimeInterval(-30 * day)), daysAgo: 9)
            oldRootWithLiveChild.status = .stopped
            let liveChild = record(parent: oldRootWithLiveChild, at: oldRootWithLiveChild.createdAt, status: .stopping)
            // As runs are written: in flight first, their events, then their final records.
            let all = [oldRoot, oldChild, recentRoot, oldInFlight, oldRootWithLiveChild, liveChild]
            for run in all {
                var started = run
                started.status = .running
                started.finishedAt = nil
                try await store.insertRun(started)
            }
            for root in [oldRoot, recentRoot, oldInFlight] {
                try await store.appendEvents([event(1, root.id), event(2, root.id)], tree: root.id)
            }
            for run in all where run.status != .running { try await store.updateRun(run) }
            try await data.setValue("kept", for: StoreKey(parsing: "notes/a"))

            let service = RetentionService(store: store, retention: .seconds(7 * 86_400), logger: Logger(label: "test"))
            #expect(await service.pruneOnce(now: now) == 1)
            #expect(try await store.run(oldRoot.id) == nil)
            #expect(try await store.run(oldChild.id) == nil)
            #expect(try await store.events(inTree: oldRoot.id, after: 0, limit: 10).isEmpty)
            for kept in [recentRoot, oldInFlight, oldRootWithLiveChild, liveChild] {
                #expect(try await store.run(kept.id) != nil, "\(kept.id) is kept")
            }
            #expect(try await store.events(inTree: recentRoot.id, after: 0, limit: 10).count == 2)
            #expect(try await data.value(for: StoreKey(parsing: "notes/a")) == "kept", "the data store is never pruned")
            #expect(await service.pruneOnce(now: now) == 0)
        }
    }
}
