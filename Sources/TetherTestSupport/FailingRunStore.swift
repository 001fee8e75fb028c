import Foundation
import Synchronization
import TetherCore
import TetherRuntime

/// A memory run store whose event writes can be made to fail, as a full disk would.
public final class FailingRunStore: RunStore {
    public let base = MemoryRunStore()
    private let failing = Mutex(false)
    private let failingUpdates = Mutex(false)

    public init() {}

    /// From now on every event write fails.
    public func failEventWrites() {
        failing.withLock { $0 = true }
    }

    /// From now on every run record update fails (`true`), or succeeds again (`false`).
    public func failRunUpdates(_ fail: Bool = true) {
        failingUpdates.withLock { $0 = fail }
    }

    public struct DiskFull: Error, CustomStringConvertible {
        public var description: String { "no space left on device (simulated)" }
    }

    public func appendEvents(_ events: [ProgressEvent], tree root: RunID) async throws {
        if failing.withLock({ $0 }) { throw DiskFull() }
        try await base.appendEvents(events, tree: root)
    }

    public func insertRun(_ record: RunRecord) async throws { try await base.insertRun(record) }
    public func updateRun(_ record: RunRecord) async throws {
        if failingUpdates.withLock({ $0 }) { throw DiskFull() }
        try await base.updateRun(record)
    }
    public func run(_ id: RunID) async throws -> RunRecord? { try await base.run(id) }
    public func runs(inTree root: RunID) async throws -> [RunRecord] { try await base.runs(inTree: root) }
    public func events(inTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent] {
        try await base.events(inTree: root, after: seq, limit: limit)
    }
    public func lastSeq(inTree root: RunID) async throws -> Int { try await base.lastSeq(inTree: root) }
    public func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent? {
        try await base.finishedEvent(of: id, inTree: root)
    }
    public func unfinishedRuns() async throws -> [RunRecord] { try await base.unfinishedRuns() }
    public func resumption(of id: RunID) async throws -> RunRecord? { try await base.resumption(of: id) }
    public func deleteTrees(finishedBefore date: Date) async throws -> Int { try await base.deleteTrees(finishedBefore: date) }
    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] { try await base.listRuns(query) }
}
